"""The detections' field table (`archive._fields_table`) across what can change the archive under it:
schema migrations (every seq kept), and the one deletion the archive does (the id index's de-duplication
after a back-fill), after which SQLite may give a deleted seq to the next event.

The table must hold exactly the ``events`` view's rows every time; the archives are real SQLite files,
the version-1 one written by the version-1 code (`tests/archive/data`). A large build is shared among
worker processes: the threshold is lowered here so a few thousand synced events take that path, and its
table must be the in-process one's, its failures leave nothing behind.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

import openapiopenai
from openapiopenai.archive import Archive, sync_archive
from openapiopenai.archive._fields_table import TABLE_COLUMNS, TRIGGER, _build_part, catch_up
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


# --- the build shared among worker processes ---------------------------------------------------------

@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few thousand emulated events synced over HTTP into a real archive (copied by each test)."""
    from openapiopenai.emulator import Emulator

    path = tmp_path_factory.mktemp("synced") / "audit.sqlite"
    with Emulator(events=3000, seed=11) as emu:
        config = openapiopenai.Configuration(host=emu.base_url, access_token=emu.admin_key)
        with openapiopenai.ApiClient(config) as client, Archive(path) as archive:
            sync_archive(openapiopenai.AuditLogsApi(client), archive)
    return path


def _copy(source: Path, folder: Path, name: str) -> Path:
    folder.mkdir()
    shutil.copyfile(source, folder / name)
    return folder / name


def _rows(conn: sqlite3.Connection) -> list[tuple[object, ...]]:
    return [tuple(r) for r in conn.execute(f"SELECT seq, {', '.join(NAMES)} FROM detect_fields ORDER BY seq")]


def _indexes(conn: sqlite3.Connection, schema: str = "main") -> list[str]:
    return sorted(r[0] for r in conn.execute(
        f"SELECT name FROM {schema}.sqlite_master WHERE type = 'index' AND tbl_name = 'detect_fields'"))


def _attached(conn: sqlite3.Connection) -> set[str]:
    return {r[1] for r in conn.execute("PRAGMA database_list")} - {"temp"}


def _checked_part(database: str, part: str, after: int, upto: int, since: int | None) -> int:
    """The real worker, after checking the scratch folder is private (the rows hold e-mails and IPs)."""
    mode = stat.S_IMODE(os.stat(os.path.dirname(part)).st_mode)
    if mode != 0o700:
        raise PermissionError(f"scratch folder mode {mode:o}")
    return _build_part(database, part, after, upto, since)


def _failing_part(database: str, part: str, after: int, upto: int, since: int | None) -> int:
    """Every part but the first fails, after writing some of its file: the first is then already copied."""
    if after == 0:
        return _build_part(database, part, after, upto, since)
    Path(part).write_bytes(b"half a part")
    raise OSError(28, "No space left on device", part)


def test_the_parallel_build_gives_the_in_process_table(synced: Path, tmp_path: Path) -> None:
    serial = _copy(synced, tmp_path / "serial", "audit.sqlite")
    shared = _copy(synced, tmp_path / "shared", "audit.sqlite")
    with Archive(serial) as archive:
        assert catch_up(archive.connection, readonly=False) > 2000   # in-process (below the threshold)
        expected = _rows(archive.connection)
        expected_indexes = _indexes(archive.connection)
    with Archive(shared) as archive:
        conn = archive.connection
        assert catch_up(conn, readonly=False, parallel_from=1, part_builder=_checked_part) == len(expected)
        assert _rows(conn) == expected
        assert _differences(conn) == (len(expected), [])
        assert _indexes(conn) == expected_indexes and len(expected_indexes) == 2
        assert _has_trigger(conn)
        assert _attached(conn) == {"main"}   # every part detached
        assert catch_up(conn, readonly=False, parallel_from=1) == 0   # nothing new: nothing started
    assert sorted(os.listdir(shared.parent)) == ["audit.sqlite"]   # no scratch folder left (the WAL checkpointed)


