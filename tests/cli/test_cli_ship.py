"""``audit-logs ship`` and ``audit-logs status`` as a user runs them (file sink; the other sinks' CLI runs are
in tests/sinks)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from _cli_helpers import Run, archive_raws, assert_one_line_error, file_state


@pytest.fixture
def db(run: Run, tmp_path: Path) -> str:
    path = str(tmp_path / "audit.sqlite")
    assert run("audit-logs", "sync", "--db", path).exit_code == 0
    return path


def _lines(root: Path) -> list[str]:
    return [line for f in sorted(root.glob("dt=*/*.jsonl")) for line in f.read_text().splitlines()]


def _ledger_rows(db: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT * FROM sink_ledger").fetchall()
    finally:
        conn.close()


def test_ship_to_files_then_status(run: Run, db: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("audit-logs", "ship", "--db", db, "--to", f"file://{out}", "--batch", "300", "--json")
    assert result.exit_code == 0, result.stderr
    shipped = json.loads(result.stdout)
    raws = archive_raws(db)
    assert sorted(_lines(out)) == sorted(raws) and shipped["delivered"] == len(raws) and shipped["backlog"] == 0
    assert f"shipped {len(raws)} events to file://{out}" in result.stderr
    again = run("audit-logs", "ship", "--db", db, "--to", f"file://{out}")
    assert again.exit_code == 0 and "shipped 0 events" in again.stderr
    status = run("audit-logs", "status", "--db", db)
    assert status.exit_code == 0, status.stderr
    assert f"file://{out} (raw): {len(raws)} delivered, backlog 0, position {len(raws)}" in status.stdout
    assert "all events:" in status.stdout and "up to 20" in status.stdout
    as_json = json.loads(run("audit-logs", "status", "--db", db, "--json").stdout)
    assert as_json["sinks"][0]["backlog"] == 0 and as_json["streams"][0]["high_water"] is not None


def test_status_reports_backlog_pending_and_dead_letters(run: Run, db: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("audit-logs", "ship", "--db", db, "--to", f"file://{out}", "--name", "lake").exit_code == 0
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("UPDATE sink_ledger SET position = position - 10, pending_from = position - 9,"
                 " pending_to = position")
    conn.execute("INSERT INTO sink_dead_letters VALUES ('lake', 3, 'audit_log-x', 'mapping error: [actor]',"
                 " 1767225600, 1767225660, 2)")
    conn.close()
    text = run("audit-logs", "status", "--db", db).stdout
    assert "lake (raw):" in text and "backlog 10" in text and "unacknowledged" in text
    assert "1 dead letters" in text
    assert "dead: seq 3 audit_log-x (2 attempts, last 2026-01-01T00:01:00Z): mapping error: [actor]" in text


def test_status_of_a_schema_1_archive_reads_it_without_migrating(run: Run, tmp_path: Path) -> None:
    v1 = tmp_path / "v1.sqlite"
    shutil.copyfile(Path(__file__).parents[1] / "archive" / "data" / "v1_archive.sqlite", v1)
    before = file_state(str(v1))
    result = run("audit-logs", "status", "--db", str(v1))
    assert result.exit_code == 0, result.stderr
    assert "600 events" in result.stdout and "none shipped to yet" in result.stdout
    assert file_state(str(v1)) == before


@pytest.mark.parametrize(("to", "needle"), [
    ("ftp://host/x", "unknown sink scheme 'ftp://'"),
    ("file:///tmp/x?format=xml", "unknown format"),
    ("not a url", "needs a scheme"),
])
def test_bad_sink_urls_are_one_line_exit_2_and_leave_the_ledger(run: Run, db: str, to: str, needle: str) -> None:
    result = run("audit-logs", "ship", "--db", db, "--to", to)
    assert_one_line_error(result.stderr, result.exit_code, 2, needle)
    assert _ledger_rows(db) == []


def test_a_schema_not_yet_available_is_one_line(run: Run, db: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from openapiopenai.sinks import _schemas

    monkeypatch.setitem(_schemas._MAPPERS, "ocsf", ("openapiopenai._no_such_mapper", "to_ocsf"))
    result = run("audit-logs", "ship", "--db", db, "--to", f"file://{tmp_path}/o", "--schema", "ocsf")
    assert_one_line_error(result.stderr, result.exit_code, 2, "--schema ocsf is not available")
    assert _ledger_rows(db) == []


def test_a_missing_archive_is_not_created(run: Run, tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite"
    result = run("audit-logs", "ship", "--db", str(missing), "--to", f"file://{tmp_path}/o")
    assert_one_line_error(result.stderr, result.exit_code, 2, "no such archive")
    assert not missing.exists()
    result = run("audit-logs", "status", "--db", str(missing))
    assert_one_line_error(result.stderr, result.exit_code, 2, "no such archive")


def test_a_sink_failing_mid_run_is_exit_1_keeping_acknowledged_batches(run: Run, db: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    # A day directory that is a file: the first batch touching that day fails for good (not a transient).
    conn = sqlite3.connect(db)
    seq, at = conn.execute("SELECT seq, effective_at FROM audit_logs WHERE seq = 700").fetchone()
    conn.close()
    import time

    (out / f"dt={time.strftime('%Y-%m-%d', time.gmtime(at))}").write_text("in the way")
    result = run("audit-logs", "ship", "--db", db, "--to", f"file://{out}", "--batch", "100")
    assert_one_line_error(result.stderr, result.exit_code, 1, "shipping stopped", "every acknowledged batch")
    position = _ledger_rows(db)[0][3]
    assert isinstance(position, int) and 0 <= position < seq


def test_help_lists_the_options(run: Run) -> None:
    text = run("audit-logs", "ship", "--help").stdout
    for option in ("--to", "--name", "--schema", "--batch", "--follow", "--interval", "--give-up-after",
                   "--retry-dead", "password_env"):
        assert option in text
