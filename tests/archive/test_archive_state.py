"""The sync state's transactions: a failure is one clear line, rolled back, and what came before is kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from openapiopenai.archive import Archive, ArchiveWriteError, _sync, sync_archive
from openapiopenai.archive._state import transaction

NOW = 2_000_000


def test_a_commit_that_fails_is_rolled_back(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "t.sqlite", isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    # Checked only at COMMIT, so it is the COMMIT that fails.
    conn.execute("CREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)")
    expected = r"^a\.sqlite: cannot write: FOREIGN KEY constraint failed \(everything committed before is kept\)$"
    with pytest.raises(ArchiveWriteError, match=expected), transaction(conn, "a.sqlite"):
        conn.execute("INSERT INTO child VALUES (7)")
    assert not conn.in_transaction
    assert conn.execute("SELECT count(*) FROM child").fetchone()[0] == 0
    conn.close()


def test_begin_on_a_locked_archive_says_locked_and_other_failures_say_what_they_are(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    waiter = sqlite3.connect(path, isolation_level=None, timeout=0.01)
    with pytest.raises(ArchiveWriteError, match="locked by another process"), transaction(waiter, "t.sqlite"):
        pass
    holder.execute("ROLLBACK")
    reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    with pytest.raises(ArchiveWriteError, match="read-only") as info, transaction(reader, "t.sqlite"):
        reader.execute("INSERT INTO t VALUES (1)")
    assert "locked" not in str(info.value)
    for conn in (holder, waiter, reader):
        conn.close()


def test_a_full_disk_stops_the_sync_with_one_line_and_keeps_what_was_committed(
        tmp_path: Path, fake_service: Any, event_maker: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sync, "GROUP_MIN_PAGES", 1)   # a commit per page, so a few fit before the disk fills
    events = [event_maker(i, 1_000_000 + i) for i in range(3000)]
    service, api = fake_service(events)
    path = tmp_path / "a.sqlite"
    with Archive(path) as archive:
        pages = archive.connection.execute("PRAGMA page_count").fetchone()[0]
        archive.connection.execute(f"PRAGMA max_page_count = {pages + 40}")   # room for a few pages only
        with pytest.raises(ArchiveWriteError, match="cannot write: the disk is full") as info:
            sync_archive(api, archive, page_size=100, clock=lambda: NOW)
        assert "\n" not in str(info.value)
        kept = archive.count()
        assert 0 < kept < 3000
        [state] = archive.sync_state()
        assert state["run_active"] and state["run_fetched"] == kept   # positions and events agree
    with Archive(path) as archive:   # room again: the next sync resumes and ends exact
        result = sync_archive(api, archive, page_size=100, clock=lambda: NOW)
        assert result.resumed and result.duplicates == 0
        assert [r["id"] for r in archive.iter_rows()] == [e["id"] for e in service.events]
