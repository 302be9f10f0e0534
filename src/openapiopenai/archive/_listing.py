"""Reading an archive the way the service is read: `list` and `tail` with ``--db``.

The archive holds both of the service's listings (organisation-level and tenant-scoped events, each
synced with its own filter set). A reader asking the archive wants the organisation's whole log, so
both partitions are read together in one ordered query unless ``tenant_only`` narrows it to the
tenant-scoped one. ``search`` is a plain, case-insensitive (ASCII) substring match over each event's raw
JSON as the service sent it: ``%`` and ``_`` are matched literally.

Following an archive (`ArchiveFollower`) goes by the order of arrival (``rowid``, the ``archived_seq``
of the ``events`` view), not by ``effective_at``: a sync inserts late events with older times, and
only the arrival order tells "new since the last poll" exactly, with no window and no memory of ids.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from openapiopenai.archive._archive import where_clause

if TYPE_CHECKING:
    from openapiopenai.archive._archive import Archive
    from openapiopenai.archive._filters import Filters

__all__ = ["ArchiveFollower", "ArchivedEvent", "iter_events"]

#: Rows taken from SQLite at a time: memory stays flat for a million events.
_BATCH = 500


class ArchivedEvent(NamedTuple):
    seq: int
    """The archive's order of arrival (``rowid``)."""
    effective_at: int
    id: str
    raw: str
    """The event's JSON exactly as the service sent it."""


def _condition(filters: Filters, search: str | None) -> tuple[str, list[Any]]:
    where, args = where_clause(filters, both_partitions=True)
    if search is not None:
        if not search:
            raise ValueError("search: give some text to look for")
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where += " AND raw LIKE ? ESCAPE '\\'"
        args.append(f"%{escaped}%")
    return where, args


def iter_events(
    archive: Archive,
    filters: Filters,
    *,
    search: str | None = None,
    newest_first: bool = True,
    limit: int | None = None,
    up_to_seq: int | None = None,
) -> Generator[ArchivedEvent, None, None]:
    """Matching events from both partitions, in listing order (newest first by default), streamed.

    ``up_to_seq`` leaves out what arrived after that position (a follower's first read).
    """
    if limit is not None and limit < 1:
        raise ValueError("limit must be at least 1")
    where, args = _condition(filters, search)
    if up_to_seq is not None:
        where += " AND rowid <= ?"
        args.append(up_to_seq)
    order = "DESC" if newest_first else "ASC"
    sql = f"SELECT rowid, effective_at, id, raw FROM audit_logs WHERE {where} ORDER BY effective_at {order}, id {order}"
    if limit is not None:
        sql += " LIMIT ?"
        args.append(limit)
    yield from _stream(archive, sql, args)


def _stream(archive: Archive, sql: str, args: list[Any]) -> Iterator[ArchivedEvent]:
    cursor = archive.connection.execute(sql, args)
    try:
        while batch := cursor.fetchmany(_BATCH):
            for seq, effective_at, event_id, raw in batch:
                yield ArchivedEvent(int(seq), int(effective_at), str(event_id), str(raw))
    finally:
        cursor.close()  # also when the caller stops early (`| head`)


class ArchiveFollower:
    """What arrives in an archive (a sync writing into it) after the follower's starting point.

    `start` fixes the position at the newest event archived so far and returns the matching events
    since ``filters.since`` up to it (none without ``since``); each `poll` returns what arrived after
    the previous one, in arrival order. Nothing prints twice and nothing is missed, whatever the
    events' times, because positions are arrival numbers.
    """

    def __init__(self, archive: Archive, filters: Filters, *, search: str | None = None) -> None:
        _condition(filters, search)  # bad input now, not at the first poll
        self.archive = archive
        self.filters = filters
        self.search = search
        self.position: int | None = None

    def _newest_seq(self) -> int:
        row = self.archive.connection.execute("SELECT coalesce(max(rowid), 0) FROM audit_logs").fetchone()
        return int(row[0])

    def start(self) -> list[ArchivedEvent]:
        self.position = self._newest_seq()
        if self.filters.since is None:
            return []
        return list(
            iter_events(self.archive, self.filters, search=self.search, newest_first=False, up_to_seq=self.position)
        )

    def poll(self) -> list[ArchivedEvent]:
        if self.position is None:
            raise RuntimeError("ArchiveFollower.poll before start")
        # The top is read first and bounds the query: a row committed in between is the next poll's.
        top = self._newest_seq()
        where, args = _condition(self.filters, self.search)
        sql = (
            f"SELECT rowid, effective_at, id, raw FROM audit_logs WHERE {where} AND rowid > ? AND rowid <= ?"
            " ORDER BY rowid"
        )
        events = list(_stream(self.archive, sql, [*args, self.position, top]))
        self.position = max(self.position, top)
        return events
