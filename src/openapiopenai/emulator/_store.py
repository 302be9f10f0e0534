"""The event store: SQLite, one row per event, its compact JSON text kept verbatim.

Pages are answered from indexes that end in (effective_at, id), the listing order, so a page costs one
index range scan of `limit + 1` rows whatever the filter. A filter with several values (two projects,
three types) becomes one range scan per value, merged by SQLite, since a single `IN` scan cannot come
out in time order. The response body is the stored texts joined, so no event is decoded per request.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from openapiopenai.emulator._generator import Generator, is_tenant_scoped

MAX_LIMIT = 100
# Beyond this many values a filter is answered by one scan in time order, not one scan per value
# (SQLite caps compound selects at 500 terms).
_MAX_UNION_TERMS = 64
_BATCH = 20_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    effective_at INTEGER NOT NULL,
    type TEXT NOT NULL,
    tenant INTEGER NOT NULL,
    project_id TEXT,
    actor_user_id TEXT,
    actor_sa_id TEXT,
    actor_key_id TEXT,
    actor_email TEXT,
    resource_id TEXT,
    raw BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# Every filter column gets an index ending in the listing order, so "newest matching after cursor"
# is a range scan; the unfiltered listing uses (tenant, effective_at, id).
_INDEXES = {
    "ux_id": "id",
    "ix_time": "tenant, effective_at, id",
    "ix_type": "type, effective_at, id",
    "ix_project": "project_id, effective_at, id",
    "ix_user": "actor_user_id, effective_at, id",
    "ix_sa": "actor_sa_id, effective_at, id",
    "ix_key": "actor_key_id, effective_at, id",
    "ix_email": "actor_email, effective_at, id",
    "ix_resource": "resource_id, effective_at, id",
}
_INSERT = (
    "INSERT INTO events (id, effective_at, type, tenant, project_id, actor_user_id, actor_sa_id,"
    " actor_key_id, actor_email, resource_id, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# Filter name -> the columns a value may match (actor ids match a user, a service account or a key).
_FILTER_COLUMNS: dict[str, tuple[str, ...]] = {
    "resource_ids": ("resource_id",),
    "actor_emails": ("actor_email",),
    "actor_ids": ("actor_user_id", "actor_sa_id", "actor_key_id"),
    "project_ids": ("project_id",),
    "event_types": ("type",),
}
# The index that serves a scan driven by each column. Named explicitly (INDEXED BY): without
# statistics SQLite's planner may pick the time index and walk a million rows for a rare value.
_COLUMN_INDEX = {
    "resource_id": "ix_resource", "actor_email": "ix_email", "actor_user_id": "ix_user",
    "actor_sa_id": "ix_sa", "actor_key_id": "ix_key", "project_id": "ix_project", "type": "ix_type",
}
_TIME_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


class CursorNotFound(LookupError):
    """An `after`/`before` id that names no stored event."""

    def __init__(self, param: str, value: str) -> None:
        super().__init__(value)
        self.param = param
        self.value = value


@dataclass(frozen=True)
class Page:
    ids: list[str]
    raws: list[bytes]
    has_more: bool


def index_row(event: Mapping[str, Any], raw: bytes) -> tuple[Any, ...]:
    """The indexed columns of one event, read from where the live service puts each field.

    A test oracle, labelled as such: this is the emulator's own, independent reading of an event's
    anatomy, written apart from the library's (`openapiopenai.anatomy`) on purpose, so the tests can hold
    the two to agreement on every generated event instead of checking the library against itself.
    """
    event_type = event["type"]
    project = event.get("project")
    actor = event.get("actor") or {}
    user_id = sa_id = key_id = email = None
    if actor.get("type") == "session":
        user = (actor.get("session") or {}).get("user") or {}
        user_id, email = user.get("id"), user.get("email")
    elif actor.get("type") == "api_key":
        api_key = actor.get("api_key") or {}
        key_id = api_key.get("id")
        user = api_key.get("user") or {}
        user_id, email = user.get("id"), user.get("email")
        sa_id = (api_key.get("service_account") or {}).get("id")
    payload = event.get(event_type)
    resource_id = payload.get("id") if isinstance(payload, dict) else None
    return (
        event["id"], event["effective_at"], event_type, int(is_tenant_scoped(event_type)),
        project.get("id") if isinstance(project, dict) else None,
        user_id, sa_id, key_id, email, resource_id if isinstance(resource_id, str) else None, raw,
    )


def matches(event: Mapping[str, Any], row: Sequence[Any], filters: Mapping[str, Any]) -> bool:
    """Plain-Python statement of the filter semantics, kept apart from the SQL so tests can compare."""
    tenant_only = bool(filters.get("tenant_only"))
    if bool(row[3]) != tenant_only:
        return False
    for op, bound in (filters.get("effective_at") or {}).items():
        ts = event["effective_at"]
        if not {"gt": ts > bound, "gte": ts >= bound, "lt": ts < bound, "lte": ts <= bound}[op]:
            return False
    values_by_filter = {
        "project_ids": {row[4]}, "event_types": {row[2]}, "actor_ids": {row[5], row[6], row[7]},
        "actor_emails": {row[8]}, "resource_ids": {row[9]},
    }
    for name, values in values_by_filter.items():
        wanted = filters.get(name)
        if wanted and not (values - {None}) & set(wanted):
            return False
    return True


class EventStore:
    """Audit-log events in SQLite (`db=None` or ":memory:" for memory, else a file path).

    Safe to share between the server's event loop and a test's thread: one connection, one lock.
    """

    def __init__(self, db: str | None = None) -> None:
        self.path = db or ":memory:"
        self._lock = threading.RLock()
        if self.path != ":memory:" and not os.path.exists(self.path):
            # Generated people's emails and IPs: private like an archive.
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._encoder = msgspec.json.Encoder()
        # An emulator's data is reproducible from its seed, so durability is traded for load speed;
        # a large cache and two sorter threads make building the indexes of a million rows quick.
        for pragma in ("synchronous=OFF", "temp_store=MEMORY", "cache_size=-262144", "threads=2"):
            self._conn.execute(f"PRAGMA {pragma}")
        self._conn.executescript(_SCHEMA)
        self._create_indexes()
        self._generator: Generator | None = None

    # -- writing ---------------------------------------------------------------------------------

    def _create_indexes(self) -> None:
        for name, columns in _INDEXES.items():
            unique = "UNIQUE " if name.startswith("ux_") else ""
            self._conn.execute(f"CREATE {unique}INDEX IF NOT EXISTS {name} ON events ({columns})")

    def _meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def generator(self) -> Generator:
        """The generator that completes partial events: the one of the seed this store was generated with."""
        with self._lock:
            if self._generator is None:
                seed = self._meta("seed")
                newer = self._meta("newer_types") == "1"
                self._generator = Generator(int(seed) if seed is not None else 1, newer_types=newer)
            return self._generator

    def generate(self, n_events: int, seed: int, *, days: float = 90.0, end: int | None = None,
                 newer_types: bool = False) -> int:
        """Add `n_events` generated events of organisation `seed`; the same arguments give the same bytes."""
        generator = Generator(seed, newer_types=newer_types)
        with self._lock:
            conn = self._conn
            empty = self.count() == 0
            conn.execute("BEGIN")
            try:
                if empty:
                    # Building the indexes once after a bulk load is several times faster than
                    # maintaining them row by row.
                    for name in _INDEXES:
                        conn.execute(f"DROP INDEX IF EXISTS {name}")
                conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                 [("seed", str(seed)), ("newer_types", "1" if newer_types else "0")])
                encode = self._encoder.encode
                for batch in generator.events(n_events, days=days, end=end, batch=_BATCH):
                    conn.executemany(_INSERT, [index_row(e, encode(e)) for e in batch])
                self._create_indexes()
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                self._create_indexes()
                raise
            self._generator = generator
        return n_events

    def insert(self, events: Iterable[Mapping[str, Any]], *, now: int | None = None) -> list[dict[str, Any]]:
        """Store full or partial events; partial ones are completed. Returns the events as stored.

        An event without `effective_at` happens now: at the wall-clock second, or at the newest stored
        second if that is later (a history generated into the future). Inserting an event identical to
        a stored one is a no-op, so a test may insert its fixture events again; a different event with a
        stored id, or a malformed one, raises ValueError.
        """
        generator = self.generator()
        with self._lock:
            if now is None:
                now = max(int(time.time()), self.newest_effective_at() or 0)
            completed: list[dict[str, Any]] = []
            taken: set[str] = set()
            for partial in events:
                _check_partial(partial)
                if partial.get("id") in taken:
                    raise ValueError(f"event id {partial['id']!r} appears twice")
                event = generator.complete(dict(partial), now=now, taken=taken)
                taken.add(event["id"])
                completed.append(event)
            rows = [index_row(e, self._encoder.encode(e)) for e in completed]
            stored = self._stored_raws([row[0] for row in rows])
            for row in rows:
                if row[0] in stored and stored[row[0]] != row[-1]:
                    raise ValueError(f"an event with id {row[0]!r} is already stored, with other content")
            self._conn.execute("BEGIN")
            self._conn.executemany(_INSERT, [row for row in rows if row[0] not in stored])
            self._conn.execute("COMMIT")
        return completed

    def _stored_raws(self, ids: list[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            sql = f"SELECT id, raw FROM events WHERE id IN ({','.join('?' * len(chunk))})"
            found.update((str(i), bytes(r)) for i, r in self._conn.execute(sql, chunk))
        return found

    def checkpoint(self) -> int:
        """A mark of what is stored now; `rollback(mark)` removes every event stored after it."""
        with self._lock:
            return int(self._conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0])

    def rollback(self, mark: int) -> int:
        """Remove the events stored after `checkpoint()` returned `mark`; returns how many."""
        with self._lock:
            return self._conn.execute("DELETE FROM events WHERE seq > ?", (mark,)).rowcount

    # -- reading ---------------------------------------------------------------------------------

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM events").fetchone()[0])

    def newest_effective_at(self) -> int | None:
        with self._lock:
            row = self._conn.execute("SELECT max(effective_at) FROM events").fetchone()
        return None if row[0] is None else int(row[0])

    def raw(self, event_id: str) -> str:
        """The event's stored JSON text, exactly as it appears in a response body."""
        with self._lock:
            row = self._conn.execute("SELECT raw FROM events WHERE id = ?", (event_id,)).fetchone()
        if row is None:
            raise KeyError(event_id)
        return bytes(row[0]).decode()

    def position(self, event_id: str) -> tuple[int, str] | None:
        with self._lock:
            row = self._conn.execute("SELECT effective_at FROM events WHERE id = ?", (event_id,)).fetchone()
        return None if row is None else (int(row[0]), event_id)

    def all_events(self, **filters: Any) -> list[dict[str, Any]]:
        """Every event matching `filters` (list_page's keywords), newest first, by a full scan in Python.

        Deliberately independent of the SQL behind `list_page`, so tests can check one against the other.
        """
        with self._lock:
            raws = [bytes(r[0]) for r in self._conn.execute("SELECT raw FROM events")]
        decode = msgspec.json.decode
        selected = []
        for raw in raws:
            event = decode(raw)
            if matches(event, index_row(event, raw), filters):
                selected.append(event)
        selected.sort(key=lambda e: (e["effective_at"], e["id"]), reverse=True)
        return selected

    def list_page(self, *, limit: int = 20, after: str | None = None, before: str | None = None,
                  effective_at: Mapping[str, int] | None = None, project_ids: Sequence[str] = (),
                  event_types: Sequence[str] = (), actor_ids: Sequence[str] = (),
                  actor_emails: Sequence[str] = (), resource_ids: Sequence[str] = (),
                  tenant_only: bool = False) -> Page:
        """One page in listing order (newest first), as the endpoint answers it.

        `after` continues towards older events, `before` towards newer ones; either way the page comes
        back newest first and `has_more` tells whether more lie beyond it in that direction. Both
        together bound the range on both sides (older than `after` and newer than `before`, spec
        README): the page walks from `after` towards older events and stops at `before`.
        """
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be within 1..{MAX_LIMIT}")
        cursor_id = after if after is not None else before
        older = after is not None or before is None
        bounds = dict(effective_at or {})
        position = None
        if cursor_id is not None:
            position = self.position(cursor_id)
            if position is None:
                raise CursorNotFound("after" if after is not None else "before", cursor_id)
            position = _narrow(bounds, position, older)
        floor = None  # `before` as the lower bound of an `after` walk
        if after is not None and before is not None:
            floor = self.position(before)
            if floor is None:
                raise CursorNotFound("before", before)
        where = ["tenant = ?"]
        args: list[Any] = [int(tenant_only)]
        for op, bound in bounds.items():
            where.append(f"effective_at {_TIME_OPS[op]} ?")
            args.append(bound)
        if position is not None:
            where.append("(effective_at, id) < (?, ?)" if older else "(effective_at, id) > (?, ?)")
            args.extend(position)
        if floor is not None:
            where.append("(effective_at, id) > (?, ?)")
            args.extend(floor)
        order = "DESC" if older else "ASC"
        filters = {"resource_ids": resource_ids, "actor_emails": actor_emails, "actor_ids": actor_ids,
                   "project_ids": project_ids, "event_types": event_types}
        # Drive the scan by the most selective filter with values; the others are checked per row.
        driver = next((name for name, values in filters.items() if values), None)
        for name, values in filters.items():
            if values and name != driver:
                where.append(_in_clause(_FILTER_COLUMNS[name], len(values)))
                args.extend(list(values) * len(_FILTER_COLUMNS[name]))
        sql, sql_args = _page_sql(where, args, driver, filters, order, limit + 1)
        with self._lock:
            rows = self._conn.execute(sql, sql_args).fetchall()
        has_more = len(rows) > limit
        rows = rows[:limit]
        if not older:
            rows.reverse()
        return Page([r[0] for r in rows], [r[1] for r in rows], has_more)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _narrow(bounds: dict[str, int], position: tuple[int, str], older: bool) -> tuple[int, str] | None:
    """Drop whichever of the cursor and the time bounds on the same side the other implies.

    SQLite bounds an index scan by one constraint per side; left with both a cursor far outside a time
    range and the range, it may start from the looser one and walk many rows for nothing. Returns the
    cursor position, or None when a time bound makes it redundant (`bounds` is edited in place).
    """
    ts = position[0]
    if older:
        if ("lt" in bounds and bounds["lt"] <= ts) or ("lte" in bounds and bounds["lte"] < ts):
            return None
        # Otherwise the cursor implies both upper bounds.
        bounds.pop("lt", None)
        bounds.pop("lte", None)
    else:
        if ("gt" in bounds and bounds["gt"] >= ts) or ("gte" in bounds and bounds["gte"] > ts):
            return None
        bounds.pop("gt", None)
        bounds.pop("gte", None)
    return position


