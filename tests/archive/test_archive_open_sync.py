"""A new archive skips the syncs of its switch to WAL (an empty file has nothing to protect), and only those."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from openapiopenai.archive import Archive, _schema


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement the archive's connections run, from their first."""
    seen: list[str] = []
    connect = _schema._connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        conn.set_trace_callback(seen.append)
        return conn

    monkeypatch.setattr(_schema, "_connect", traced)
    return seen


def _syncs(statements: list[str]) -> list[str]:
    return [s for s in statements if s.startswith(("PRAGMA synchronous", "PRAGMA journal_mode"))]


@pytest.mark.parametrize("existing", [False, True])
def test_an_empty_file_switches_to_wal_unsynced_then_runs_normal(tmp_path: Path, statements: list[str],
                                                                 existing: bool) -> None:
    path = tmp_path / "a.sqlite"
    if existing:
        path.touch()   # an empty file someone made for it: nothing in it to lose either
    with Archive(path) as archive:
        assert archive.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        # NORMAL (1) for everything after the switch: the schema's commit and every later one.
        assert archive.connection.execute("PRAGMA synchronous").fetchone()[0] == 1
    assert _syncs(statements)[:3] == ["PRAGMA synchronous=OFF", "PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"]
    with sqlite3.connect(path) as again:
        assert again.execute("PRAGMA application_id").fetchone()[0] == _schema.APPLICATION_ID


def test_a_file_with_content_keeps_every_sync(tmp_path: Path, statements: list[str]) -> None:
    archive_path, blank_path = tmp_path / "a.sqlite", tmp_path / "blank.sqlite"
    Archive(archive_path).close()
    blank = sqlite3.connect(blank_path)
    blank.execute("VACUUM")   # a valid one-page database with no tables: not empty on disk
    blank.close()
    assert blank_path.stat().st_size > 0
    statements.clear()
    for path in (archive_path, blank_path):
        with Archive(path) as archive:
            assert archive.connection.execute("PRAGMA synchronous").fetchone()[0] == 1
    assert "PRAGMA synchronous=OFF" not in statements
    assert _syncs(statements).count("PRAGMA journal_mode=WAL") == 2
