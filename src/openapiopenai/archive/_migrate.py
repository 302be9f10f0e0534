"""Bring an older archive up to the current schema, in place and all at once.

Each step runs in one transaction under the write lock: SQLite's DDL is transactional, so a crash or an
error anywhere in a step leaves the file exactly at the version it had (the journal rolls it back), and a
second process opening the same file waits for the lock and then finds the work done.

Version 1 -> 2: `audit_logs` gains `seq`, the insertion sequence the sinks' ledgers count in. Version 1
kept the events in an implicit rowid table (with `id` as its primary key); its rowid is the order the
events were inserted in, so it becomes `seq` as it is. The table is rebuilt (SQLite cannot change a
primary key in place), its indexes made again after the copy (one sort each, faster than keeping them
during it), and the ledger and dead-letter tables added. Every event, byte for byte, and every sync-state
row stay as they were.

Version 2 -> 3: the id's uniqueness moves from the column's UNIQUE constraint (an index SQLite will not
drop) to the named index `audit_logs_id`, which a back-fill into an empty archive can walk without
(`_schema.ID_INDEX`). Rebuilt the same way, `seq` copied as it is, so every sink's ledger position still
names the same events. Views stay as they were (their text names the table, which ends under its name).

Version 3 -> 4: `audit_logs_time` becomes UNIQUE, so a back-fill walking without the id index absorbs a
re-read event with INSERT OR IGNORE instead of a NOT EXISTS probe per row. Only the index is made again
(one sort); the table, every seq and every other index stay as they are.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

from openapiopenai.archive._rows import ROW_COLUMNS

__all__ = ["migrate"]

log = logging.getLogger("openapiopenai.archive")

#: Called between the steps of a migration (tests pass one that fails or kills the process there).
StepHook = Callable[[str], None]


#: The version-2 table, as that version created it: the 1 -> 2 step makes exactly this, whatever comes later.
_V2_AUDIT_LOGS_TABLE = """
CREATE TABLE audit_logs (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    effective_at INTEGER NOT NULL,
    type         TEXT NOT NULL,
    tenant       INTEGER NOT NULL DEFAULT 0,
    actor_type   TEXT,
    actor_id     TEXT,
    actor_email  TEXT,
    api_key_id   TEXT,
    project_id   TEXT,
    ip_address   TEXT,
    resource_id  TEXT,
    raw          TEXT NOT NULL
);
"""


#: The time index as versions 1-3 made it: the 1 -> 2 step makes exactly this, whatever comes later.
_V3_TIME_INDEX = "CREATE INDEX audit_logs_time ON audit_logs (effective_at, id)"


def _lookup_indexes(conn: sqlite3.Connection) -> set[str]:
    """The named indexes on `audit_logs` (not the UNIQUE constraint's own, which has no SQL)."""
    return {r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_logs' AND sql IS NOT NULL")}


def _to_v2(conn: sqlite3.Connection, hook: StepHook) -> None:
    from openapiopenai.archive._schema import (
        ID_INDEX,
        LEDGER_TABLES,
        SECONDARY_INDEXES,
        index_build_sorting,
        split_statements,
    )

    present = _lookup_indexes(conn)
    for name in present:
        conn.execute(f"DROP INDEX {name}")
    conn.execute("ALTER TABLE audit_logs RENAME TO audit_logs_v1")
    conn.execute(_V2_AUDIT_LOGS_TABLE)
    hook("table")
    columns = ", ".join(ROW_COLUMNS)
    conn.execute(f"INSERT INTO audit_logs (seq, {columns}) SELECT rowid, {columns} FROM audit_logs_v1 ORDER BY rowid")
    hook("copied")
    conn.execute("DROP TABLE audit_logs_v1")
    with index_build_sorting(conn):
        conn.execute(_V3_TIME_INDEX)
        # Only the lookup indexes the file had: one missing was dropped by a back-fill still in progress, whose
        # completion builds it (see `_sync`).
        for name, statement in SECONDARY_INDEXES.items():
            if name in present and name != ID_INDEX:
                conn.execute(statement)
    hook("indexed")
    for statement in split_statements(LEDGER_TABLES):
        conn.execute(statement)


def _to_v3(conn: sqlite3.Connection, hook: StepHook) -> None:
    from openapiopenai.archive._schema import (
        AUDIT_LOGS_TABLE,
        ID_INDEX,
        SECONDARY_INDEXES,
        index_build_sorting,
    )

    # Every index and trigger on the table, ours or not, is made again as it was (they go with the old table).
    kept = [str(r[0]) for r in conn.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'audit_logs' AND type IN ('index', 'trigger')"
        " AND sql IS NOT NULL ORDER BY type, name")]
    conn.execute(AUDIT_LOGS_TABLE.replace("CREATE TABLE audit_logs (", "CREATE TABLE audit_logs_v3 (", 1))
    hook("table")
    columns = ", ".join(ROW_COLUMNS)
    conn.execute(f"INSERT INTO audit_logs_v3 (seq, {columns}) SELECT seq, {columns} FROM audit_logs ORDER BY seq")
    hook("copied")
    # New table first, old dropped, new renamed (SQLite's own recipe for changing a table): views and other
    # tables that name `audit_logs` name the new one afterwards. The legacy rename neither rewrites nor
    # re-checks them, which a view naming the (for a moment) missing table would otherwise fail.
    conn.execute("DROP TABLE audit_logs")
    conn.execute("PRAGMA legacy_alter_table = ON")
    try:
        conn.execute("ALTER TABLE audit_logs_v3 RENAME TO audit_logs")
    finally:
        conn.execute("PRAGMA legacy_alter_table = OFF")
    with index_build_sorting(conn):
        for statement in kept:
            conn.execute(statement)
        # Version 2 always held ids unique (the column's constraint), so the id index is made whatever else a
        # back-fill in progress had dropped.
        conn.execute(SECONDARY_INDEXES[ID_INDEX])
    hook("indexed")


def _to_v4(conn: sqlite3.Connection, hook: StepHook) -> None:
    from openapiopenai.archive._schema import AUDIT_LOGS_TIME_INDEX, index_build_sorting

    conn.execute("DROP INDEX IF EXISTS audit_logs_time")
    hook("dropped")
    # Version 3 never let one (effective_at, id) in twice (its back-fill checked each row on this index,
    # and otherwise the id index held), so the unique index builds over what is there.
    with index_build_sorting(conn):
        conn.execute(AUDIT_LOGS_TIME_INDEX)
    hook("indexed")


#: version -> the step that brings an archive of that version to the next.
_STEPS: dict[int, Callable[[sqlite3.Connection, StepHook], None]] = {1: _to_v2, 2: _to_v3, 3: _to_v4}


def _no_hook(step: str) -> None:
    return None


def migrate(conn: sqlite3.Connection, target: int, *, hook: StepHook = _no_hook) -> int:
    """Migrate the archive on `conn` to schema `target`, one transaction per step; returns the version it
    started at. Raises `sqlite3.Error` (the file then still at its last complete version)."""
    start = int(conn.execute("PRAGMA user_version").fetchone()[0])
    version = start
    while version < target:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated while we waited for it.
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version >= target:
                conn.execute("ROLLBACK")
                break
            log.info("migrating the archive from schema %d to %d", version, version + 1)
            _STEPS[version](conn, hook)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            hook("commit")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        version += 1
    return start
