"""Escaping, CSV neutralising and flattening: what reaches a terminal or a spreadsheet."""

from __future__ import annotations

import csv
import io
import json

import pytest

from openapiopenai.cli._output import (
    COLUMNS,
    csv_cell,
    display_cells,
    escape_control,
    event_row,
    jsonl_line,
    write_csv,
    write_json_array,
)

SESSION_EVENT = {
    "id": "audit_log-1",
    "type": "login.failed",
    "effective_at": 1_793_534_400,
    "project": {"id": "proj_1"},
    "actor": {
        "type": "session",
        "session": {
            "user": {"id": "user-1", "email": "a@example.com"},
            "ip_address": "10.0.0.1",
            "user_agent": "evil\x1b[31mred\x07",
        },
    },
    "login.failed": {"id": "res_1"},
}
KEY_EVENT = {
    "id": "audit_log-2",
    "type": "project.archived",
    "effective_at": 1_793_534_401,
    "actor": {
        "type": "api_key",
        "api_key": {"id": "key_1", "type": "service_account", "service_account": {"id": "svc_1"}},
    },
    "project.archived": {"id": "proj_2"},
}


def test_escape_control_shows_escapes_instead_of_running_them() -> None:
    assert escape_control("a\x1b[31mb\x07\n\u202e") == "a\\x1b[31mb\\x07\\x0a\\u202e"
    assert escape_control("plain ü é") == "plain ü é"
    assert escape_control(None) == ""


@pytest.mark.parametrize("dangerous", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_csv_cell_neutralises_formulas(dangerous: str) -> None:
    cell = csv_cell(dangerous)
    assert cell.startswith("'")
    assert "\t" not in cell and "\r" not in cell


def test_csv_cell_leaves_ordinary_text() -> None:
    assert csv_cell("alice@example.com") == "alice@example.com"
    assert csv_cell(None) == ""


def test_event_row_session_and_api_key_actors() -> None:
    row = event_row(SESSION_EVENT)
    assert (
        row["actor_id"],
        row["actor_email"],
        row["ip_address"],
        row["project_id"],
        row["resource_id"],
    ) == (
        "user-1",
        "a@example.com",
        "10.0.0.1",
        "proj_1",
        "res_1",
    )
    row = event_row(KEY_EVENT)
    assert (row["actor_type"], row["actor_id"], row["api_key_id"], row["actor_email"]) == (
        "api_key",
        "svc_1",
        "key_1",
        None,
    )


def test_event_row_tolerates_odd_shapes() -> None:
    # Unknown is normal: a newer type, a missing actor or a payload that is not an object still flattens.
    row = event_row({"id": "x", "type": "brand.new", "actor": "weird", "brand.new": [1]})
    assert row["id"] == "x" and row["actor_id"] is None and row["resource_id"] is None


def test_display_cells_are_escaped() -> None:
    cells = display_cells(
        {**SESSION_EVENT, "actor": {"type": "session", "session": {"user": {"email": "x\x1by"}}}}
    )
    assert cells[0] == "2026-11-01T12:00:00Z"
    assert cells[2] == "x\\x1by"


def test_jsonl_line_keeps_meaning_on_one_line() -> None:
    raw = '{\n  "a": "x\\ny"\r\n}'
    line = jsonl_line(raw)
    assert "\n" not in line and json.loads(line) == json.loads(raw)


def test_write_csv_flattens_escapes_and_keeps_raw() -> None:
    raws = [json.dumps(SESSION_EVENT), json.dumps({**KEY_EVENT, "project": {"id": "=HYPERLINK(1)"}})]
    out = io.StringIO()
    assert write_csv(raws, out) == 2
    text = out.getvalue()
    assert "\x1b" not in text and "\x07" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == [*COLUMNS, "raw"]
    assert rows[0]["user_agent"] == "evil\\x1b[31mred\\x07"
    assert rows[0]["effective_at"] == "2026-11-01T12:00:00Z"
    assert rows[1]["project_id"] == "'=HYPERLINK(1)"
    assert json.loads(rows[0]["raw"]) == SESSION_EVENT


def test_write_json_array_is_valid_json_even_when_empty() -> None:
    out = io.StringIO()
    write_json_array([], out)
    assert json.loads(out.getvalue()) == []
    out = io.StringIO()
    write_json_array(['{"id":"a"}', '{"id":"b"}'], out)
    assert json.loads(out.getvalue()) == [{"id": "a"}, {"id": "b"}]
