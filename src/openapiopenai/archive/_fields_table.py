"""``detect_fields``: the ``events`` view's columns kept as a plain table, for the detections.

Why a table beside the view: the view computes a column with SQLite's JSON functions each time a row is
read, about 4 us to reach and parse an event plus 1.5 us per column; a rule set of thirty rules over a
million events re-reads the same rows rule after rule (measured: 170 s for the shipped rules at 1M
events). Here each event is read once, in Python with ``anatomy.facts_from_json`` (the sync's own fast
decoder, a few microseconds an event), and every rule is then an index lookup on small rows.

It is a cache of ``audit_logs`` and nothing else: rows are keyed by ``audit_logs.rowid`` (the
``archived_seq`` of the view), `catch_up` adds the rows archived since its last call, and the tests hold
every row to the view's. A writable archive keeps it in the file (so later runs only add what is new);
a read-only one gets a TEMP table filled for the run.

What a build costs, per event (CPU, measured at 1M events): reading the row ~2.5 us, the facts ~6 us,
the insert of ~38 columns ~14 us, and keeping two indexes on it during the insert as much again. So a
first build inserts into the bare table and sorts each index once at the end (as the archive's own
back-fill does), and the rows are plain INSERTs: every seq added is above the table's last.

Events are only ever added to ``audit_logs``, with one exception: the de-duplication when the id index
is built after a back-fill (`archive._schema`) deletes rows, and SQLite may then hand a deleted seq to the
next event. A trigger (``detect_fields_forget``) deletes the same seq here, so the table can never keep a
row the archive no longer has; the migrations copy every seq as it is and carry the trigger with the
table. A table from before the trigger is checked once against the archive, and rebuilt if it differs.
"""

from __future__ import annotations

import operator
import re
import sqlite3
from collections.abc import Iterator
from typing import Any

import msgspec

from openapiopenai.anatomy import facts_from_json
from openapiopenai.fields import FIELDS, Field

__all__ = ["KIND_INDEX", "TABLE", "TABLE_COLUMNS", "catch_up", "table_sql"]

TABLE = "detect_fields"
KIND_INDEX = "detect_fields_kind"
TRIGGER = "detect_fields_forget"
_HEAD = ("id", "effective_at", "type", "tenant")
#: The fields read from anatomy's facts, then those beyond them; `time` is a generated column.
_FACTS: tuple[Field, ...] = tuple(f for f in FIELDS if f.fact is not None and f.name not in _HEAD)
_EXTRA: tuple[Field, ...] = tuple(f for f in FIELDS if f.fact is None and f.source.kind == "payload")
#: The stored columns, in insert order (every field of the view but `payload`, the largest and of no use
#: to a rule, and `time`, computed from `effective_at` when read).
TABLE_COLUMNS: tuple[str, ...] = ("seq", *_HEAD, *(f.name for f in _FACTS), *(f.name for f in _EXTRA))
_BATCH = 5000
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode
_read_facts = operator.attrgetter(*(f.fact for f in _FACTS if f.fact is not None))
_SCOPES_AT = [f.name for f in _FACTS].index("scopes")
# A field beyond the facts is read from the decoded event only when the raw text names its last key:
# most events name none of them and skip the full decode. One regular expression finds any of them in
# one pass (1.4 us an event, where a `in` per key took 3.4 us).
_EXTRA_KEYS = re.compile(b"|".join(sorted({re.escape(f'"{p.rsplit(".", 1)[-1]}"'.encode())
                                           for f in _EXTRA for p in f.source.paths})))


def table_sql(*, temporary: bool = False) -> list[str]:
    """The statements creating the table, then its indexes (``IF NOT EXISTS``)."""
    schema = "temp." if temporary else ""
    typed = {"effective_at": "INTEGER NOT NULL", "tenant": "INTEGER", "id": "TEXT NOT NULL", "type": "TEXT NOT NULL"}
    columns = ",\n    ".join(f"{name} {typed.get(name, 'TEXT')}" for name in TABLE_COLUMNS[1:])
    return [
        f"CREATE {'TEMP ' if temporary else ''}TABLE IF NOT EXISTS {TABLE} (\n"
        f"    seq INTEGER PRIMARY KEY,   -- audit_logs.rowid: the events view's archived_seq\n    {columns},\n"
        f"    time TEXT GENERATED ALWAYS AS (strftime('%Y-%m-%dT%H:%M:%SZ', effective_at, 'unixepoch')) VIRTUAL\n)",
        f"CREATE INDEX IF NOT EXISTS {schema}{TABLE}_type ON {TABLE} (type, effective_at)",
        # Rules narrow on `type` as Sigma compares it, case-insensitively (`=` or `LIKE`, which no index on
        # `type` itself answers): `rules._engine` names this index for every rule bounded by type.
        f"CREATE INDEX IF NOT EXISTS {schema}{KIND_INDEX} ON {TABLE} (lower(type), effective_at)",
    ]


