"""The `audit_logs` row of an event: its raw JSON plus the lookup columns copied out of it.

Every column is a fact from `openapiopenai.anatomy`, which says where the live service puts each one and
settles the cases earlier copies disagreed on (a wrong-typed or empty value is NULL; the actor's `type`
decides whether the session's or the key's user is read). `event_row` reads a decoded event (a dict or a
model); `head_rows` gives the same rows for the events of a page the sync read (`_page`), its hot path.

The hot path reads as little as it can: the page is already split into each event's exact bytes and its
head (id, type, effective_at). The actor's columns follow from the actor's bytes alone and the project's
from the project's (`anatomy.facts_payload_and_sources_from_json` says so), and a log names the same few
actors and projects again and again (83 distinct actors in 60,000 emulator events), so each distinct
text is read once, by `anatomy.facts`, and its columns kept by the text. Per event only the payload's
`id` (the resource column) is decoded. An event of a shape the structs do not expect takes
`anatomy.index_facts_from_json`, which copes with any.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from itertools import chain
from typing import Annotated, Any

import msgspec

from openapiopenai.anatomy import EventFacts, facts, index_facts_from_json

__all__ = ["INSERT_SQL", "ROW_COLUMNS", "event_row", "head_rows", "insert_rows"]

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
    flag = int(tenant)
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    actors, projects = _actors, _projects
    for h, raw in zip(heads, raws, strict=True):
        event_type = h.type
        decode = _parts_decoders.get(event_type) or _parts_decoder(event_type)
        try:
            parts = None if decode is None else decode(raw)
        except msgspec.DecodeError:
            parts = None
        if parts is None:   # a shape the structs do not expect, or a type named like a head key
            append(_row(index_facts_from_json(raw, event_type), h.id, h.effective_at, event_type, tenant,
                        str(raw, "utf-8")))
            continue
        actor, project = bytes(parts.actor), bytes(parts.project)
        a = actors.get(actor) or _actor_columns(actor)
        p = projects.get(project, _UNREAD)
        if p is _UNREAD:
            p = _project_column(project)
        append((h.id, h.effective_at, event_type, flag, a[0], a[1], a[2], a[3], p, a[4], parts.payload.id,
                str(raw, "utf-8")))
    return rows


class _PayloadId(msgspec.Struct, gc=False, frozen=True):
    # As anatomy's structs read it: an empty or non-string id is not this shape (the general path reads it).
    id: Annotated[str, msgspec.Meta(min_length=1)] | None = None


_ABSENT = msgspec.Raw(b"")
_NO_PAYLOAD = _PayloadId()
#: Head keys: a type named like one of them puts its payload under a key the head already uses.
_HEAD_KEYS = frozenset({"id", "type", "effective_at", "actor", "project"})
#: One decoder per event type, since the payload sits under a key named after the type; bounded, so a
#: service inventing endless types gets the general path past this many.
_MAX_DECODERS = 512
_parts_decoders: dict[str, Callable[[Any], Any]] = {}


def _parts_decoder(event_type: str) -> Callable[[Any], Any] | None:
    if event_type in _HEAD_KEYS or len(_parts_decoders) >= _MAX_DECODERS:
        return None
    shape = msgspec.defstruct("_RowParts", [
        ("actor", msgspec.Raw, msgspec.field(default=_ABSENT)),
        ("project", msgspec.Raw, msgspec.field(default=_ABSENT)),
        ("payload", _PayloadId, msgspec.field(default=_NO_PAYLOAD, name=event_type)),
    ], gc=False)
    decode = _parts_decoders[event_type] = msgspec.json.Decoder(shape).decode
    return decode


#: The columns read from each distinct actor text (actor_type, actor_id, actor_email, api_key_id,
#: ip_address) and project text (project_id). Bounded: past the limit a new text is read every time.
_MAX_CACHED = 8192
_actors: dict[bytes, tuple[Any, ...]] = {}
_projects: dict[bytes, str | None] = {}
_UNREAD: Any = object()


def _decoded(text: bytes) -> Any:
    """The part's JSON (valid: the event it came from decoded), None when the event has none."""
    return msgspec.json.decode(text) if text else None


def _actor_columns(text: bytes) -> tuple[Any, ...]:
    f = facts({"actor": _decoded(text)})
    columns = (f.actor_type, f.actor_id, f.user_email, f.api_key_id, f.ip_address)
    if len(_actors) < _MAX_CACHED:
        _actors[text] = columns
    return columns


def _project_column(text: bytes) -> str | None:
    project_id = facts({"project": _decoded(text)}).project_id
    if len(_projects) < _MAX_CACHED:
        _projects[text] = project_id
    return project_id
