"""`Archive`: the local SQLite file of audit-log events, and the queries the CLI runs on it.

Each event is stored as the service's own JSON text (`raw`) next to a few columns copied out of it
(actor, project, ip, resource) so the common questions are index lookups. The columns are a cache of
`raw`, never a replacement: exports and `iter_raw` return `raw` unchanged. The lookup indexes are absent
while a first back-fill runs (see `_sync`); every query here still answers then, only slower.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from openapiopenai.archive._errors import ArchiveError
from openapiopenai.archive._filters import Filters
from openapiopenai.archive._held import hold, release
from openapiopenai.archive._rows import INSERT_SQL, ROW_COLUMNS, event_row
from openapiopenai.archive._schema import open_archive_db
from openapiopenai.archive._state import SyncState, describe_states

__all__ = ["INSERT_SQL", "ROW_COLUMNS", "ActorCount", "Archive", "ArchiveSummary", "event_row"]


def where_clause(filters: Filters | None, *, both_partitions: bool = False) -> tuple[str, list[Any]]:
    """SQL condition (with its arguments) selecting what the service would return for `filters`.

    ``None`` selects every stored event. A `Filters` value selects like the service does, including
    the tenant partition: without `tenant_only` tenant-scoped events are not returned, unless
    `both_partitions` asks for the organisation-level and tenant-scoped listings together.
    """
    if filters is None:
        return "1", []
    terms: list[str] = []
    args: list[Any] = []
    if filters.tenant_only or not both_partitions:
        terms.append("tenant = ?")
        args.append(int(filters.tenant_only))

    def any_of(columns: tuple[str, ...], values: tuple[str, ...]) -> None:
        if values:
            marks = ", ".join("?" * len(values))
            terms.append("(" + " OR ".join(f"{c} IN ({marks})" for c in columns) + ")")
            args.extend(list(values) * len(columns))

    any_of(("type",), filters.event_types)
    any_of(("project_id",), filters.project_ids)
    # The service matches an actor id against the user, the service account or the key.
    any_of(("actor_id", "api_key_id"), filters.actor_ids)
    any_of(("actor_email",), filters.actor_emails)
    any_of(("resource_id",), filters.resource_ids)
    if filters.since is not None:
        terms.append("effective_at >= ?")
        args.append(filters.since)
    if filters.until is not None:
        terms.append("effective_at < ?")
        args.append(filters.until)
    return " AND ".join(terms) or "1", args


@dataclass(frozen=True)
class ActorCount:
    actor_id: str | None
    actor_email: str | None
    count: int


@dataclass(frozen=True)
class ArchiveSummary:
    """What `openapiopenai demo` prints about an archive."""

    total: int
    first_effective_at: int | None
    last_effective_at: int | None
    by_type: list[tuple[str, int]] = field(default_factory=list)
    """Event types, most frequent first (at most `top`)."""
    types: int = 0
    """How many distinct event types the archive holds."""
    top_actors: list[ActorCount] = field(default_factory=list)
    failed_logins: int = 0
    recent_failed_logins: list[dict[str, Any]] = field(default_factory=list)
    """Newest first: id, effective_at, actor_email, ip_address."""
    new_api_keys: int = 0
    recent_new_api_keys: list[dict[str, Any]] = field(default_factory=list)
    """Newest first: id, effective_at, key_id, actor_email, project_id."""


class Archive:
    """An archive file: a real SQLite database in WAL mode. Use as a context manager, or `close()` it.

    One `Archive` belongs to the thread that opened it (SQLite connections are not shared); open another
    `Archive` on the same path to read from a second thread or process while a sync writes.
    """

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._conn: sqlite3.Connection | None = None
        self._conn = open_archive_db(self.path, create=create, readonly=readonly)
        self._held = hold(self.path)   # a second Archive of this file here must not open() it (see `_held`)
        self._conn.row_factory = sqlite3.Row

    # -- life cycle ----------------------------------------------------------------------------
    @property
    def connection(self) -> sqlite3.Connection:
        """The open SQLite connection, for ad-hoc SQL (the sync goes through `sync_state_of`)."""
        if self._conn is None:
            raise ArchiveError(f"{self.path}: the archive is closed")
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            release(self._held)

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else ("read-only" if self.readonly else "open")
        return f"Archive({str(self.path)!r}, {state})"

    # -- queries ---------------------------------------------------------------------------------
    def count(self, filters: Filters | None = None) -> int:
        where, args = where_clause(filters)
        return int(self.connection.execute(f"SELECT count(*) FROM audit_logs WHERE {where}", args).fetchone()[0])

    def iter_rows(self, filters: Filters | None = None, *, newest_first: bool = True) -> Iterator[sqlite3.Row]:
        """Matching rows (all of `ROW_COLUMNS`), in listing order, streamed from SQLite."""
        return self._select(", ".join(ROW_COLUMNS), filters, newest_first)

    def iter_raw(self, filters: Filters | None = None, *, newest_first: bool = True) -> Iterator[str]:
        """The stored JSON texts of matching events, exactly as the service sent them, streamed."""
        for row in self._select("raw", filters, newest_first):
            yield str(row[0])

    def get_raw(self, event_id: str) -> str | None:
        row = self.connection.execute("SELECT raw FROM audit_logs WHERE id = ?", (event_id,)).fetchone()
        return None if row is None else str(row[0])

    def _select(self, columns: str, filters: Filters | None, newest_first: bool) -> Iterator[sqlite3.Row]:
        where, args = where_clause(filters)
        order = "DESC" if newest_first else "ASC"
        cursor = self.connection.execute(
            f"SELECT {columns} FROM audit_logs WHERE {where} ORDER BY effective_at {order}, id {order}", args
        )
        # Rows come from SQLite as they are read, so memory stays flat for a million events; the
        # cursor is closed even when the caller stops early.
        try:
            while True:
                batch = cursor.fetchmany(500)
                if not batch:
                    return
                yield from batch
        finally:
            cursor.close()

    def summary(self, top: int = 10) -> ArchiveSummary:
        """Totals, events by type, top actors, failed logins and new API keys (for `demo`)."""
        conn = self.connection
        total, first, last = conn.execute(
            "SELECT count(*), min(effective_at), max(effective_at) FROM audit_logs"
        ).fetchone()
        by_type = [(str(t), int(n)) for t, n in conn.execute(
            "SELECT type, count(*) AS n FROM audit_logs GROUP BY type ORDER BY n DESC, type LIMIT ?", (top,)
        )]
        types = int(conn.execute("SELECT count(DISTINCT type) FROM audit_logs").fetchone()[0])
        actors = [ActorCount(a, e, int(n)) for a, e, n in conn.execute(
            "SELECT actor_id, max(actor_email), count(*) AS n FROM audit_logs WHERE actor_id IS NOT NULL"
            " GROUP BY actor_id ORDER BY n DESC, actor_id LIMIT ?", (top,)
        )]
        recent = min(top, 5)
        failed = int(conn.execute("SELECT count(*) FROM audit_logs WHERE type = 'login.failed'").fetchone()[0])
        failed_rows = [dict(r) for r in conn.execute(
            "SELECT id, effective_at, actor_email, ip_address FROM audit_logs WHERE type = 'login.failed'"
            " ORDER BY effective_at DESC, id DESC LIMIT ?", (recent,)
        )]
        keys = int(conn.execute("SELECT count(*) FROM audit_logs WHERE type = 'api_key.created'").fetchone()[0])
        key_rows = [dict(r) for r in conn.execute(
            "SELECT id, effective_at, resource_id AS key_id, actor_email, project_id FROM audit_logs"
            " WHERE type = 'api_key.created' ORDER BY effective_at DESC, id DESC LIMIT ?", (recent,)
        )]
        return ArchiveSummary(int(total), first, last, by_type, types, actors, failed, failed_rows, keys, key_rows)

    def sync_state(self) -> list[dict[str, Any]]:
        """One dict per filter set ever synced: its filters, the range known complete, any walk in progress."""
        return describe_states(self.connection)

    def sync_state_of(self, filters: Filters) -> SyncState:
        """The sync state of one filter set, for the sync engine (its writer thread only)."""
        return SyncState(self.connection, filters.key(), str(self.path))
