"""The fetcher's side of a walk: one time slice of the service's listing, page by page, and the
probes that tell a parallel back-fill where the history lies before it is cut.

A fetcher never touches SQLite or the writer's slice state. The writer hands it an `Assignment` (a
copy of a slice's committed position); `SliceWalk` turns that into requests and each checked answer
(a `_page.SyncPage`) into a `PageBatch` carrying the events, the slice position *after* the page, and
the lower bound the page was fetched with. The one thing the writer changes under a running walk is the assignment's lower
bound, when it splits the slice, and it does so only after the split is committed: so a walker only
ever walks at least what the archive's state says its slice still owes, whatever the timing.

The checks here are what stop a misbehaving service (or a proxy that drops query parameters, see the
spec notes on `effective_at[gte]`) from silently corrupting the archive: every event must lie inside the
requested slice and no newer than the previous page, the cursor must never repeat, and a page that says
there is more must not be empty.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from openapiopenai.archive._errors import SyncError
from openapiopenai.archive._page import EventHead, SyncPage
from openapiopenai.archive._plan import History
from openapiopenai.archive._state import PageBatch, SliceState
from openapiopenai.exceptions import ApiException

__all__ = ["Assignment", "SliceWalk", "bracket_history"]

log = logging.getLogger("openapiopenai.archive")

# Statuses with which a service rejects a cursor it no longer knows (a crashed run's cursor can
# outlive the service's memory of it).
_UNKNOWN_CURSOR_STATUSES = (400, 404)


class Assignment:
    """The writer's order to a fetcher: walk slice `slice_no` on from its committed position."""

    def __init__(self, sl: SliceState) -> None:
        self.slice_no = sl.no
        self.hi = sl.hi
        self.cursor_id = sl.cursor_id
        self.cursor_at = sl.cursor_at
        self._lo = sl.lo

    @property
    def lo(self) -> int | None:
        """The slice's lower bound as last published by the writer (read once per request)."""
        return self._lo

    def publish_lo(self, lo: int) -> None:
        """Writer only, and only once the split that raised the bound is committed."""
        self._lo = lo


class SliceWalk:
    """One fetcher's walk of one assignment: `query()`, send it, `take(page)`, until `done`."""

    def __init__(self, assignment: Assignment, *, event_types: frozenset[str], tenant: bool,
                 page_size: int) -> None:
        self.assignment = assignment
        self.slice_no = assignment.slice_no
        self._event_types = event_types
        self._tenant = tenant
        self._page_size = page_size
        self._cursor = assignment.cursor_id
        self._cursor_at = assignment.cursor_at
        self._hi = assignment.hi
        self._lo: int | None = None
        # Cursors this walk has already followed: seeing one again means the service is going round in circles.
        self._followed: set[str] = set()
        self.done = False

    def query(self) -> dict[str, Any]:
        """The next request's arguments; the lower bound is read now and travels with the page."""
        self._lo = self.assignment.lo
        span: dict[str, int] = {"lt": self._hi}
        if self._lo is not None:
            span["gte"] = self._lo
        return {"effective_at": span, "limit": self._page_size, "after": self._cursor}

    def cursor_rejected(self, exc: ApiException) -> bool:
        """Whether `exc` says the service forgot our cursor; if so the next query restarts by time."""
        if self._cursor is None or exc.status not in _UNKNOWN_CURSOR_STATUSES or self._cursor_at is None:
            return False
        # Everything newer than the cursor's second is committed, so restart the slice at the end of
        # that second: re-reading the second is harmless (the primary key absorbs it) and nothing older
        # has been skipped.
        log.warning("slice %d: cursor rejected (%s); restarting from effective_at <= %d",
                    self.slice_no, exc.status, self._cursor_at)
        self._cursor, self._hi = None, self._cursor_at + 1
        self._followed.clear()
        return True

    def take(self, page: SyncPage) -> PageBatch:
        """Check the answer to the last `query()` and turn it into the batch for the writer."""
        heads = page.heads
        has_more = page.has_more
        _check_page(heads, lo=self._lo, hi=self._hi, newest=self._cursor_at, event_types=self._event_types,
                    slice_no=self.slice_no)
        if heads:
            last = heads[-1]
            self._cursor, self._cursor_at = last.id, last.effective_at
            if self._cursor in self._followed:
                raise SyncError(f"the service repeated the cursor {self._cursor!r} (slice {self.slice_no}); "
                                "stopping so the walk cannot loop")
            self._followed.add(self._cursor)
        elif has_more:
            raise SyncError(f"the service returned an empty page with has_more=true (slice {self.slice_no}); "
                            "stopping, as the walk would make no progress")
        self.done = not has_more
        return PageBatch(self.slice_no, heads, page.raws, self._tenant, self._cursor, self._cursor_at, self._lo,
                         self._hi, self.done)


def _check_page(heads: list[EventHead], *, lo: int | None, hi: int, newest: int | None,
                event_types: frozenset[str], slice_no: int) -> None:
    ceiling = hi - 1 if newest is None else min(hi - 1, newest)
    for head in heads:
        at = head.effective_at
        if (lo is not None and at < lo) or at > ceiling:
            if (lo is None or at >= lo) and at < hi:
                raise SyncError(f"the service returned event {head.id!r} at {at}, newer than the page "
                                f"before it ({newest}); the listing is out of order (slice {slice_no})")
            raise SyncError(f"the service returned event {head.id!r} at {at!r}, outside the requested "
                            f"range [{lo}, {hi}); it may have ignored the time filter (slice {slice_no})")
        if event_types and head.type not in event_types:
            raise SyncError(f"the service returned event {head.id!r} of type {head.type!r}, which the "
                            f"type filter excludes (slice {slice_no})")
        ceiling = at


def bracket_history(newest_before: Callable[[int], int | None], hi: int, *, parallel: int) -> History | None:
    """Where the events below `hi` lie, from one round of `parallel` probes (None if there is no event).

    `newest_before(t)` asks the service for the newest event before t (one limit=1 request) and returns
    its `effective_at`, or None. The probes are spaced geometrically back from `hi`, a minute to a
    century, so whatever the history's length its oldest event lies between two of them (a factor of
    about 20 in distance from `hi` with 8 workers); the probe at `hi` itself gives the newest event.

    One round only: a second one narrowed the bracket to a factor of 1.5 but cost every fetcher a round
    trip. The walk is cut so that the bracket need not be narrow (see `_plan.cut_backfill`): the time
    in it is walked in a few slices spaced like the probes, an empty one costing one request, made while
    the other fetchers already walk the part known to hold events.
    """
    probes = max(3, parallel)
    ratio = (100 * 365 * 86400 / 60) ** (1 / (probes - 2))
    points = sorted({hi, *(max(0, hi - int(60 * ratio ** k)) for k in range(probes - 1))})
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="archive-probe") as pool:
        answers = list(pool.map(newest_before, points))
    newest = answers[-1]
    if newest is None:
        return None   # nothing below `hi` at all
    empty_below, some_below = 0, hi
    for t, found in zip(points, answers, strict=True):
        if found is not None:
            some_below = t
            break
        empty_below = t
    return History(newest=newest, some_below=some_below, empty_below=empty_below)
