"""The detections' field table (`archive._fields_table`) across what can change the archive under it:
schema migrations (every seq kept), and the one deletion the archive does (the id index's de-duplication
after a back-fill), after which SQLite may give a deleted seq to the next event.

The table must hold exactly the ``events`` view's rows every time; the archives are real SQLite files,
the version-1 one written by the version-1 code (`tests/archive/data`).
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from openapiopenai.archive import Archive
from openapiopenai.archive._fields_table import TABLE_COLUMNS, TRIGGER, catch_up
from openapiopenai.archive._migrate import migrate
from openapiopenai.archive._views import ensure_views

V1 = Path(__file__).parents[1] / "archive" / "data" / "v1_archive.sqlite"
NAMES = [c for c in TABLE_COLUMNS if c != "seq"] + ["time"]


@pytest.fixture
def v1(tmp_path: Path) -> Path:
    path = tmp_path / "audit.sqlite"
    shutil.copyfile(V1, path)
    return path


def _differences(conn: sqlite3.Connection) -> tuple[int, list[int]]:
    """(rows in the table, seqs whose row is not the view's, or is only in one of them)."""
    view = {r[0]: r[1:] for r in conn.execute(f"SELECT archived_seq, {', '.join(NAMES)} FROM events")}
    table = {r[0]: r[1:] for r in conn.execute(f"SELECT seq, {', '.join(NAMES)} FROM detect_fields")}
    return len(table), sorted(s for s in view.keys() | table.keys() if view.get(s) != table.get(s))


def _has_trigger(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?", (TRIGGER,)).fetchone() is not None


def _replace_newest(conn: sqlite3.Connection) -> int:
    """What the de-duplication can do: the newest event deleted, and the next one archived under its seq."""
    seq, raw = conn.execute("SELECT seq, raw FROM audit_logs ORDER BY seq DESC LIMIT 1").fetchone()
    other = conn.execute("SELECT id, effective_at, type, raw FROM audit_logs WHERE seq = 1").fetchone()
    conn.execute("DELETE FROM audit_logs WHERE seq = ?", (seq,))
    conn.execute("INSERT INTO audit_logs (id, effective_at, type, raw) VALUES (?, ?, ?, ?)",
                 (other[0] + "-again", other[1], other[2], other[3]))
    assert conn.execute("SELECT max(seq) FROM audit_logs").fetchone()[0] == seq   # the seq was reused
    assert raw != other[3]
    return int(seq)


@pytest.mark.parametrize("built_at", [1, 2])
def test_a_table_built_before_a_migration_still_holds_the_view(v1: Path, built_at: int) -> None:
    # Only `detect` builds the table, and it opens the archive (which migrates it) first; built here by
    # hand on the old file, as the worst case: the migrations copy every seq as it is.
    conn = sqlite3.connect(v1, isolation_level=None)
    if built_at == 2:
        migrate(conn, 2)
        ensure_views(conn, readonly=False)
    assert catch_up(conn, readonly=False) == 600
    conn.close()
    with Archive(v1) as archive:   # migrated to the current version
        conn = archive.connection
        assert catch_up(conn, readonly=False) == 0
        assert _differences(conn) == (600, [])
        assert _has_trigger(conn)   # carried by the 2 -> 3 rebuild, or made again after 1 -> 2 lost it
        _replace_newest(conn)
        assert catch_up(conn, readonly=False) == 1
        assert _differences(conn) == (600, [])


def test_a_deleted_event_leaves_the_table_and_a_reused_seq_gets_its_new_row(v1: Path) -> None:
    with Archive(v1) as archive:
        conn = archive.connection
        assert catch_up(conn, readonly=False) == 600
        seq = _replace_newest(conn)
        assert conn.execute("SELECT count(*) FROM detect_fields WHERE seq = ?", (seq,)).fetchone()[0] == 0
        assert catch_up(conn, readonly=False) == 1
        assert _differences(conn) == (600, [])


def test_a_table_from_before_the_trigger_is_checked_once_and_rebuilt_when_stale(v1: Path) -> None:
    with Archive(v1) as archive:
        conn = archive.connection
        catch_up(conn, readonly=False)
        conn.execute(f"DROP TRIGGER {TRIGGER}")   # as a table built by the previous version is
        _replace_newest(conn)
        assert _differences(conn)[1] != []   # stale: the old row under the reused seq
        assert catch_up(conn, readonly=False) == 600   # seen, and built again
        assert _differences(conn) == (600, [])
        assert _has_trigger(conn)
        # A consistent old table is kept as it is: only what is new is added.
        conn.execute(f"DROP TRIGGER {TRIGGER}")
        assert catch_up(conn, readonly=False) == 0


def test_detect_maps_the_file_only_while_it_runs_and_the_fold_not_at_all(v1: Path) -> None:
    from openapiopenai.rules import compile_rules, detect, each_match, load_rules

    compiled = compile_rules(load_rules())
    with Archive(v1) as archive:
        conn = archive.connection
        conn.execute("PRAGMA mmap_size = 4096")
        matches = detect(conn, compiled)
        assert conn.execute("PRAGMA mmap_size").fetchone()[0] == 4096
        seen = []
        for match in each_match(conn, compiled):
            seen.append(match)
            assert conn.execute("PRAGMA mmap_size").fetchone()[0] == 4096
    assert sorted(map(repr, seen)) == sorted(map(repr, matches))
