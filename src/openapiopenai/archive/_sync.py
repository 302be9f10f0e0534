"""`sync_archive`: bring an archive up to date with the service, exactly once, crash-safe.

How a run goes (per filter set, state keyed by `Filters.key()`):

1. If an earlier run of this filter set was interrupted, finish it first, from each slice's saved cursor,
   with the upper bound that run froze. Then plan a new run.
2. A new run freezes its upper bound (now, or `until` if earlier) and plans what to walk: everything
   asked for that is not already trusted, i.e. from the high-water mark minus `lookback` onwards (plus any
   older part asked for that was never covered). The walk is written down as time slices before the first
   request, so a crash at any later instant can resume it.
3. Fetcher threads walk the slices newest first, page by page; the caller's thread is the only writer and
   commits each page's events together with its slice's new position in one transaction (a long walk of
   one worker hands those transactions to a process of its own, `_writer_process`, and waits for each). INSERT OR IGNORE
   on the primary key absorbs overlap (the lookback window, a re-read second), counted as duplicates.
   A fetcher only splits and checks each page (`_page`); the writer makes the rows, so with one worker
   the next request is on the wire while the last page is turned into rows and written.
4. When every slice is done, one transaction moves the high-water mark to the frozen upper bound and
   drops the slices. Only then is the range called complete.

A back-fill into an empty archive walks without the lookup indexes: each of them would take its rows at
random leaf pages, so every commit would rewrite hundreds of pages (the WAL, then the checkpoint, copy
each) and the writer would run at a third of the fetchers' pace. The transaction that plans such a walk
drops them; the one that completes a walk builds whatever is missing, one sort per index, so they are
back exactly when the range is called complete. A crash in between leaves a resumable walk without
them, and its completion builds them; queries meanwhile still answer, only slower. The unique
(effective_at, id) index stays throughout: it is what absorbs a re-read event meanwhile (`_rows`).

One sync at a time per archive: a sync holds the archive's OS-level lock (`_lock`) from start to end.
A second one waits for it (`wait`) or raises `SyncBusy`; it never takes over a live walk. A walk whose
sync died is taken over by the next sync, which resumes it.

Who does what (see `_writer` for why it is exact whatever the timing): the caller's thread is the only
writer and owns every slice's state; fetcher threads only fetch what it assigns them (`_walk`); all
state SQL is in `_state`; retries and rate limits are one budget shared by the fetchers (`_pacing`).
"""


from __future__ import annotations

import contextlib
import logging
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openapiopenai.archive._archive import Archive
from openapiopenai.archive._channel import Channel, Closed
from openapiopenai.archive._checkpoint import IdleCheckpoints
from openapiopenai.archive._errors import ArchiveError
from openapiopenai.archive._filters import Filters
from openapiopenai.archive._lock import SyncLock
from openapiopenai.archive._pacing import DEFAULT_GIVE_UP_AFTER, Pacing, Stopped
from openapiopenai.archive._page import SyncPage, read_page
from openapiopenai.archive._plan import Cut, History, Span, cut_backfill, plan_run, split_span
from openapiopenai.archive._state import PageBatch, Run, SliceState, SyncState
from openapiopenai.archive._walk import Assignment, SliceWalk, bracket_history
from openapiopenai.archive._writer import WalkWriter
from openapiopenai.archive._writer_process import ConnectionWrapper, RemoteCommits
from openapiopenai.exceptions import ApiException

if TYPE_CHECKING:
    from openapiopenai.api.audit_logs_api import AuditLogsApi

__all__ = ["DEFAULT_GIVE_UP_AFTER", "DEFAULT_LOOKBACK", "SyncResult", "sync_archive"]

log = logging.getLogger("openapiopenai.archive")

