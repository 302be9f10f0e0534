"""`audit-logs report` as a user runs it: the file, its format, and bad input (exit 2, nothing written)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from _cli_helpers import assert_one_line_error

from openapiopenai.archive import Archive
from openapiopenai.archive._rows import INSERT_SQL, event_row

AT = 1_780_000_000


@pytest.fixture
def db(tmp_path: Path) -> str:
    import json

    path = tmp_path / "a.sqlite"
    with Archive(path) as archive:
        for i in range(5):
            event = {"id": f"audit_log-r{i}", "type": "login.failed", "effective_at": AT + i * 3600,
                     "actor": {"type": "session", "session": {"user": {"id": "u", "email": "u@example.com"}}},
                     "login.failed": {}}
            archive.connection.execute(INSERT_SQL, event_row(event, json.dumps(event), tenant=False))
        archive.connection.commit()
    return str(path)


def test_report_html_and_md(run_offline, db: str, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = run_offline("audit-logs", "report", "--db", db, "--since", str(AT), "--until", str(AT + 86_400),
                         "--out", str(out), key=None)
    assert result.exit_code == 0, result.stderr
    assert out.read_text().startswith("<!DOCTYPE html>") and "audit_log-r4" in out.read_text()
    assert "5 events" in result.stderr and str(out) in result.stderr
    md = tmp_path / "r.md"
    result = run_offline("audit-logs", "report", "--db", db, "--until", str(AT + 86_400), "--out", str(md))
    assert result.exit_code == 0, result.stderr
    assert md.read_text().startswith("# Access review") and "audit_log-r4" in md.read_text()


def test_report_bad_input_writes_nothing(run_offline, db: str, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = run_offline("audit-logs", "report", "--db", db, "--since", str(AT), "--until", str(AT), "--out", str(out))
    assert_one_line_error(result.stderr, result.exit_code, 2, "--since")
    result = run_offline("audit-logs", "report", "--db", str(tmp_path / "none.sqlite"), "--out", str(out))
    assert_one_line_error(result.stderr, result.exit_code, 2, "no such archive")
    result = run_offline("audit-logs", "report", "--db", db, "--out", str(tmp_path / "no" / "r.html"))
    assert_one_line_error(result.stderr, result.exit_code, 2, "does not exist")
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("a.sqlite")) == []


def test_report_without_pygal_names_the_extra(run_offline, db: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pygal", None)  # import pygal now fails, as without the extra
    out = tmp_path / "r.html"
    result = run_offline("audit-logs", "report", "--db", db, "--out", str(out))
    assert_one_line_error(result.stderr, result.exit_code, 2, "openapiopenai[report]")
    assert not out.exists()


def test_report_runs_the_detection_rules_unless_told_not_to(run_offline, db: str, tmp_path: Path) -> None:
    ran, skipped = tmp_path / "ran.md", tmp_path / "skipped.md"
    args = ("audit-logs", "report", "--db", db, "--since", str(AT), "--until", str(AT + 86_400))
    assert run_offline(*args, "--out", str(ran)).exit_code == 0
    assert run_offline(*args, "--out", str(skipped), "--no-detect").exit_code == 0
    assert "were not run" not in ran.read_text() and "were not run" in skipped.read_text()


def test_report_with_the_rules_drops_a_retired_field_table(run_offline, db: str, tmp_path: Path) -> None:
    import sqlite3

    def old_objects() -> list[str]:
        with sqlite3.connect(db) as conn:
            return sorted(n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'detect_fields%'"))

    with sqlite3.connect(db) as conn:   # as the previous version left it: a table of the fields, and its trigger
        conn.execute("CREATE TABLE detect_fields (seq INTEGER PRIMARY KEY, id TEXT, type TEXT)")
        conn.execute("INSERT INTO detect_fields SELECT seq, id, type FROM audit_logs")
        conn.execute("CREATE TRIGGER detect_fields_forget AFTER DELETE ON audit_logs"
                     " BEGIN DELETE FROM detect_fields WHERE seq = old.rowid; END")
    out = tmp_path / "r.html"
    args = ("audit-logs", "report", "--db", db, "--since", str(AT), "--until", str(AT + 86_400), "--out", str(out))
    assert run_offline(*args, "--no-detect", key=None).exit_code == 0
    assert old_objects() == ["detect_fields", "detect_fields_forget"]   # without detections the archive is only read
    result = run_offline(*args, key=None)
    assert result.exit_code == 0, result.stderr
    assert old_objects() == []   # the rules read audit_logs itself: nothing of the old table is kept
