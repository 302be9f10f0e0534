"""`sync_archive`: bring an archive up to date with the service, exactly once, crash-safe.

How a run goes (per filter set, state keyed by `Filters.key()`):

1. If an earlier run of this filter set was interrupted, finish it first, from each slice's saved cursor,
   with the upper bound that run froze. Then plan a new run.
2. A new run freezes its upper bound (now, or `until` if earlier) and plans what to walk: everything
   asked for that is not already trusted, i.e. from the high-water mark minus `lookback` onwards (plus any
   older part asked for that was never covered). The walk is written down as time slices before the first
   request, so a crash at any later instant can resume it.
3. Fetcher threads walk the slices newest first, page by page; the caller's thread is the only writer and
   commits each page's events together with its slice's new position in one transaction. INSERT OR IGNORE
   on the primary key absorbs overlap (the lookback window, a re-read second), counted as duplicates.
4. When every slice is done, one transaction moves the high-water mark to the frozen upper bound and
   drops the slices. Only then is the range called complete.

A back-fill into an empty archive walks without the lookup indexes: each of them would take its rows at
random leaf pages, so every commit would rewrite hundreds of pages (the WAL, then the checkpoint, copy
each) and the writer would run at a third of the fetchers' pace. The transaction that plans such a walk
drops them; the one that completes a walk builds whatever is missing, one sort per index, so they are
back exactly when the range is called complete. A crash in between leaves a resumable walk without
them, and its completion builds them; queries meanwhile still answer, only slower. The primary key
(which absorbs re-reads) and the (effective_at, id) index stay throughout.

A run token in the state row guards against two syncs on one archive: whichever started last owns the
walk, and the other stops at its next commit with a `SyncError` instead of writing over its state.
"""

from __future__ import annotations

import logging
import queue
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openapiopenai.archive._archive import Archive
from openapiopenai.archive._errors import ArchiveError, SyncError
from openapiopenai.archive._filters import Filters
from openapiopenai.archive._plan import Span, plan_run, split_span
from openapiopenai.archive._rows import insert_rows
from openapiopenai.archive._schedule import Scheduler
from openapiopenai.archive._schema import build_indexes, drop_indexes
from openapiopenai.archive._walk import PageBatch, SliceSplit, SliceState, walk_slice

if TYPE_CHECKING:
    from openapiopenai.api.audit_logs_api import AuditLogsApi

__all__ = ["DEFAULT_LOOKBACK", "SyncResult", "sync_archive"]

log = logging.getLogger("openapiopenai.archive")

#: Re-read this many seconds below the high-water mark on every run, for events that show up late.
DEFAULT_LOOKBACK = 900
#: With several workers, cut a walk into this many slices per worker, so a dense slice does not leave
#: the other workers idle at the end.
SLICES_PER_WORKER = 1
#: A slice narrower than this costs a request for little; the lookback window stays in a few slices.
MIN_SLICE_SECONDS = 300
#: Concurrent limit=1 requests per round when looking for the oldest event (tiny, and only a few rounds).
PROBES = 32
#: At most this many pages go into one transaction when the writer has fallen behind the fetchers.
#: Larger groups rewrite each primary-key leaf page (ids are random) once for more rows; the queue holds
#: about this many pages (~5 MB at 64), so memory stays flat (and leaves room for the page cache).
GROUP_COMMIT_PAGES = 64
#: How long a stopping sync waits for fetchers to finish their request in flight.
_JOIN_TIMEOUT_S = 5.0


_ALL = Filters()   # immutable, so safe as a default


@dataclass
class SyncResult:
    fetched: int
    """Events received and committed (including duplicates)."""
    inserted: int
    """Events new to the archive."""
    duplicates: int
    """Events the archive already held (the lookback overlap, re-read pages after a crash)."""
    pages: int
    resumed: bool
    """Whether an interrupted run was finished first."""
    lower_bound: int | None
    """Oldest `effective_at` walked (None: from the oldest event the service has)."""
    upper_bound: int
    """The frozen upper bound (exclusive) of the last run: the archive is now complete up to here."""
    elapsed: float
    workers: int
    slices: int = 0
    """Time slices walked, including those split off to keep every worker busy."""


@dataclass
class _Run:
    """A walk written down in the state tables: its slices and the covered span it completes."""

    slices: list[SliceState]
    covered: Span

    def __post_init__(self) -> None:
        # Taken before the walk: splitting raises the `lo` of slices as it goes.
        los = [s.lo for s in self.slices]
        self.lower: int | None = None if not los or None in los else min(lo for lo in los if lo is not None)