#: Re-read this many seconds below the high-water mark on every run, for events that show up late.
DEFAULT_LOOKBACK = 900
#: A slice narrower than this costs a request for little; the lookback window stays in a few slices.
MIN_SLICE_SECONDS = 300
#: At most this many pages go into one transaction when the writer has fallen behind the fetchers.
#: Larger groups rewrite each primary-key leaf page (ids are random) once for more rows; the hand-off
#: holds about this many pages (~5 MB at 64), so memory stays flat (and leaves room for the page cache).
GROUP_COMMIT_PAGES = 64
#: ... and when it keeps up, it still waits (at most `GROUP_LINGER_S` after the first page) for this many:
#: each commit costs its own rewrite of the index pages it touches plus a WAL header and frame per page,
#: so one commit per page cost about a fifth more SQLite time per event than one per 8-16. A crash loses
#: nothing by it (pages not committed are fetched again from the committed cursor). The writer never
#: waits once a page is a slice's last or a fetcher is idle: then the next hand-out is what matters.
GROUP_MIN_PAGES = 8
GROUP_LINGER_S = 0.1
#: A walk of one worker hands its commits to a writer process of its own (`_writer_process`) once it has
#: committed this many pages in this process: past that, the GIL it frees is worth the ~0.2 s of CPU a
#: new process costs; below it (a `run` cycle with little new, a lookback re-read) no process starts.
#: The walk goes on committing here until the child is ready. Several workers keep the writer in this
#: process: their walk waits for the service, not for the writer (rows 6 and 6a).
WRITER_PROCESS_AFTER_PAGES = 100
#: For the crash tests: wraps the writer process's connection (see `_writer_process.ConnectionWrapper`).
WRITER_PROCESS_WRAP: ConnectionWrapper | None = None
#: How long a stopping sync waits for fetchers to finish their request in flight.
_JOIN_TIMEOUT_S = 5.0
#: While a walk runs, a thread waiting for the GIL gets it within this long (CPython's default is 5 ms).
#: A fetcher whose answer has arrived then checks it and sends the next request at once, instead of
#: waiting out the writer's row building: with one worker the service answers a page in about 3 ms, so
#: a 5 ms wait per page would leave it idle more than half the time.
_SWITCH_INTERVAL_S = 0.0005


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
    retries: int = 0
    """Requests tried again (5xx, 429, connection failures), across all workers."""
    rate_limited: int = 0
    """Of those, how many were 429s (each paused every worker)."""


