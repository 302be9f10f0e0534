"""The `audit_logs` row of an event: its raw JSON plus the lookup columns copied out of it.

Every column is a fact from `openapiopenai.anatomy`, which says where the live service puts each one and
settles the cases earlier copies disagreed on (a wrong-typed or empty value is NULL; the actor's `type`
decides whether the session's or the key's user is read). `event_row` reads a decoded event (a dict or a
model); `head_rows` gives the same rows for the events of a page the sync read (`_page`), its hot path:
the page is split into each event's exact bytes and its head (id, type, effective_at), and
`anatomy.index_facts_from_json` decodes just the fields the columns come from into typed structs instead
of the whole body into dicts (falling back to the general reading for any shape the structs do not expect).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from itertools import chain
from typing import Any

import msgspec

from openapiopenai.anatomy import EventFacts, facts, index_facts_from_json
from openapiopenai.archive._schema import ID_INDEX

__all__ = ["INSERT_SQL", "ROW_COLUMNS", "event_row", "has_id_index", "head_rows", "insert_rows"]

#: The columns of `audit_logs`, in the order `event_row` produces them and `iter_rows` returns them.
ROW_COLUMNS = ("id", "effective_at", "type", "tenant", "actor_type", "actor_id", "actor_email",
               "api_key_id", "project_id", "ip_address", "resource_id", "raw")
#: One row, ignored if its id (or its (effective_at, id)) is held.
INSERT_SQL = f"INSERT OR IGNORE INTO audit_logs ({', '.join(ROW_COLUMNS)}) VALUES ({', '.join('?' * len(ROW_COLUMNS))})"


#: Rows per multi-row INSERT. One statement per page means one sqlite3_step, so the writer gives up the
#: GIL once per page instead of once per row; per row, it had to win the GIL back from the fetcher
#: threads a hundred times a page (the sync measured 2.5x more wall than CPU time). Bounded by the
#: host-parameter limit: 32766 since SQLite 3.32, 999 before.
_ROWS_PER_INSERT = 100 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999 // len(ROW_COLUMNS)
_ROW_SQL = "(" + ", ".join("?" * len(ROW_COLUMNS)) + ")"
_INSERT_HEAD = f"INSERT OR IGNORE INTO audit_logs ({', '.join(ROW_COLUMNS)}) VALUES "


def insert_rows(conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    """Insert rows the archive does not hold yet; returns how many were new.

    OR IGNORE absorbs an event held already, or twice in `rows` (each row of a statement sees the ones
    before it): by the id index, or, while a back-fill walks without it (`_schema.ID_INDEX`), by the
    unique (effective_at, id) index, which is the same test.
    """
    inserted = 0
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start:start + _ROWS_PER_INSERT]
        sql = _INSERT_HEAD + ", ".join([_ROW_SQL] * len(chunk))
        inserted += max(0, conn.execute(sql, list(chain.from_iterable(chunk))).rowcount)
    return inserted


def has_id_index(conn: sqlite3.Connection) -> bool:
    """Whether the archive has its unique id index now (absent while a first back-fill runs)."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (ID_INDEX,)
                        ).fetchone() is not None


def event_row(event: Mapping[str, Any], raw: str, *, tenant: bool) -> tuple[Any, ...]:
    """The `audit_logs` row for one event, each column read by `openapiopenai.anatomy`.

    The caller has checked `id`, `effective_at` and `type`; everything else is optional and a value of an
    unexpected shape is simply not indexed (it is still in `raw`).
    """
    return _row(facts(event), event["id"], event["effective_at"], event["type"], tenant, raw)


def _row(f: EventFacts, event_id: str, effective_at: int, event_type: str, tenant: bool, raw: str) -> tuple[Any, ...]:
    return (event_id, effective_at, event_type, int(tenant), f.actor_type, f.actor_id, f.user_email,
            f.api_key_id, f.project_id, f.ip_address, f.target_id, raw)


def head_rows(heads: Sequence[Any], raws: Sequence[msgspec.Raw], *, tenant: bool) -> list[tuple[Any, ...]]:
    """`event_row` for each event of a page the sync read (`_page.SyncPage`), from its head and its bytes."""
    return [_row(index_facts_from_json(raw, h.type), h.id, h.effective_at, h.type, tenant, str(raw, "utf-8"))
            for h, raw in zip(heads, raws, strict=True)]
