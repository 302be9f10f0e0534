"""The ``events`` view: the same reading as `anatomy.facts` for every event, and there for every reader."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from _event_shapes import EVENTS, odd_events
from openapiopenai.anatomy import facts
from openapiopenai.archive import Archive
from openapiopenai.archive._rows import event_row, insert_rows
from openapiopenai.archive._views import VIEW_COLUMNS, view_sql
from openapiopenai.fields import FIELDS


def _compact(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def _fill(archive: Archive, events: list[dict[str, Any]]) -> None:
    conn = archive.connection
    conn.execute("BEGIN")
    insert_rows(conn, [event_row(e, _compact(e), tenant=False) for e in events])
    conn.execute("COMMIT")


def _expected(event: dict[str, Any]) -> dict[str, Any]:
    """A view row as `anatomy.facts` reads the event (and, for the fields beyond the facts, `Field.read`)."""
    f = facts(event)
    row: dict[str, Any] = {}
    for field in FIELDS:
        if field.fact is None:
            row[field.name] = field.read(event)
        elif field.name == "scopes":
            row[field.name] = None if f.scopes is None else list(f.scopes)
        else:
            row[field.name] = getattr(f, field.fact)
    row["tenant"] = 0  # the archive's, not the event's: every event here is inserted with tenant=False
    return row


def _actual(row: sqlite3.Row) -> dict[str, Any]:
    out = {f.name: row[f.name] for f in FIELDS}
    if out["scopes"] is not None:
        out["scopes"] = json.loads(out["scopes"])
    return out


def _normalised(row: dict[str, Any]) -> dict[str, Any]:
    # JSON texts compare by meaning: SQLite keeps a string's escapes as sent, Python re-encodes them.
    return {k: json.loads(v) if k == "payload" and v is not None else v for k, v in row.items()}


def test_the_view_reads_every_emulator_event_as_anatomy_does(tmp_path: Path) -> None:
    with Archive(tmp_path / "a.sqlite") as archive:
        _fill(archive, EVENTS)
        rows = {r["id"]: r for r in archive.connection.execute("SELECT * FROM events")}
    assert len(rows) == len(EVENTS)
    differing = []
    for event in EVENTS:
        got, want = _normalised(_actual(rows[event["id"]])), _normalised(_expected(event))
        if got != want:
            differing.append((event["type"], {k: (got[k], want[k]) for k in got if got[k] != want[k]}))
    assert differing == []
    # The reading is not vacuous: the fields the detections rely on are filled somewhere.
    for name in ("user_email", "ip_address", "country", "service_account_id", "target_id", "scopes", "role",
                 "target_email", "requested_role", "subject_user_id", "resource_type", "error_code", "payload"):
        assert any(r[name] is not None for r in rows.values()), name


def test_each_field_read_agrees_with_its_fact() -> None:
    for event in EVENTS:
        f = facts(event)
        for field in FIELDS:
            if field.fact is not None and field.name != "scopes":
                assert field.read(event) == getattr(f, field.fact), (field.name, event["id"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=odd_events())
def test_the_view_reads_odd_shapes_as_anatomy_does(tmp_path_factory: pytest.TempPathFactory,
                                                   event: dict[str, Any]) -> None:
    # The row's own columns are checked by the sync; here the JSON is what varies.
    event = {**event, "id": "audit_log-odd", "effective_at": 1_800_000_000}
    path = tmp_path_factory.mktemp("odd") / "a.sqlite"
    with Archive(path) as archive:
        conn = archive.connection
        conn.execute("INSERT INTO audit_logs (id, effective_at, type, raw) VALUES (?, ?, ?, ?)",
                     (event["id"], event["effective_at"], event.get("type") or "", _compact(event)))
        row = conn.execute("SELECT * FROM events").fetchone()
    assert _normalised(_actual(row)) == _normalised({**_expected(event), "type": event.get("type") or ""})


def test_plain_sqlite3_sees_the_view(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    with Archive(path) as archive:
        _fill(archive, EVENTS[:50])
    sqlite3_cli = Path("/usr/bin/sqlite3")
    if not sqlite3_cli.exists():
        pytest.skip("the sqlite3 shell is not installed")
    out = subprocess.run([str(sqlite3_cli), str(path), "SELECT count(*), count(DISTINCT type) FROM events"],
                         capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    with Archive(path, readonly=True) as archive:
        want = archive.connection.execute("SELECT count(*), count(DISTINCT type) FROM audit_logs").fetchone()
    assert out == f"{want[0]}|{want[1]}"


def test_read_only_opens_get_the_current_view_without_writing(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    with Archive(path) as archive:
        _fill(archive, EVENTS[:20])
        conn = archive.connection
        # An archive written by an older version: a view with other columns.
        conn.execute("DROP VIEW events")
        conn.execute("CREATE VIEW events AS SELECT id FROM audit_logs")
    before = path.read_bytes()
    with Archive(path, readonly=True) as archive:
        cols = [d[0] for d in archive.connection.execute("SELECT * FROM events LIMIT 1").description]
    assert tuple(cols) == VIEW_COLUMNS
    assert path.read_bytes() == before
    # A writable open brings the file's own view up to date.
    with Archive(path) as archive:
        stored = archive.connection.execute("SELECT sql FROM sqlite_master WHERE name = 'events'").fetchone()[0]
    assert stored == view_sql()


def test_the_view_has_no_python_functions() -> None:
    # Every function the view calls is SQLite's own: a shell without this package can run it.
    import re

    called = {m.lower() for m in re.findall(r"([A-Za-z_]+)\(", view_sql())}
    assert called <= {"nullif", "json_type", "json_extract", "json_each", "coalesce", "strftime", "exists"}, called
