"""Walking one time slice of the service's listing, page by page, in a fetcher thread.

A walker never touches SQLite: it hands each checked page to the writer as a `PageBatch` carrying the
rows and the slice position *after* that page. The writer commits the rows and that position in one
transaction, so the saved position always describes exactly what is in the archive.

The checks here are what stop a misbehaving service (or a proxy that drops query parameters, see the
spec notes on `effective_at[gte]`) from silently corrupting the archive: every event must lie inside the
requested slice and no newer than the previous page, the cursor must never repeat, and a page that says
there is more must not be empty.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openapiopenai.archive._errors import SyncError
from openapiopenai.archive._rows import page_row
from openapiopenai.exceptions import ApiException

if TYPE_CHECKING:
    from openapiopenai.api.audit_logs_api import AuditLogsApi

__all__ = ["PageBatch", "SliceSplit", "SliceState", "walk_slice"]

log = logging.getLogger("openapiopenai.archive")

# Statuses with which a service rejects a cursor it no longer knows (a crashed run's cursor can
# outlive the service's memory of it).
_UNKNOWN_CURSOR_STATUSES = (400, 404)


@dataclass
class SliceState:
    """One slice of a walk: ``lo <= effective_at < hi``, and how far the committed walk has come."""

    no: int
    lo: int | None
    hi: int
    cursor_id: str | None = None
    """The last committed event, the `after` cursor for the next page; None before the first page."""
    cursor_at: int | None = None
    """That event's `effective_at`: where to restart by time if the service forgets the cursor."""
    pages: int = 0
    fetched: int = 0
    done: bool = False
    floor: int | None = None
    """For a slice open below (lo None): where the oldest event was estimated to be. Not saved."""


@dataclass
class PageBatch:
    """A checked page and the slice position right after it, for the writer to commit atomically."""

    slice_no: int
    rows: list[tuple[Any, ...]]
    cursor_id: str | None
    cursor_at: int | None
    hi: int
    done: bool


@dataclass
class SliceSplit:
    """Slice `no` now starts at `lo`; the part below it became the new slice `below`."""

    no: int
    lo: int
    below: SliceState


def walk_slice(api: AuditLogsApi, sl: SliceState, *, scope: dict[str, Any], event_types: frozenset[str],
               tenant: bool, page_size: int, emit: Callable[[PageBatch], None],
               stop: threading.Event) -> None:
    """Fetch the rest of slice `sl` (from its committed position), handing every page to `emit`.

    `sl.lo` may be raised by another thread meanwhile (the slice was split); each request reads it once.
    `sl.cursor_at` and `sl.fetched` are kept current in memory as a progress hint for the splitter.
    """
    cursor, cursor_at, hi = sl.cursor_id, sl.cursor_at, sl.hi
    # Cursors this walk has already followed: seeing one again means the service is going round in circles.
    followed: set[str] = set()
    while not stop.is_set():
        lo = sl.lo
        span: dict[str, int] = {"lt": hi}
        if lo is not None:
            span["gte"] = lo
        try:
            page = api.list_audit_logs(effective_at=span, limit=page_size, after=cursor, **scope)
        except ApiException as exc:
            if cursor is None or exc.status not in _UNKNOWN_CURSOR_STATUSES or cursor_at is None:
                raise
            # The service no longer knows the saved cursor. Everything newer than its second is
            # committed, so restart the slice at the end of that second: re-reading the second is
            # harmless (the primary key absorbs it) and nothing older has been skipped.
            log.warning("slice %d: cursor rejected (%s); restarting from effective_at <= %d",
                        sl.no, exc.status, cursor_at)
            cursor, hi = None, cursor_at + 1
            followed.clear()
            continue
        events = page.data or []
        has_more = bool(page.has_more)
        rows = _check_page(events, lo=lo, hi=hi, newest=cursor_at, event_types=event_types,
                           tenant=tenant, slice_no=sl.no)
        if events:
            last = events[-1]
            cursor, cursor_at = last.id, last.effective_at
            if cursor in followed:
                raise SyncError(f"the service repeated the cursor {cursor!r} (slice {sl.no}); stopping "
                                "so the walk cannot loop")
            followed.add(cursor)
        elif has_more:
            raise SyncError(f"the service returned an empty page with has_more=true (slice {sl.no}); "
                            "stopping, as the walk would make no progress")
        sl.cursor_at, sl.fetched = cursor_at, sl.fetched + len(rows)
        emit(PageBatch(sl.no, rows, cursor, cursor_at, hi, not has_more))
        if not has_more:
            return


def _check_page(events: list[Any], *, lo: int | None, hi: int, newest: int | None,
                event_types: frozenset[str], tenant: bool, slice_no: int) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    ceiling = hi - 1 if newest is None else min(hi - 1, newest)
    for event in events:
        at = event.effective_at
        if type(at) is not int or (lo is not None and at < lo) or at > ceiling:
            if type(at) is int and (lo is None or at >= lo) and at < hi:
                raise SyncError(f"the service returned event {event.id!r} at {at}, newer than the page "
                                f"before it ({newest}); the listing is out of order (slice {slice_no})")
            raise SyncError(f"the service returned event {event.id!r} at {at!r}, outside the requested "
                            f"range [{lo}, {hi}); it may have ignored the time filter (slice {slice_no})")
        row = page_row(event, tenant=tenant)
        if event_types and row[2] not in event_types:
            raise SyncError(f"the service returned event {event.id!r} of type {row[2]!r}, which the "
                            f"type filter excludes (slice {slice_no})")
        ceiling = at
        rows.append(row)
    return rows
