"""Values from the service stay text: in the HTML (parsed and in a real browser) and in the Markdown."""

from __future__ import annotations

import json
from pathlib import Path

import html5lib
from _cdp import Browser
from _report_helpers import hostile_events, write_archive

from openapiopenai.archive import Archive
from openapiopenai.report import build_report, render, write_report

NOW = 1_790_000_000


def _report(tmp_path: Path) -> tuple[Path, str, str]:
    db = tmp_path / "evil.sqlite"
    write_archive(db, hostile_events(NOW))
    with Archive(db, create=False, readonly=True) as archive:
        report = build_report(archive, since=NOW - 86_400, until=NOW)
    out = tmp_path / "evil.html"
    write_report(report, out)
    return out, out.read_text(encoding="utf-8"), render(report, "md")


def test_hostile_values_are_text_in_the_html(tmp_path: Path) -> None:
    _, page, _ = _report(tmp_path)
    document = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(page)
    assert document.findall(".//script") == [] and document.findall(".//img") == []
    assert not any("onerror" in e.attrib or "onload" in e.attrib for e in document.iter())
    text = "".join(document.find("body").itertext())
    for value in ('<script>document.title="pwned";window.pwned=1</script>', "<b>XX</b>",
                  '"><img src=x onerror="window.pwned=2">@evil.example', "</table><script>window.pwned=3</script>"):
        assert value in text  # shown, literally
    # The hostile rows are where they belong, each naming its event.
    assert "audit_log-evil01" in text and "audit_log-evil03" in text


def test_hostile_values_stay_text_in_a_browser(tmp_path: Path, browser: Browser) -> None:
    out, _, _ = _report(tmp_path)
    browser.open_offline(out)
    state = json.loads(browser.evaluate(
        "JSON.stringify({pwned: window.pwned === undefined ? null : window.pwned, title: document.title,"
        " scripts: document.querySelectorAll('script').length, imgs: document.querySelectorAll('img').length,"
        " shown: document.body.textContent.includes('<script>document.title=\"pwned\"')})"
    ))
    assert state == {"pwned": None, "title": state["title"], "scripts": 0, "imgs": 0, "shown": True}
    assert "pwned" not in state["title"]


def test_hostile_values_are_text_in_the_markdown(tmp_path: Path) -> None:
    _, _, md = _report(tmp_path)
    assert "<script" not in md and "<img" not in md and "<b>" not in md and "<svg" not in md
    assert "&lt;script&gt;" in md
    import re

    rows = [line for line in md.splitlines() if line.startswith("| ") and "audit_log-evil01" in line]
    assert rows
    for row in rows:
        # A `|` inside a value is escaped: the row keeps its table's column count.
        cells = re.split(r"(?<!\\)\|", row.strip())[1:-1]
        header = md.splitlines()[md.splitlines().index(row) - 1]
        while not header.startswith("|---"):
            header = md.splitlines()[md.splitlines().index(header) - 1]
        assert len(cells) == header.count("---"), row
