"""`audit-logs list` against the emulator over real HTTP, in each format."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from _cli_helpers import FAKE_KEY, run_in_terminal, script_env, service_raws

from openapiopenai.cli._output import COLUMNS
from openapiopenai.cli._time import format_time

NASTY_AGENT = "Mozilla\x1b[31m RED \x1b]0;pwned\x07 \u202etxt.exe"
NASTY_EMAIL = '=HYPERLINK("http://evil")\x1b[2J@example.com'


@pytest.fixture(scope="module")
def newest(org) -> list[str]:
    return service_raws(org)


def test_jsonl_is_exactly_what_the_service_sent(run, newest: list[str]) -> None:
    result = run("audit-logs", "list", "--format", "jsonl", "--limit", "150")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == newest[:150]
    assert result.stderr == ""


def test_json_is_one_array_of_the_events(run, newest: list[str]) -> None:
    result = run("audit-logs", "list", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [json.loads(raw) for raw in newest[:20]]


def test_csv_has_flat_columns_and_the_raw_event(run, newest: list[str]) -> None:
    result = run("audit-logs", "list", "--format", "csv", "--limit", "7")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["id"] for row in rows] == [json.loads(raw)["id"] for raw in newest[:7]]
    assert list(rows[0]) == [*COLUMNS, "raw"]
    assert json.loads(rows[0]["raw"]) == json.loads(newest[0])


def test_table_is_readable(run, newest: list[str]) -> None:
    result = run("audit-logs", "list", "--limit", "5")
    assert result.exit_code == 0, result.stderr
    first = json.loads(newest[0])
    assert "time (UTC)" in result.stdout and "resource" in result.stdout
    assert format_time(first["effective_at"]) in result.stdout
    assert first["type"] in result.stdout
    assert "\x1b" not in result.stdout  # not a terminal: no colour codes


def test_all_with_filters_pages_through_everything(run, org) -> None:
    first = json.loads(service_raws(org)[0])
    expected = service_raws(org, event_types=[first["type"]])
    assert len(expected) > 0
    result = run("audit-logs", "list", "--all", "--type", first["type"], "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == expected


def test_time_range(run, newest: list[str]) -> None:
    times = sorted(json.loads(raw)["effective_at"] for raw in newest)
    since, until = times[len(times) // 3], times[2 * len(times) // 3]
    result = run(
        "audit-logs",
        "list",
        "--all",
        "--since",
        str(since),
        "--until",
        format_time(until),
        "--format",
        "jsonl",
    )
    assert result.exit_code == 0, result.stderr
    got = [json.loads(line)["effective_at"] for line in result.stdout.splitlines()]
    assert got and all(since <= t < until for t in got)
    assert len(got) == sum(since <= t < until for t in times)


def test_service_values_cannot_drive_the_terminal_or_a_spreadsheet(run, fresh_org) -> None:
    session = {
        "user": {"id": "user-nasty", "email": NASTY_EMAIL},
        "ip_address": "203.0.113.9",
        "user_agent": NASTY_AGENT,
    }
    fresh_org.insert_events([{"type": "login.failed", "actor": {"type": "session", "session": session}}])
    for fmt in ("table", "csv", "jsonl", "json"):
        result = run("audit-logs", "list", "--limit", "1", "--format", fmt, base_url=fresh_org.base_url)
        assert result.exit_code == 0, result.stderr
        # JSON formats pass the service's text through exactly; JSON itself escapes C0 controls there.
        forbidden = "[\x00-\x08\x0b-\x1f\x7f]" if fmt.startswith("json") else "[\x00-\x08\x0b-\x1f\x7f\u202e]"
        assert not re.search(forbidden, result.stdout), (fmt, result.stdout)
    csv_out = run("audit-logs", "list", "--limit", "1", "--format", "csv", base_url=fresh_org.base_url).stdout
    row = next(csv.DictReader(io.StringIO(csv_out)))
    assert row["actor_email"] == "'" + NASTY_EMAIL.replace("\x1b", "\\x1b")
    assert row["user_agent"].startswith("Mozilla\\x1b[31m")
    table = run("audit-logs", "list", "--limit", "1", base_url=fresh_org.base_url).stdout
    assert "\\x1b[2J@example.com" in table  # shown, escaped, rather than dropped


def test_no_color_means_no_escape_codes(org) -> None:
    env = script_env(org.base_url, FAKE_KEY)
    _, coloured = run_in_terminal(["audit-logs", "list", "--limit", "3"], env)
    assert "\x1b[" in coloured  # the check below can fail: a terminal gets a bold header
    status, plain = run_in_terminal(["audit-logs", "list", "--limit", "3"], {**env, "NO_COLOR": "1"})
    assert status == 0 and "\x1b[" not in plain


def test_wrong_key_exits_1_with_the_service_message(run, org) -> None:
    result = run("audit-logs", "list", key="sk-admin-not-the-right-one-123")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "401" in lines[0], result.stderr
    assert "sk-admin-not-the-right-one-123" not in result.stderr