def sync_archive(api: AuditLogsApi, archive: Archive, filters: Filters = _ALL, *,
                 lookback: int = DEFAULT_LOOKBACK, workers: int = 1, page_size: int = 100,
                 progress: Callable[[int], None] | None = None,
                 clock: Callable[[], float] = time.time) -> SyncResult:
    """Make `archive` hold exactly the service's events matching `filters`, up to now (or `until`).

    `progress(n)` is called from the calling thread after each committed page, with its event count.
    Errors from the service (after the client's retries) propagate; what was committed stays committed
    and the next call resumes from it.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    if not 1 <= page_size <= 100:
        raise ValueError("page_size must be within 1..100")
    if lookback < 0:
        raise ValueError("lookback must not be negative")
    if archive.readonly:
        raise ArchiveError(f"{archive.path}: opened read-only, cannot sync into it")
    started = time.perf_counter()
    engine = _Engine(api, archive.connection, filters, workers=workers, page_size=page_size,
                     progress=progress)
    resumed = engine.take_over_interrupted_run()
    if resumed is not None:
        log.info("resuming an interrupted sync (%d slices left)", sum(not s.done for s in resumed.slices))
        engine.execute(resumed)
    upper = int(clock())
    if filters.until is not None:
        upper = min(upper, filters.until)
    fresh = engine.plan_new_run(upper, lookback)
    if fresh is not None:
        engine.execute(fresh)
    else:
        upper = engine.high_water() or upper
    lowers = [run.lower for run in (resumed, fresh) if run is not None]
    return SyncResult(
        fetched=engine.fetched, inserted=engine.inserted, duplicates=engine.fetched - engine.inserted,
        pages=engine.pages, resumed=resumed is not None,
        lower_bound=None if not lowers or None in lowers else min(lo for lo in lowers if lo is not None),
        upper_bound=upper, elapsed=time.perf_counter() - started, workers=workers,
        slices=sum(len(run.slices) for run in (resumed, fresh) if run is not None) + engine.splits,
    )


class _Engine:
    def __init__(self, api: AuditLogsApi, conn: sqlite3.Connection, filters: Filters, *, workers: int,
                 page_size: int, progress: Callable[[int], None] | None) -> None:
        self.api = api
        self.conn = conn
        self.filters = filters
        self.key = filters.key()
        self.workers = workers
        self.page_size = page_size
        self.progress = progress
        self.token = secrets.token_hex(8)
        self.fetched = self.inserted = self.pages = self.splits = 0

    # -- state ------------------------------------------------------------------------------------
    def _state(self) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn.execute(
            "SELECT * FROM sync_state WHERE filter_key = ?", (self.key,)).fetchone()
        return row

    def high_water(self) -> int | None:
        row = self._state()
        return None if row is None or row["high_water"] is None else int(row["high_water"])

    def take_over_interrupted_run(self) -> _Run | None:
        """The run an earlier (crashed or stopped) sync left behind, now owned by this one."""
        with _transaction(self.conn):
            row = self._state()
            if row is None or not row["run_active"]:
                return None
            self.conn.execute("UPDATE sync_state SET run_token = ? WHERE filter_key = ?", (self.token, self.key))
            slices = [
                SliceState(r["slice_no"], r["lo"], r["hi"], r["cursor_id"], r["cursor_at"], r["pages"],
                           r["fetched"], bool(r["done"]))
                for r in self.conn.execute(
                    "SELECT * FROM sync_slices WHERE filter_key = ? ORDER BY slice_no", (self.key,))
            ]
        return _Run(slices, (row["run_from"], int(row["run_upper"])))

    def plan_new_run(self, upper: int, lookback: int) -> _Run | None:
        row = self._state()
        covered: Span | None = None
        if row is not None and row["high_water"] is not None:
            covered = (row["covered_from"], int(row["high_water"]))
        plan = plan_run(self.filters.since, upper, covered, lookback)
        if not plan.need:
            return None
        spans = [(lo, hi, None) for lo, hi in plan.need] if self.workers == 1 else self._slice_for_workers(plan.need)
        slices = [SliceState(i, lo, hi, floor=floor) for i, (lo, hi, floor) in enumerate(spans)]
        with _transaction(self.conn):
            if self._state() != row:
                raise SyncError("another sync changed this archive's sync state meanwhile; run again")
            self.conn.execute(
                "INSERT INTO sync_state (filter_key) VALUES (?) ON CONFLICT (filter_key) DO NOTHING", (self.key,))
            self.conn.execute(
                "UPDATE sync_state SET run_active = 1, run_from = ?, run_upper = ?, run_started_at = ?,"
                " run_token = ? WHERE filter_key = ?",
                (plan.covered[0], plan.covered[1], time.time(), self.token, self.key))
            self.conn.execute("DELETE FROM sync_slices WHERE filter_key = ?", (self.key,))
            self.conn.executemany(
                "INSERT INTO sync_slices (filter_key, slice_no, lo, hi) VALUES (?, ?, ?, ?)",
                [(self.key, s.no, s.lo, s.hi) for s in slices])
            if self.conn.execute("SELECT 1 FROM audit_logs LIMIT 1").fetchone() is None:
                drop_indexes(self.conn)   # a back-fill into an empty archive: built when the walk completes
        return _Run(slices, plan.covered)

    def _slice_for_workers(self, need: list[Span]) -> list[tuple[int | None, int, int | None]]:
        """Cut the spans into about SLICES_PER_WORKER x workers slices by width: (lo, hi, floor)."""
        bounded: list[tuple[int, int, bool]] = []   # (lo, hi, open_below)
        for lo, hi in need:
            if lo is None:
                oldest = find_oldest(self.api, hi, self.filters.scope_kwargs(), probes=PROBES)
                if oldest is None:
                    return [(lo, hi, None) for lo, hi in need]   # nothing there: one request per span says so
                bounded.append((oldest, hi, True))
            else:
                bounded.append((lo, hi, False))
        total = sum(hi - lo for lo, hi, _ in bounded) or 1
        target = self.workers * SLICES_PER_WORKER
        spans: list[tuple[int | None, int, int | None]] = []
        for lo, hi, open_below in bounded:
            parts = split_span(lo, hi, max(1, round(target * (hi - lo) / total)), min_width=MIN_SLICE_SECONDS)
            if open_below:
                # The oldest slice stays open below: the estimate guides the cutting, it never limits.
                spans.append((None, parts[0][1], lo))
                parts = parts[1:]
            spans.extend((a, b, None) for a, b in parts)
        return spans

    # -- the walk ---------------------------------------------------------------------------------
    def execute(self, run: _Run) -> None:
        pending = [s for s in run.slices if not s.done]
        scheduler = Scheduler(pending, next_no=max((s.no for s in run.slices), default=-1) + 1,
                              min_split_events=2 * self.page_size)
        if pending:
            self._pump(scheduler, self.workers)
        with _transaction(self.conn):
            self._check_token()
            left = self.conn.execute(
                "SELECT count(*) FROM sync_slices WHERE filter_key = ? AND done = 0", (self.key,)).fetchone()[0]
            if left:
                raise SyncError(f"internal error: {left} slices still open at the end of a walk")
            # The walk is complete: only now may the high-water mark move.
            self.conn.execute(
                "UPDATE sync_state SET covered_from = ?, high_water = ?, run_active = 0, run_from = NULL,"
                " run_upper = NULL, run_token = NULL, last_completed_at = ?, runs_completed = runs_completed + 1"
                " WHERE filter_key = ?", (run.covered[0], run.covered[1], time.time(), self.key))
            self.conn.execute("DELETE FROM sync_slices WHERE filter_key = ?", (self.key,))
            # In the same transaction: a range called complete always has its indexes.
            built = build_indexes(self.conn)
            if built:
                log.info("built %d lookup indexes", len(built))

    def _pump(self, scheduler: Scheduler, n_threads: int) -> None:
        """Run `n_threads` fetchers; commit what they hand over, in this thread, until all are done."""
        # Bounded, so fetchers cannot run ahead of the writer: memory stays flat however big the walk.
        batches: queue.Queue[PageBatch | SliceSplit | _FetcherExit] = queue.Queue(maxsize=GROUP_COMMIT_PAGES + 2 * n_threads)
        stop = threading.Event()
        scope = self.filters.scope_kwargs()
        types = frozenset(self.filters.event_types)

        def emit(item: PageBatch | SliceSplit | _FetcherExit) -> None:
            while not stop.is_set():
                try:
                    batches.put(item, timeout=0.1)
                    return
                except queue.Full:
                    continue

        def fetcher() -> None:
            error: BaseException | None = None
            try:
                while not stop.is_set():
                    sl, split, wait = scheduler.take()
                    if sl is None:
                        if not wait:
                            break
                        stop.wait(0.05)   # a slice just started; its first page tells if it is worth splitting
                        continue
                    if split is not None:
                        emit(split)   # queued before any page of the new slice, so recorded first
                    walk_slice(self.api, sl, scope=scope, event_types=types, tenant=self.filters.tenant_only,
                               page_size=self.page_size, emit=emit, stop=stop)
                    scheduler.done(sl)
            except BaseException as exc:  # handed to the writer thread, which re-raises it
                error = exc
            emit(_FetcherExit(error))

        threads = [threading.Thread(target=fetcher, name=f"archive-fetch-{i}", daemon=True)
                   for i in range(n_threads)]
        for t in threads:
            t.start()
        live = n_threads
        try:
            while live:
                # Group commit: take whatever pages are already waiting (up to a cap) into one
                # transaction. Each page still lands together with its slice position, and when the
                # writer keeps up the groups are single pages; when it falls behind, fewer commits
                # mean far fewer index pages rewritten per event.
                group: list[PageBatch | SliceSplit] = []
                failure: BaseException | None = None
                item = batches.get()
                while True:
                    if isinstance(item, _FetcherExit):
                        live -= 1
                        failure = item.error
                    else:
                        group.append(item)
                    if failure is not None or len(group) >= GROUP_COMMIT_PAGES:
                        break
                    try:
                        item = batches.get_nowait()
                    except queue.Empty:
                        break
                if group:
                    self._commit(group)
                if failure is not None:
                    raise failure
        finally:
            stop.set()
            deadline = time.monotonic() + _JOIN_TIMEOUT_S
            for t in threads:
                t.join(max(0.0, deadline - time.monotonic()))

    def _commit(self, group: list[PageBatch | SliceSplit]) -> None:
        """Pages' events with their slices' new positions (and any splits), in one transaction."""
        inserted = 0
        with _transaction(self.conn):
            self._check_token()
            for item in group:
                if isinstance(item, SliceSplit):
                    below = item.below
                    self.conn.execute("UPDATE sync_slices SET lo = ? WHERE filter_key = ? AND slice_no = ?",
                                      (item.lo, self.key, item.no))
                    self.conn.execute("INSERT INTO sync_slices (filter_key, slice_no, lo, hi) VALUES (?, ?, ?, ?)",
                                      (self.key, below.no, below.lo, below.hi))
                    self.splits += 1
                    continue
                if item.rows:
                    inserted += insert_rows(self.conn, item.rows)
                self.conn.execute(
                    "UPDATE sync_slices SET cursor_id = ?, cursor_at = ?, hi = ?, pages = pages + 1,"
                    " fetched = fetched + ?, done = ? WHERE filter_key = ? AND slice_no = ?",
                    (item.cursor_id, item.cursor_at, item.hi, len(item.rows), int(item.done), self.key,
                     item.slice_no))
        self.inserted += inserted
        for item in group:
            if isinstance(item, PageBatch):
                self.fetched += len(item.rows)
                self.pages += 1
                if self.progress is not None:
                    self.progress(len(item.rows))

    def _check_token(self) -> None:
        row = self.conn.execute("SELECT run_token FROM sync_state WHERE filter_key = ?", (self.key,)).fetchone()
        if row is None or row[0] != self.token:
            raise SyncError("another sync took over this archive's walk; this one stops (the other carries on)")


@dataclass
class _FetcherExit:
    error: BaseException | None


class _transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception (including KeyboardInterrupt)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise ArchiveError(f"the archive is locked by another process ({exc})") from None

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: Any) -> None:
        if et is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


def find_oldest(api: AuditLogsApi, hi: int, scope: dict[str, Any], *, probes: int = 32) -> int | None:
    """About the oldest `effective_at` below `hi` (None if there is no event), in two or three round trips.

    Each round asks `probes` limit=1 questions "is there an event before t?" at once. The first round
    spaces them geometrically back from `hi` (a minute to a century), which brackets the oldest event
    within a factor of about two whatever the history's length; later rounds narrow that bracket evenly.
    The answer errs low by at most ~1/32 of the span: towards time with no events, which the walk
    crosses in one empty request per slice, so no precision beyond that is worth a round trip.
    """
    def exists_before(t: int) -> bool:
        return bool(api.list_audit_logs(effective_at={"lt": t}, limit=1, **scope).data)

    ratio = (100 * 365 * 86400 / 60) ** (1 / (probes - 2))
    points = sorted({hi, *(max(0, hi - int(60 * ratio ** k)) for k in range(probes - 1))})
    lo, up = 0, hi   # invariant: no event below lo, some event below up
    with ThreadPoolExecutor(max_workers=probes, thread_name_prefix="archive-probe") as pool:
        first = True
        while points:
            answers = list(pool.map(exists_before, points))
            if first and not answers[-1]:
                return None   # nothing below `hi` at all
            first = False
            for t, found in zip(points, answers, strict=True):
                if found:
                    up = t
                    break
                lo = t
            if up - lo <= max(1, (hi - up) // 32):
                break
            points = sorted({lo + (up - lo) * (i + 1) // (probes + 1) for i in range(probes)} - {lo, up})
    return lo