def sync_archive(api: AuditLogsApi, archive: Archive, filters: Filters = _ALL, *,
                 lookback: int = DEFAULT_LOOKBACK, workers: int = 1, page_size: int = 100,
                 progress: Callable[[int], None] | None = None,
                 clock: Callable[[], float] = time.time, wait: float = 0.0,
                 give_up_after: float = DEFAULT_GIVE_UP_AFTER,
                 retried: Callable[[bool], None] | None = None) -> SyncResult:
    """Make `archive` hold exactly the service's events matching `filters`, up to now (or `until`).

    `progress(n)` is called from the calling thread after each committed page, with its event count.
    If another sync is running on the archive, waits up to `wait` seconds for it, then raises
    `SyncBusy`. Failed requests worth retrying are retried (the client's own `max_retries` does not
    apply) until no request has succeeded for `give_up_after` seconds; then, and for any other error
    from the service, the error propagates. What was committed stays committed and the next call
    resumes from it.

    `retried(rate_limited)` is called, from the thread that made the request, each time a failed request
    counts against that budget (``True`` for a 429), as it happens: the result's `retries` and
    `rate_limited` say the same only for a sync that returns, this also for one that gives up.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    if not 1 <= page_size <= 100:
        raise ValueError("page_size must be within 1..100")
    if lookback < 0:
        raise ValueError("lookback must not be negative")
    if wait < 0 or give_up_after < 0:
        raise ValueError("wait and give_up_after must not be negative")
    if archive.readonly:
        raise ArchiveError(f"{archive.path}: opened read-only, cannot sync into it")
    started = time.perf_counter()
    with SyncLock(archive.path) as lock:
        lock.acquire(wait)
        engine = _Engine(api, archive.sync_state_of(filters), filters, workers=workers, page_size=page_size,
                         progress=progress, pacing=Pacing(give_up_after, retried=retried),
                         checkpoints=IdleCheckpoints(archive.connection))
        resumed = engine.state.take_over(engine.owner)
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
            covered = engine.state.covered()
            upper = covered[1] if covered is not None else upper
    lowers = [run.lower for run in (resumed, fresh) if run is not None]
    return SyncResult(
        fetched=engine.fetched, inserted=engine.inserted, duplicates=engine.fetched - engine.inserted,
        pages=engine.pages, resumed=resumed is not None,
        lower_bound=None if not lowers or None in lowers else min(lo for lo in lowers if lo is not None),
        upper_bound=upper, elapsed=time.perf_counter() - started, workers=workers,
        slices=sum(len(run.slices) for run in (resumed, fresh) if run is not None) + engine.splits,
        retries=engine.pacing.retries, rate_limited=engine.pacing.rate_limited,
    )


class _Engine:
    def __init__(self, api: AuditLogsApi, state: SyncState, filters: Filters, *, workers: int,
                 page_size: int, progress: Callable[[int], None] | None, pacing: Pacing,
                 checkpoints: IdleCheckpoints | None = None) -> None:
        self.api = api
        self.state = state
        self.filters = filters
        self.scope = filters.scope_kwargs()
        self.workers = workers
        self.page_size = page_size
        self.progress = progress
        self.pacing = pacing
        self.checkpoints = checkpoints
        self.owner = f"{secrets.token_hex(8)}"
        self.fetched = self.inserted = self.pages = self.splits = 0
        self._remote: RemoteCommits | None = None

    def list_page(self, **kwargs: Any) -> SyncPage:
        """One page, retried under the shared budget (the client's own retries are off)."""
        return self.pacing.call(lambda: read_page(self.api, **kwargs, **self.scope))

    # -- planning -----------------------------------------------------------------------------------
    def plan_new_run(self, upper: int, lookback: int) -> Run | None:
        covered = self.state.covered()
        plan = plan_run(self.filters.since, upper, covered, lookback)
        if not plan.need:
            return None
        spans = [(lo, hi, None) for lo, hi in plan.need] if self.workers == 1 else self._slice_for_workers(plan.need)
        slices = [SliceState(i, lo, hi, floor=floor) for i, (lo, hi, floor) in enumerate(spans)]
        return self.state.begin(plan.covered, slices, self.owner, expected=covered)

    def _slice_for_workers(self, need: list[Span]) -> list[Cut]:
        """Cut the spans into about one slice per worker: (lo, hi, floor)."""
        histories: dict[int, History] = {}
        for i, (lo, hi) in enumerate(need):
            if lo is None:
                def newest_before(t: int) -> int | None:
                    heads = self.list_page(effective_at={"lt": t}, limit=1).heads
                    return heads[0].effective_at if heads else None

                history = bracket_history(newest_before, hi, parallel=self.workers)
                if history is None:
                    return [(lo, hi, None) for lo, hi in need]   # nothing there: one request per span says so
                histories[i] = history
        widths = [hi - (histories[i].empty_below if i in histories else lo or 0) for i, (lo, hi) in enumerate(need)]
        total = sum(widths) or 1
        spans: list[Cut] = []
        for i, (lo, hi) in enumerate(need):
            parts = max(1, round(self.workers * widths[i] / total))
            if i in histories:
                spans.extend(cut_backfill(histories[i], hi, parts, min_width=MIN_SLICE_SECONDS))
            else:
                assert lo is not None
                spans.extend((a, b, None) for a, b in split_span(lo, hi, parts, min_width=MIN_SLICE_SECONDS))
        return spans

    # -- the walk -------------------------------------------------------------------------------------
    def execute(self, run: Run) -> None:
        writer = WalkWriter(self.state, run, fetchers=self.workers, min_split_events=2 * self.page_size)
        self._remote = None
        try:
            if not writer.finished:
                with _prompt_gil_handoffs():
                    self._pump(writer)
            self.inserted += writer.inserted
            self.splits += writer.splits
            built = (self._remote or self.state).complete(run)
        finally:
            if self._remote is not None:
                self._remote.close()   # before the lock is released: no commit of this sync comes after it
        if built:
            log.info("built %d lookup indexes", len(built))

    def _pump(self, writer: WalkWriter) -> None:
        """Run the fetchers; commit what they hand over, in this thread, until the walk is done."""
        n = self.workers
        # Bounded, so fetchers cannot run ahead of the writer: memory stays flat however big the walk.
        inbox: Channel[PageBatch | _FetcherExit] = Channel(GROUP_COMMIT_PAGES + 2 * n)
        orders: list[Channel[Assignment | None]] = [Channel(1) for _ in range(n)]
        types = frozenset(self.filters.event_types)
        self.pacing.start()

        def fetcher(me: int) -> None:
            error: BaseException | None = None
            try:
                while (assignment := orders[me].get()) is not None:
                    walk = SliceWalk(assignment, event_types=types, tenant=self.filters.tenant_only,
                                     page_size=self.page_size)
                    while not walk.done:
                        query = walk.query()
                        try:
                            page = self.list_page(**query)
                        except ApiException as exc:
                            if walk.cursor_rejected(exc):
                                continue
                            raise
                        inbox.put(walk.take(page))
            except (Closed, Stopped):
                pass   # the writer is stopping
            except BaseException as exc:  # handed to the writer thread, which re-raises it
                error = exc
            with contextlib.suppress(Closed):
                inbox.put(_FetcherExit(error))

        threads = [threading.Thread(target=fetcher, args=(i,), name=f"archive-fetch-{i}", daemon=True)
                   for i in range(n)]
        for t in threads:
            t.start()
        handed_over = False
        try:
            handouts, _ = writer.step()
            while True:
                for who, assignment in handouts:
                    orders[who].put(assignment)
                if writer.finished:
                    return
                if n == 1 and not handed_over:
                    if self._remote is None and self.pages >= WRITER_PROCESS_AFTER_PAGES:
                        self._remote = RemoteCommits(self.state, wrap=WRITER_PROCESS_WRAP)
                    if self._remote is not None and (self._remote.ready() or not WRITER_PROCESS_AFTER_PAGES):
                        writer.commit_through(self._remote)   # nothing is in flight between steps
                        handed_over = True
                # Group commit: take the pages waiting (up to a cap, after a short linger for a few)
                # into one transaction. Each page still lands together with its slice position; fewer
                # commits mean far fewer index pages rewritten per event.
                failure: BaseException | None = None
                least = 1 if writer.has_idle else min(GROUP_MIN_PAGES, GROUP_COMMIT_PAGES)
                if self.checkpoints is not None and not len(inbox):
                    self.checkpoints.idle()   # waiting for the network anyway (see `_checkpoint`)
                for item in inbox.get_some(GROUP_COMMIT_PAGES, least=least, linger=GROUP_LINGER_S, urgent=_urgent):
                    if not isinstance(item, _FetcherExit):
                        writer.receive(item)
                    elif item.error is not None:
                        failure = failure or item.error
                # Pages that arrived before a failure are good: they are committed before it is raised.
                handouts, committed = writer.step()
                if self.checkpoints is not None:
                    self.checkpoints.committed(len(committed))
                for page in committed:
                    self.fetched += page.events
                    self.pages += 1
                    if self.progress is not None:
                        self.progress(page.events)
                if failure is not None:
                    raise failure
        finally:
            self.pacing.stop()
            inbox.close()
            for order in orders:
                order.close()
            deadline = time.monotonic() + _JOIN_TIMEOUT_S
            for t in threads:
                t.join(max(0.0, deadline - time.monotonic()))


_switch_lock = threading.Lock()
_switch_users = 0
_switch_saved = 0.0


@contextlib.contextmanager
def _prompt_gil_handoffs() -> Iterator[None]:
    """`_SWITCH_INTERVAL_S` for as long as any walk in this process runs; then the interval it was."""
    global _switch_users, _switch_saved
    with _switch_lock:
        if not _switch_users:
            _switch_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_saved, _SWITCH_INTERVAL_S))
        _switch_users += 1
    try:
        yield
    finally:
        with _switch_lock:
            _switch_users -= 1
            if not _switch_users:
                sys.setswitchinterval(_switch_saved)


@dataclass
class _FetcherExit:
    error: BaseException | None


def _urgent(item: PageBatch | _FetcherExit) -> bool:
    """Whether the writer should act on `item` now: a fetcher is about to need a new assignment."""
    return isinstance(item, _FetcherExit) or item.done