def _row(seq: int, event_id: str, effective_at: int, event_type: str, tenant: int, raw: bytes) -> tuple[Any, ...]:
    values = list(_read_facts(facts_from_json(raw, event_type)))
    scopes = values[_SCOPES_AT]
    if scopes is not None:
        values[_SCOPES_AT] = _encode(list(scopes)).decode()
    if _EXTRA_KEYS.search(raw) is not None:
        event = _decode(raw)
        extra = [f.read(event) for f in _EXTRA]
    else:
        extra = [None] * len(_EXTRA)
    return (seq, event_id, effective_at, event_type, tenant, *values, *extra)


def _pending(conn: sqlite3.Connection, after: int, since: int | None) -> Iterator[list[tuple[Any, ...]]]:
    sql = "SELECT rowid, id, effective_at, type, tenant, CAST(raw AS BLOB) FROM main.audit_logs WHERE rowid > ?"
    args: list[Any] = [after]
    if since is not None:
        sql += " AND effective_at >= ?"
        args.append(since)
    cursor = conn.execute(sql + " ORDER BY rowid", args)
    try:
        while batch := cursor.fetchmany(_BATCH):
            yield [_row(*r) for r in batch]
    finally:
        cursor.close()


_INSERT = f"INSERT INTO {TABLE} ({', '.join(TABLE_COLUMNS)}) VALUES ({', '.join('?' * len(TABLE_COLUMNS))})"
_TRIGGER_SQL = (f"CREATE TRIGGER IF NOT EXISTS {TRIGGER} AFTER DELETE ON audit_logs"
                f" BEGIN DELETE FROM {TABLE} WHERE seq = old.rowid; END")


def _fill(conn: sqlite3.Connection, statements: list[str], schema: str, since: int | None) -> int:
    """Create what is missing and add the rows after the table's last; a new table gets its indexes after
    its rows (one sort each instead of a leaf insert per row and index)."""
    fresh = conn.execute(f"SELECT 1 FROM {schema}.sqlite_master WHERE name = ?", (TABLE,)).fetchone() is None
    conn.execute(statements[0])
    if not fresh:
        for statement in statements[1:]:
            conn.execute(statement)
    after = int(conn.execute(f"SELECT coalesce(max(seq), 0) FROM {schema}.{TABLE}").fetchone()[0])
    added = 0
    for rows in _pending(conn, after, since):
        conn.executemany(_INSERT, rows)
        added += len(rows)
    if fresh:
        for statement in statements[1:]:
            conn.execute(statement)
    return added


def _consistent(conn: sqlite3.Connection) -> bool:
    """Whether the table holds exactly the archive's rows up to its last seq, with the same ids (a row
    deleted since, or a seq handed to another event, shows in one or the other)."""
    last = conn.execute(f"SELECT seq, id FROM main.{TABLE} ORDER BY seq DESC LIMIT 1").fetchone()
    if last is None:
        return True
    kept = conn.execute(f"SELECT count(*) FROM main.{TABLE}").fetchone()[0]
    # All rows counted on the smallest index, less those after `last` (read by rowid): counting `seq <= last`
    # by rowid would read every event's page.
    archived, later, same_id = conn.execute(
        "SELECT (SELECT count(*) FROM main.audit_logs), (SELECT count(*) FROM main.audit_logs WHERE seq > :last),"
        " (SELECT id FROM main.audit_logs WHERE seq = :last)", {"last": last[0]}).fetchone()
    return bool(archived - later == kept and same_id == last[1])


def catch_up(conn: sqlite3.Connection, *, readonly: bool, since: int | None = None) -> int:
    """Add the rows archived since the last call; returns how many. Read-only: fill a TEMP table
    (only events from ``since`` on, when given, since nothing is kept for the next run)."""
    if readonly:
        return _fill(conn, table_sql(temporary=True), "temp", since)
    conn.execute("BEGIN IMMEDIATE")
    try:
        kept = {name for (name,) in conn.execute(
            "SELECT name FROM main.sqlite_master WHERE name IN (?, ?)", (TABLE, TRIGGER))}
        if kept == {TABLE} and not _consistent(conn):
            conn.execute(f"DROP TABLE IF EXISTS main.{TABLE}")   # a table from before the trigger, gone stale
        added = _fill(conn, table_sql(), "main", None)
        conn.execute(_TRIGGER_SQL)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return added
