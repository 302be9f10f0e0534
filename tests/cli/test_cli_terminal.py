"""Reading `list` and `tail` on a real 80-column terminal, and what they print into a pipe."""

from __future__ import annotations

import json

import pytest
from _cli_helpers import FAKE_KEY, run_in_terminal, run_script, script_env, service_raws

from openapiopenai.cli._columns import width
from openapiopenai.cli._output import DISPLAY_HEADERS
from openapiopenai.cli._time import format_time

pytestmark = pytest.mark.usefixtures("needs_emulator")

BOX = set("─│┃━┏┓┗┛┡┩╇╈┼├┤┬┴╭╮╰╯═║")
ANSI_BOLD = ("\x1b[1m", "\x1b[0m")


def _plain(text: str) -> str:
    for code in ANSI_BOLD:
        text = text.replace(code, "")
    return text


@pytest.mark.parametrize("columns", [80, 60, 120, 250])
def test_list_is_one_line_per_event_at_any_width(org, columns: int) -> None:
    status, out = run_in_terminal(
        ["audit-logs", "list", "--limit", "20"], script_env(org.base_url, FAKE_KEY), columns=columns
    )
    assert status == 0
    lines = _plain(out).splitlines()
    assert len(lines) == 21, out  # a header and twenty events: one screen
    assert not BOX & set(out)
    assert all(width(line) <= columns for line in lines), max(lines, key=width)
    newest = [json.loads(raw) for raw in service_raws(org)[:20]]
    for line, event in zip(lines[1:], newest, strict=True):
        assert line.startswith(format_time(event["effective_at"]))
    header = lines[0].split()
    assert header[:4] == ["time", "(UTC)", "type", "actor"]
    if columns >= 250:
        # Room for every column: nothing is cut, and the id shows.
        assert "id" in header and all(e["id"] in out for e in newest)
        assert "…" not in out
    if columns == 80:
        assert "id" not in header


def test_list_wide_shows_ids_at_80_columns(org) -> None:
    status, out = run_in_terminal(
        ["audit-logs", "list", "--limit", "5", "--wide"], script_env(org.base_url, FAKE_KEY), columns=80
    )
    assert status == 0
    lines = _plain(out).splitlines()
    assert len(lines) == 6 and all(width(line) <= 80 for line in lines)
    assert lines[0].rstrip().endswith("id")


def test_list_json_is_indented_on_a_terminal_and_exact_in_a_pipe(org) -> None:
    env = script_env(org.base_url, FAKE_KEY)
    status, out = run_in_terminal(["audit-logs", "list", "--limit", "2", "--format", "json"], env)
    assert status == 0
    assert out.startswith('[\n{\n  "id": ')
    assert json.loads(out) == [json.loads(raw) for raw in service_raws(org)[:2]]
    piped = run_script("audit-logs", "list", "--limit", "2", "--format", "json", base_url=org.base_url)
    assert piped.stdout.splitlines()[1] == service_raws(org)[0] + ","  # the service's exact text


def test_table_in_a_pipe_is_tab_separated_and_uncut(org) -> None:
    proc = run_script("audit-logs", "list", "--limit", "20", base_url=org.base_url)
    assert proc.returncode == 0, proc.stderr
    assert not BOX & set(proc.stdout) and "\x1b" not in proc.stdout
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    assert rows[0] == list(DISPLAY_HEADERS)
    assert all(len(row) == len(DISPLAY_HEADERS) for row in rows)
    assert [row[-1] for row in rows[1:]] == [json.loads(raw)["id"] for raw in service_raws(org)[:20]]


def test_tail_prints_aligned_columns_on_a_terminal(fresh_org) -> None:
    raws = service_raws(fresh_org)
    since = json.loads(raws[9])["effective_at"]
    status, out = run_in_terminal(
        ["audit-logs", "tail", "--since", str(since), "--max-polls", "1"],
        script_env(fresh_org.base_url, FAKE_KEY),
        columns=80,
    )
    assert status == 0
    lines = _plain(out).splitlines()
    assert lines[0].startswith("time (UTC)")
    events = lines[1:]
    assert len(events) >= 10 and all(width(line) <= 80 for line in lines)
    # Aligned: the type column starts at the same place on every line.
    assert len({line.index(" ", 20) for line in events}) == 1
    assert not BOX & set(out)
