"""The `audit_logs` row of an event: its raw JSON plus the lookup columns copied out of it.

Every column is a fact from `openapiopenai.anatomy`, which says where the live service puts each one and
settles the cases earlier copies disagreed on (a wrong-typed or empty value is NULL; the actor's `type`
decides whether the session's or the key's user is read). `event_row` reads a decoded event (a dict or a
model); `page_row` gives the same row for an event straight from a page, and is the sync's hot path: the
page parser keeps each event's exact bytes and decodes only its head (id, type, effective_at), and
`anatomy.index_facts_from_json` decodes just the fields the columns come from into typed structs instead
of the whole body into dicts (falling back to the general reading for any shape the structs do not expect).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from openapiopenai.anatomy import EventFacts, facts, index_facts_from_json

__all__ = ["INSERT_SQL", "ROW_COLUMNS", "event_row", "insert_rows", "page_row"]

#: The columns of `audit_logs`, in the order `event_row` produces them and `iter_rows` returns them.
ROW_COLUMNS = ("id", "effective_at", "type", "tenant", "actor_type", "actor_id", "actor_email",
               "api_key_id", "project_id", "ip_address", "resource_id", "raw")
INSERT_SQL = f"INSERT OR IGNORE INTO audit_logs ({', '.join(ROW_COLUMNS)}) VALUES ({', '.join('?' * len(ROW_COLUMNS))})"


#: Rows per multi-row INSERT. One statement per page means one sqlite3_step, so the writer gives up the
#: GIL once per page instead of once per row; per row, it had to win the GIL back from the fetcher
#: threads a hundred times a page (the sync measured 2.5x more wall than CPU time). Bounded by the
#: host-parameter limit: 32766 since SQLite 3.32, 999 before.
_ROWS_PER_INSERT = 100 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999 // len(ROW_COLUMNS)
_ROW_SQL = "(" + ", ".join("?" * len(ROW_COLUMNS)) + ")"
_INSERT_HEAD = f"INSERT OR IGNORE INTO audit_logs ({', '.join(ROW_COLUMNS)}) VALUES "


def insert_rows(conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    """Insert rows the primary key has not seen; returns how many were new."""
    inserted = 0
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start:start + _ROWS_PER_INSERT]
        sql = _INSERT_HEAD + ", ".join([_ROW_SQL] * len(chunk))
        inserted += max(0, conn.execute(sql, [v for row in chunk for v in row]).rowcount)
    return inserted


def event_row(event: Mapping[str, Any], raw: str, *, tenant: bool) -> tuple[Any, ...]:
    """The `audit_logs` row for one event, each column read by `openapiopenai.anatomy`.

    The caller has checked `id`, `effective_at` and `type`; everything else is optional and a value of an
    unexpected shape is simply not indexed (it is still in `raw`).
    """
    return _row(facts(event), event["id"], event["effective_at"], event["type"], tenant, raw)


def _row(f: EventFacts, event_id: str, effective_at: int, event_type: str, tenant: bool, raw: str) -> tuple[Any, ...]:
    return (event_id, effective_at, event_type, int(tenant), f.actor_type, f.actor_id, f.user_email,
            f.api_key_id, f.project_id, f.ip_address, f.target_id, raw)


def page_row(event: Any, *, tenant: bool) -> tuple[Any, ...]:
    """`event_row` for an event parsed from a page, reading the columns from its raw bytes."""
    head: tuple[str, str, int] | None = getattr(event, "_head", None)
    raw: bytes | msgspec.Raw | None = getattr(event, "_raw", None)
    if head is None or raw is None:
        return event_row(event, event.raw_json, tenant=tenant)
    event_id, event_type, effective_at = head
    return _row(index_facts_from_json(raw, event_type), event_id, effective_at, event_type, tenant, str(raw, "utf-8"))
