"""Schema 1 -> 2 -> 3 -> 4 in place: every event byte for byte and every sync state kept, all or nothing.

`data/v1_archive.sqlite` was written by the version-1 code (see `data/make_v1_archive.py`): three synced
streams, both partitions, the lookup indexes. A version-2 archive is that file taken through the 1 -> 2 step
alone, with the version-2 `events` view, a sink's ledger position and a back-fill's dropped indexes; a
version-3 archive is that one taken on through the 2 -> 3 step.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from openapiopenai.archive import SCHEMA_VERSION, Archive, Filters
from openapiopenai.archive._migrate import migrate
from openapiopenai.archive._rows import INSERT_SQL, event_row

V1 = Path(__file__).parent / "data" / "v1_archive.sqlite"


@pytest.fixture
def v1(tmp_path: Path) -> Path:
    path = tmp_path / "audit.sqlite"
    shutil.copyfile(V1, path)
    return path


def _snapshot(path: Path) -> dict[str, Any]:
    """Everything a migration must keep, read without the library."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {
            "version": conn.execute("PRAGMA user_version").fetchone()[0],
            "events": conn.execute("SELECT id, effective_at, type, tenant, actor_type, actor_id, actor_email,"
                                   " api_key_id, project_id, ip_address, resource_id, raw FROM audit_logs"
                                   " ORDER BY rowid").fetchall(),
            "sync_state": conn.execute("SELECT * FROM sync_state ORDER BY filter_key").fetchall(),
            "sync_slices": conn.execute("SELECT * FROM sync_slices ORDER BY filter_key, slice_no").fetchall(),
            "indexes": sorted(r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")),
            "tables": sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")),
        }
    finally:
        conn.close()


def test_the_fixture_is_a_version_1_archive() -> None:
    before = _snapshot(V1)
    assert before["version"] == 1
    assert len(before["events"]) == 600 and len(before["sync_state"]) == 3
    assert "seq" not in {r[1] for r in sqlite3.connect(V1).execute("PRAGMA table_info(audit_logs)")}


def test_opening_a_v1_archive_migrates_it_keeping_everything(v1: Path) -> None:
    before = _snapshot(v1)
    with Archive(v1) as archive:
        conn = archive.connection
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
        # The old insertion order is the new sequence, 1..n, and each row is the same, byte for byte.
        rows = conn.execute("SELECT seq, id, effective_at, type, tenant, actor_type, actor_id, actor_email,"
                            " api_key_id, project_id, ip_address, resource_id, raw FROM audit_logs"
                            " ORDER BY seq").fetchall()
        assert [tuple(r)[1:] for r in rows] == before["events"]
        assert [r[0] for r in rows] == list(range(1, 601))
        assert conn.execute("SELECT count(*) FROM sink_ledger").fetchone()[0] == 0
        # The sync state reads as it did, and the next sync's insert (no seq given) gets the next seq.
        states = archive.sync_state()
        assert [s["high_water"] for s in states] == [s[2] for s in before["sync_state"]]
        assert {s["filters"] for s in states} >= {Filters(), Filters(tenant_only=True)}
        event = {"id": "audit_log-new", "type": "login.failed", "effective_at": 1}
        conn.execute(INSERT_SQL, event_row(event, '{"id": "audit_log-new"}', tenant=False))
        conn.execute(INSERT_SQL, event_row(event, '{"id": "audit_log-new"}', tenant=False))  # ignored
        assert [tuple(r) for r in conn.execute("SELECT seq FROM audit_logs WHERE id = 'audit_log-new'")] == [(601,)]
    after = _snapshot(v1)
    assert after["sync_state"] == before["sync_state"] and after["sync_slices"] == before["sync_slices"]
    assert after["indexes"] == sorted([*before["indexes"], "audit_logs_id"])
    # Only the ledger's tables: detect_state is made by the first `detect --new`, not by an open.
    assert after["tables"] == sorted([*before["tables"], "sink_dead_letters", "sink_ledger"])


