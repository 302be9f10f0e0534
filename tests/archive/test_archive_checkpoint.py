"""Idle checkpoints: the WAL is copied back while the writer waits, so the close has little left."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from openapiopenai.archive import Archive, sync_archive
from openapiopenai.archive._checkpoint import IdleCheckpoints


def _wal_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")   # only our checkpoints copy pages back
    conn.execute("CREATE TABLE t (x TEXT)")
    return conn


def _commit_rows(conn: sqlite3.Connection, n: int) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT INTO t VALUES (?)", [("x" * 1000,)] * n)
    conn.execute("COMMIT")


def test_an_idle_writer_copies_the_wal_into_the_database(tmp_path: Path) -> None:
    conn = _wal_db(tmp_path / "a.sqlite")
    now = [0.0]
    checkpoints = IdleCheckpoints(conn, clock=lambda: now[0], spacing=0.5)
    _commit_rows(conn, 500)
    checkpoints.committed(1)
    before = (tmp_path / "a.sqlite").stat().st_size
    checkpoints.idle()   # too soon after the last one (the start)
    assert checkpoints.made == 0 and (tmp_path / "a.sqlite").stat().st_size == before
    now[0] = 0.6
    checkpoints.idle()
    assert checkpoints.made == 1
    # The rows' pages are in the database file now, not only in the WAL.
    assert (tmp_path / "a.sqlite").stat().st_size > before + 400 * 1000
    conn.close()


def test_no_checkpoint_without_a_commit_since_the_last(tmp_path: Path) -> None:
    conn = _wal_db(tmp_path / "a.sqlite")
    now = [0.0]
    checkpoints = IdleCheckpoints(conn, clock=lambda: now[0], spacing=0.5)
    now[0] = 1.0
    checkpoints.committed(0)
    checkpoints.idle()
    assert checkpoints.made == 0
    checkpoints.committed(3)
    checkpoints.idle()
    now[0] = 1.2
    checkpoints.committed(1)
    checkpoints.idle()   # within the spacing of the one before
    assert checkpoints.made == 1
    conn.close()


def test_a_latency_bound_backfill_checkpoints_while_it_waits(tmp_path: Path, make_emulator: Any,
                                                              api_for: Any) -> None:
    # 40 ms a request, pages of 20: the walk takes over 1.5 s (~38 requests a worker), the writer mostly waiting.
    emu = make_emulator(events=3000, seed=31, latency_ms=40)
    statements: list[str] = []
    with Archive(tmp_path / "a.sqlite") as archive:
        archive.connection.set_trace_callback(statements.append)
        result = sync_archive(api_for(emu), archive, page_size=20, workers=4)
        archive.connection.set_trace_callback(None)
        assert result.inserted == archive.count() > 2500
    checkpoints = [s for s in statements if "wal_checkpoint" in s]
    assert len(checkpoints) >= 2, checkpoints