def _in_clause(columns: tuple[str, ...], n: int) -> str:
    marks = ",".join("?" * n)
    return "(" + " OR ".join(f"{column} IN ({marks})" for column in columns) + ")"


def _page_sql(where: list[str], args: list[Any], driver: str | None, filters: Mapping[str, Sequence[str]],
              order: str, fetch: int) -> tuple[str, list[Any]]:
    ordering = f"ORDER BY effective_at {order}, id {order}"
    values = list(filters[driver]) if driver is not None else []
    columns = _FILTER_COLUMNS[driver] if driver is not None else ()
    terms = [(column, value) for column in columns for value in dict.fromkeys(values)]
    if not terms or len(terms) > _MAX_UNION_TERMS:
        if terms:
            where = [*where, _in_clause(columns, len(values))]
            args = args + values * len(columns)
        sql = f"SELECT id, raw FROM events INDEXED BY ix_time WHERE {' AND '.join(where)} {ordering} LIMIT ?"
        return sql, [*args, fetch]
    # One index range scan per (column, value), each cut at `fetch` rows, then merged. UNION (not ALL)
    # drops an event found twice, e.g. by its key id and by its user id in the same actor_ids filter.
    # The merge carries row numbers, not texts: only the `fetch` winners have their text copied out.
    condition = " AND ".join(where)
    parts = []
    sql_args: list[Any] = []
    for column, value in terms:
        parts.append(f"SELECT * FROM (SELECT effective_at, id, seq FROM events INDEXED BY {_COLUMN_INDEX[column]}"
                     f" WHERE {column} = ? AND {condition} {ordering} LIMIT ?)")
        sql_args.extend([value, *args, fetch])
    merged = f"SELECT seq, effective_at, id FROM ({' UNION '.join(parts)}) {ordering} LIMIT ?"
    sql = (f"SELECT e.id, e.raw FROM ({merged}) AS u JOIN events AS e ON e.seq = u.seq"
           f" ORDER BY u.effective_at {order}, u.id {order}")
    return sql, [*sql_args, fetch]


def _check_partial(partial: Mapping[str, Any]) -> None:
    if not isinstance(partial, Mapping):
        raise ValueError("each event must be a JSON object")
    for key, kind in (("id", str), ("type", str), ("effective_at", int)):
        value = partial.get(key)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise ValueError(f"{key!r} must be a {kind.__name__}")