def test_the_sequence_survives_vacuum(v1: Path) -> None:
    with Archive(v1) as archive:
        conn = archive.connection
        # A gap, as a rolled-back insert can leave; VACUUM renumbers implicit rowids, never a declared key.
        conn.execute("UPDATE audit_logs SET seq = seq + 1000 WHERE seq > 300")
        before = conn.execute("SELECT seq, id FROM audit_logs ORDER BY seq").fetchall()
        conn.execute("VACUUM")
        assert conn.execute("SELECT seq, id FROM audit_logs ORDER BY seq").fetchall() == before


def test_a_back_fill_in_progress_keeps_its_lookup_indexes_absent(v1: Path) -> None:
    conn = sqlite3.connect(v1, isolation_level=None)
    conn.execute("DROP INDEX audit_logs_type")
    conn.execute("DROP INDEX audit_logs_ip")
    conn.close()
    with Archive(v1) as archive:
        from openapiopenai.archive._schema import missing_indexes

        assert sorted(missing_indexes(archive.connection)) == ["audit_logs_ip", "audit_logs_type"]


def test_read_only_opening_reads_v1_without_migrating(v1: Path) -> None:
    with Archive(v1, readonly=True) as archive:
        assert archive.count() == 600
    assert _snapshot(v1)["version"] == 1


@pytest.mark.parametrize("step", ["table", "copied", "indexed", "commit"])
def test_an_error_mid_migration_leaves_v1_intact(v1: Path, step: str) -> None:
    before = _snapshot(v1)
    conn = sqlite3.connect(v1, isolation_level=None)

    def fail_at(at: str) -> None:
        if at == step:
            raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, 2, hook=fail_at)
    assert not conn.in_transaction
    conn.close()
    assert _snapshot(v1) == before
    with Archive(v1) as archive:   # and the next open migrates it
        assert archive.count() == 600


_KILLED_MID_MIGRATION = textwrap.dedent("""
    import os, signal, sqlite3, sys
    from openapiopenai.archive._migrate import migrate

    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    # Grow the archive first so the copy is a real one (a few thousand rows, several MB of pages).
    conn.execute("BEGIN")
    conn.execute("INSERT INTO audit_logs (id, effective_at, type, raw) SELECT a.id || '-' || n.value,"
                 " a.effective_at, a.type, a.raw FROM audit_logs AS a, json_each('[1,2,3,4,5,6,7,8]') AS n")
    conn.execute("COMMIT")
    def kill_at(step):
        if step == sys.argv[2]:
            os.kill(os.getpid(), signal.SIGKILL)
    migrate(conn, 2, hook=kill_at)
""")


