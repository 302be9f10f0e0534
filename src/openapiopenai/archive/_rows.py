"""The `audit_logs` row of an event: its raw JSON plus the lookup columns copied out of it.

`event_row` reads the columns from a decoded event (a dict or a model), wherever the live service puts
them. `page_row` gives the same row for an event straight from a page, and is the sync's hot path: the
page parser keeps each event's exact bytes and decodes only its head (id, type, effective_at), so
instead of decoding the whole body into dicts it decodes just the handful of fields the columns need
into typed structs (about four times cheaper). Anything of a shape the structs do not expect (a number
where a string was, an actor that is not an object, a type named like a column) goes the general way,
so both always give the same row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec

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


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def event_row(event: Mapping[str, Any], raw: str, *, tenant: bool) -> tuple[Any, ...]:
    """The `audit_logs` row for one event, reading each field where the live service puts it.

    The caller has checked `id`, `effective_at` and `type`; everything else is optional and a value of an
    unexpected shape is simply not indexed (it is still in `raw`).
    """
    event_type = event["type"]
    actor = event.get("actor")
    actor_type = actor_id = email = key_id = ip = None
    if isinstance(actor, dict):
        actor_type = _str_or_none(actor.get("type"))
        user: Any = None
        if actor_type == "session":
            session = actor.get("session")
            if isinstance(session, dict):
                user = session.get("user")
                ip = _str_or_none(session.get("ip_address"))
        elif actor_type == "api_key":
            api_key = actor.get("api_key")
            if isinstance(api_key, dict):
                key_id = _str_or_none(api_key.get("id"))
                user = api_key.get("user")
                account = api_key.get("service_account")
                if isinstance(account, dict):
                    actor_id = _str_or_none(account.get("id"))
        if isinstance(user, dict):
            actor_id = _str_or_none(user.get("id")) or actor_id
            email = _str_or_none(user.get("email"))
    project = event.get("project")
    project_id = _str_or_none(project.get("id")) if isinstance(project, dict) else None
    payload = event.get(event_type)
    resource_id = _str_or_none(payload.get("id")) if isinstance(payload, dict) else None
    return (event["id"], event["effective_at"], event_type, int(tenant), actor_type, actor_id, email,
            key_id, project_id, ip, resource_id, raw)


# -- the fast path: only the fields the columns need, decoded into structs ---------------------------
# Unknown fields are skipped by the decoder without building anything; `None` defaults stand for absent
# keys and JSON nulls alike, as `.get()` does in `event_row`.

class _Ref(msgspec.Struct):
    id: str | None = None


class _User(msgspec.Struct):
    id: str | None = None
    email: str | None = None


class _Session(msgspec.Struct):
    user: _User | None = None
    ip_address: str | None = None


class _ApiKey(msgspec.Struct):
    id: str | None = None
    user: _User | None = None
    service_account: _Ref | None = None


class _Actor(msgspec.Struct):
    type: str | None = None
    session: _Session | None = None
    api_key: _ApiKey | None = None


#: One decoder per event type, since the payload sits under a key named after the type.
_decoders: dict[str, Callable[[Any], Any]] = {}
#: Types are a short list; a service inventing endless new ones gets the general path past this many.
_MAX_DECODERS = 512


def _decoder(event_type: str) -> Callable[[Any], Any] | None:
    decode = _decoders.get(event_type)
    if decode is None:
        if event_type in ("actor", "project") or len(_decoders) >= _MAX_DECODERS:
            return None
        fields = msgspec.defstruct("_Columns", [
            ("actor", _Actor | None, None),
            ("project", _Ref | None, None),
            ("payload", _Ref | None, msgspec.field(default=None, name=event_type)),
        ])
        decode = _decoders[event_type] = msgspec.json.Decoder(fields).decode
    return decode


def page_row(event: Any, *, tenant: bool) -> tuple[Any, ...]:
    """`event_row` for an event parsed from a page, reading the columns from its raw bytes."""
    head: tuple[str, str, int] | None = getattr(event, "_head", None)
    raw: bytes | msgspec.Raw | None = getattr(event, "_raw", None)
    if head is None or raw is None or (decode := _decoder(head[1])) is None:
        return event_row(event, event.raw_json, tenant=tenant)
    try:
        cols = decode(raw)
    except msgspec.DecodeError:   # an unexpected shape somewhere: the general path copes with any
        return event_row(event, event.raw_json, tenant=tenant)
    event_id, event_type, effective_at = head
    actor_type = actor_id = email = key_id = ip = None
    actor = cols.actor
    if actor is not None:
        actor_type = actor.type or None
        user = None
        if actor_type == "session":
            session = actor.session
            if session is not None:
                user = session.user
                ip = session.ip_address or None
        elif actor_type == "api_key":
            api_key = actor.api_key
            if api_key is not None:
                key_id = api_key.id or None
                user = api_key.user
                if api_key.service_account is not None:
                    actor_id = api_key.service_account.id or None
        if user is not None:
            actor_id = user.id or actor_id
            email = user.email or None
    project, payload = cols.project, cols.payload
    return (event_id, effective_at, event_type, int(tenant), actor_type, actor_id, email, key_id,
            None if project is None else project.id or None, ip,
            None if payload is None else payload.id or None, str(raw, "utf-8"))
