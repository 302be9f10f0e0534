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
"""

from __future__ import annotations

import operator
import sqlite3
from collections.abc import Iterator
from typing import Any

import msgspec

from openapiopenai.anatomy import facts_from_json
from openapiopenai.fields import FIELDS, Field

__all__ = ["KIND_INDEX", "TABLE", "TABLE_COLUMNS", "catch_up", "table_sql"]

TABLE = "detect_fields"
KIND_INDEX = "detect_fields_kind"
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
# most events name none of them and skip the full decode.
_EXTRA_KEYS = tuple({f'"{p.rsplit(".", 1)[-1]}"'.encode() for f in _EXTRA for p in f.source.paths})


def table_sql(*, temporary: bool = False) -> list[str]:
    """The statements creating the table and its index (``IF NOT EXISTS``)."""
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
    if any(k in raw for k in _EXTRA_KEYS):
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


def catch_up(conn: sqlite3.Connection, *, readonly: bool, since: int | None = None) -> int:
    """Add the rows archived since the last call; returns how many. Read-only: fill a TEMP table
    (only events from ``since`` on, when given, since nothing is kept for the next run)."""
    insert = f"INSERT OR REPLACE INTO {TABLE} ({', '.join(TABLE_COLUMNS)}) VALUES ({', '.join('?' * len(TABLE_COLUMNS))})"
    if readonly:
        for statement in table_sql(temporary=True):
            conn.execute(statement)
        after = int(conn.execute(f"SELECT coalesce(max(seq), 0) FROM temp.{TABLE}").fetchone()[0])
        added = 0
        for rows in _pending(conn, after, since):
            conn.executemany(insert, rows)
            added += len(rows)
        return added
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in table_sql():
            conn.execute(statement)
        after = int(conn.execute(f"SELECT coalesce(max(seq), 0) FROM main.{TABLE}").fetchone()[0])
        added = 0
        for rows in _pending(conn, after, None):
            conn.executemany(insert, rows)
            added += len(rows)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return added