@pytest.mark.parametrize("step", ["copied", "commit"])
def test_sigkill_mid_migration_leaves_v1_intact(v1: Path, step: str) -> None:
    proc = subprocess.run([sys.executable, "-c", _KILLED_MID_MIGRATION, str(v1), step], timeout=60,
                          capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    after = _snapshot(v1)
    assert after["version"] == 1 and len(after["events"]) == 600 * 9
    assert "sink_ledger" not in after["tables"]
    with Archive(v1) as archive:
        assert archive.count() == 600 * 9
        assert archive.connection.execute("SELECT max(seq) FROM audit_logs").fetchone()[0] == 600 * 9
    assert not os.path.exists(f"{v1}-journal")


def _make_v2(path: Path, *, backfill_in_progress: bool = False) -> None:
    """The v1 fixture through the 1 -> 2 step only, then used as version 2 was: a view, a ledger row."""
    from openapiopenai.archive._views import ensure_views

    conn = sqlite3.connect(path, isolation_level=None)
    try:
        migrate(conn, 2)
        ensure_views(conn, readonly=False)
        conn.execute("INSERT INTO sink_ledger (sink, target, schema, position, created_at) VALUES"
                     " ('files', 'file:///x', 'raw', 250, 1.0)")
        if backfill_in_progress:
            conn.execute("DROP INDEX audit_logs_type")
    finally:
        conn.close()


@pytest.fixture
def v2(v1: Path) -> Path:
    _make_v2(v1)
    return v1


def _ids_unique(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("INSERT INTO audit_logs (id, effective_at, type, raw) SELECT id, 1, type, raw FROM audit_logs"
                     " LIMIT 1")
    except sqlite3.IntegrityError:
        return True
    return False


def test_opening_a_v2_archive_migrates_it_keeping_every_seq(v2: Path) -> None:
    before = _snapshot(v2)
    assert before["version"] == 2
    seqs = sqlite3.connect(v2).execute("SELECT seq, id FROM audit_logs ORDER BY seq").fetchall()
    with Archive(v2) as archive:
        conn = archive.connection
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        # The same events at the same seq, so the sink's position (250) still names the same ones.
        assert [tuple(r) for r in conn.execute("SELECT seq, id FROM audit_logs ORDER BY seq")] == seqs
        assert conn.execute("SELECT position FROM sink_ledger").fetchone()[0] == 250
        # The view made by version 2 still reads (it names the table, now the new one).
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 600
        # Uniqueness is now the named index, and it holds.
        assert "UNIQUE" not in conn.execute("SELECT sql FROM sqlite_master WHERE name = 'audit_logs'").fetchone()[0]
        assert _ids_unique(conn)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    after = _snapshot(v2)
    assert after["events"] == before["events"]   # ordered by rowid = seq: the same, byte for byte
    assert after["sync_state"] == before["sync_state"] and after["sync_slices"] == before["sync_slices"]
    assert after["indexes"] == sorted([*before["indexes"], "audit_logs_id"])
    assert after["tables"] == before["tables"]


def test_a_v2_back_fill_in_progress_keeps_its_dropped_index_absent_but_ids_unique(v1: Path) -> None:
    _make_v2(v1, backfill_in_progress=True)
    with Archive(v1) as archive:
        from openapiopenai.archive._schema import missing_indexes

        assert missing_indexes(archive.connection) == ["audit_logs_type"]
        assert _ids_unique(archive.connection)


@pytest.mark.parametrize("step", ["table", "copied", "indexed", "commit"])
def test_an_error_mid_migration_leaves_v2_intact(v2: Path, step: str) -> None:
    before = _snapshot(v2)
    view = sqlite3.connect(v2).execute("SELECT sql FROM sqlite_master WHERE name = 'events'").fetchone()
    conn = sqlite3.connect(v2, isolation_level=None)

    def fail_at(at: str) -> None:
        if at == step:
            raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, 3, hook=fail_at)
    assert not conn.in_transaction
    # The legacy rename switch is off again (it is the connection's, not the transaction's).
    assert conn.execute("PRAGMA legacy_alter_table").fetchone()[0] == 0
    conn.close()
    assert _snapshot(v2) == before
    assert sqlite3.connect(v2).execute("SELECT sql FROM sqlite_master WHERE name = 'events'").fetchone() == view
    with Archive(v2) as archive:
        assert archive.count() == 600


@pytest.mark.parametrize("step", ["copied", "indexed"])
def test_sigkill_mid_v2_migration_leaves_v2_intact(v2: Path, step: str) -> None:
    script = _KILLED_MID_MIGRATION.replace("migrate(conn, 2, hook=kill_at)", "migrate(conn, 3, hook=kill_at)")
    proc = subprocess.run([sys.executable, "-c", script, str(v2), step], timeout=60, capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    after = _snapshot(v2)
    assert after["version"] == 2 and len(after["events"]) == 600 * 9
    with Archive(v2) as archive:
        assert archive.count() == 600 * 9
        assert archive.connection.execute("SELECT max(seq) FROM audit_logs").fetchone()[0] == 600 * 9


def _make_v3(path: Path, *, backfill_in_progress: bool = False) -> None:
    """The v2 archive above through the 2 -> 3 step only; a back-fill in progress lacks the id index too."""
    _make_v2(path, backfill_in_progress=backfill_in_progress)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        migrate(conn, 3)
        if backfill_in_progress:
            conn.execute("DROP INDEX audit_logs_id")
    finally:
        conn.close()


@pytest.fixture
def v3(v1: Path) -> Path:
    _make_v3(v1)
    return v1


def _time_index_sql(conn: sqlite3.Connection) -> str:
    return str(conn.execute("SELECT sql FROM sqlite_master WHERE name = 'audit_logs_time'").fetchone()[0])


def _time_unique(conn: sqlite3.Connection) -> bool:
    """Whether the (effective_at, id) index alone refuses a second copy (the id index dropped first)."""
    conn.execute("SAVEPOINT probe")
    try:
        conn.execute("DROP INDEX IF EXISTS audit_logs_id")
        conn.execute("INSERT INTO audit_logs (id, effective_at, type, raw) SELECT id, effective_at, type, raw"
                     " FROM audit_logs LIMIT 1")
    except sqlite3.IntegrityError:
        return True
    finally:
        conn.execute("ROLLBACK TO probe")
        conn.execute("RELEASE probe")
    return False


@pytest.mark.parametrize("backfill", [False, True])
def test_opening_a_v3_archive_makes_the_time_index_unique_keeping_everything(v1: Path, backfill: bool) -> None:
    _make_v3(v1, backfill_in_progress=backfill)
    before = _snapshot(v1)
    assert before["version"] == 3
    seqs = sqlite3.connect(v1).execute("SELECT seq, id FROM audit_logs ORDER BY seq").fetchall()
    with sqlite3.connect(v1) as old:
        assert "UNIQUE" not in _time_index_sql(old) and not _time_unique(old)
    with Archive(v1) as archive:
        conn = archive.connection
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
        assert _time_index_sql(conn).startswith("CREATE UNIQUE INDEX") and _time_unique(conn)
        assert [tuple(r) for r in conn.execute("SELECT seq, id FROM audit_logs ORDER BY seq")] == seqs
        assert conn.execute("SELECT position FROM sink_ledger").fetchone()[0] == 250
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 600
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    after = _snapshot(v1)
    # Nothing else changed: the same events byte for byte, the same state, the same indexes (a back-fill's
    # dropped ones still absent, for its completion to build).
    assert {k: v for k, v in after.items() if k != "version"} == {k: v for k, v in before.items() if k != "version"}
    assert ("audit_logs_id" in after["indexes"]) is not backfill


@pytest.mark.parametrize("step", ["dropped", "indexed", "commit"])
def test_an_error_mid_migration_leaves_v3_intact(v3: Path, step: str) -> None:
    before = _snapshot(v3)
    conn = sqlite3.connect(v3, isolation_level=None)

    def fail_at(at: str) -> None:
        if at == step:
            raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, 4, hook=fail_at)
    assert not conn.in_transaction
    assert "UNIQUE" not in _time_index_sql(conn)
    conn.close()
    assert _snapshot(v3) == before
    with Archive(v3) as archive:
        assert archive.count() == 600 and _time_unique(archive.connection)


@pytest.mark.parametrize("step", ["dropped", "indexed"])
def test_sigkill_mid_v3_migration_leaves_v3_intact(v3: Path, step: str) -> None:
    script = _KILLED_MID_MIGRATION.replace("migrate(conn, 2, hook=kill_at)", "migrate(conn, 4, hook=kill_at)")
    proc = subprocess.run([sys.executable, "-c", script, str(v3), step], timeout=60, capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    after = _snapshot(v3)
    assert after["version"] == 3 and len(after["events"]) == 600 * 9
    with Archive(v3) as archive:
        assert archive.count() == 600 * 9 and _time_unique(archive.connection)
