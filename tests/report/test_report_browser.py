"""The demo organisation's report in a real headless Chromium with the network off."""

from __future__ import annotations

import re
from pathlib import Path

import html5lib
from _cdp import Browser

SECTIONS = ["detections", "privileged", "keys", "people", "sign-ins", "activity"]
CHARTS = ["failed-logins", "countries", "activity"]
LAYOUT = """JSON.stringify({
  sections: [...document.querySelectorAll('section.report-section')].map(s => {
    const r = s.getBoundingClientRect(); return {key: s.dataset.section, w: r.width, h: r.height}; }),
  charts: [...document.querySelectorAll('figure.chart')].map(f => {
    const svg = f.querySelector('svg'); const r = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    return {key: f.dataset.chart, w: r.width, h: r.height, bars: svg ? svg.querySelectorAll('rect.rect').length : 0};
  }),
  tables: document.querySelectorAll('table').length,
  scripts: document.querySelectorAll('script').length,
})"""


def _problems(browser: Browser, document: str) -> tuple[list[str], list[str]]:
    """(requests other than the document itself, console errors/warnings and exceptions)."""
    requests, errors = [], []
    for event in browser.drain():
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent" and params["request"]["url"] != document:
            requests.append(params["request"]["url"])
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning", "assert"):
            errors.append(str(params["args"]))
        elif method == "Runtime.exceptionThrown":
            errors.append(str(params["exceptionDetails"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
            errors.append(params["entry"]["text"])
    return requests, errors


def test_demo_report_renders_offline_with_no_request_and_no_error(
    demo_report: tuple[Path, Path], browser: Browser, tmp_path: Path
) -> None:
    _, report = demo_report
    browser.open_offline(report)
    import json

    layout = json.loads(browser.evaluate(LAYOUT))
    assert [s["key"] for s in layout["sections"]] == SECTIONS
    assert all(s["w"] > 0 and s["h"] > 0 for s in layout["sections"]), layout["sections"]
    assert sorted(c["key"] for c in layout["charts"]) == sorted(CHARTS)
    for chart in layout["charts"]:
        assert chart["w"] > 300 and chart["h"] > 100, chart
        assert chart["bars"] > 0, chart  # the bars themselves were drawn, not only the frame
    assert layout["tables"] >= 8 and layout["scripts"] == 0
    shot = tmp_path / "report.png"
    browser.screenshot(shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    # Printable: the print styles start each section on a page of its own.
    pdf = browser.pdf()
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= len(SECTIONS)
    requests, errors = _problems(browser, report.resolve().as_uri())
    assert requests == [] and errors == []


def test_demo_report_is_clean_html_that_fetches_nothing(demo_report: tuple[Path, Path]) -> None:
    _, report = demo_report
    data = report.read_bytes()
    assert len(data) < 5_000_000
    # strict: any parse error (a stray tag, an unclosed element, bad nesting) raises.
    document = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(data)
    assert document.findall(".//script") == []
    for element in document.iter():
        for attribute in ("src", "href", "action", "data", "poster"):
            value = element.get(attribute)
            assert value is None or value.startswith("#"), (element.tag, attribute, value)
    styles = "".join(e.text or "" for e in document.iter("style"))
    assert "url(" not in styles and "@import" not in styles
    csp = document.find(".//meta[@http-equiv='Content-Security-Policy']")
    assert csp is not None and "default-src 'none'" in csp.get("content")