def test_a_failed_worker_leaves_no_table_and_no_scratch_and_the_next_build_is_right(synced: Path,
                                                                                     tmp_path: Path) -> None:
    path = _copy(synced, tmp_path / "a", "audit.sqlite")
    with Archive(path) as archive:
        conn = archive.connection
        expected = conn.execute("SELECT count(*) FROM audit_logs").fetchone()[0]
        with pytest.raises(OSError, match="No space left"):
            catch_up(conn, readonly=False, parallel_from=1, part_builder=_failing_part)
        assert conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'detect_fields%'").fetchall() == []
        assert not conn.in_transaction
        assert [name for name in os.listdir(path.parent) if "detect_fields" in name] == []
        assert _attached(conn) == {"main"}   # every part detached
        assert catch_up(conn, readonly=False, parallel_from=1) == expected
        assert _differences(conn) == (expected, [])


def test_a_read_only_archive_gets_the_views_rows_from_the_workers(synced: Path, tmp_path: Path) -> None:
    path = _copy(synced, tmp_path / "ro", "audit.sqlite")
    with Archive(path):
        pass   # checkpointed and closed: the file is all there is
    before = path.read_bytes()
    with Archive(path, readonly=True) as archive:
        conn = archive.connection
        archived = conn.execute("SELECT count(*) FROM audit_logs").fetchone()[0]
        with pytest.raises(OSError, match="No space left"):
            catch_up(conn, readonly=True, parallel_from=1, part_builder=_failing_part)
        assert conn.execute("SELECT name FROM temp.sqlite_master WHERE name LIKE 'detect_fields%'").fetchall() == []
        assert catch_up(conn, readonly=True, parallel_from=1, part_builder=_checked_part) == archived
        assert _differences(conn) == (archived, [])
        assert _indexes(conn, "temp") == ["detect_fields_kind", "detect_fields_type"]
    assert path.read_bytes() == before
    assert [name for name in os.listdir(path.parent) if "detect_fields" in name] == []
    # Only the events from `since` on, as a read-only `detect --since` builds them.
    with Archive(path, readonly=True) as archive:
        conn = archive.connection
        since = conn.execute("SELECT effective_at FROM audit_logs ORDER BY effective_at LIMIT 1 OFFSET 1000"
                             ).fetchone()[0]
        wanted = conn.execute("SELECT count(*) FROM audit_logs WHERE effective_at >= ?", (since,)).fetchone()[0]
        assert catch_up(conn, readonly=True, since=since, parallel_from=1) == wanted
        view = [tuple(r) for r in conn.execute(f"SELECT archived_seq, {', '.join(NAMES)} FROM events"
                                               " WHERE effective_at >= ? ORDER BY archived_seq", (since,))]
        assert _rows(conn) == view and 0 < len(view) < archived


def test_workers_are_started_only_where_the_process_allows_them(synced: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # A spawned worker imports the caller's `__main__` again: a library caller's unguarded script would run
    # twice. So by default a large build stays in the process, unless the entry point allowed workers (the
    # CLI's does) or the call asks for them.
    from openapiopenai import _processes
    from openapiopenai.archive import _fields_table

    monkeypatch.setattr(_fields_table, "PARALLEL_FROM", 1)
    monkeypatch.setattr(_processes, "_allowed", False)
    path = _copy(synced, tmp_path / "a", "audit.sqlite")
    with Archive(path) as archive:
        conn = archive.connection
        expected = conn.execute("SELECT count(*) FROM audit_logs").fetchone()[0]
        assert catch_up(conn, readonly=False, part_builder=_failing_part) == expected   # no worker ran
        conn.execute("DROP TABLE detect_fields")
        monkeypatch.setattr(_processes, "_allowed", True)
        with pytest.raises(OSError, match="No space left"):   # the workers ran
            catch_up(conn, readonly=False, part_builder=_failing_part)
