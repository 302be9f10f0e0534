"""The writer's side of a walk: it alone owns the slices' state, decides splits, and commits.

One `WalkWriter` per walk, driven by one thread (the caller's, the only SQLite writer). It is fed the
fetchers' pages in the order they arrived (`receive`) and, between groups, `step()`s: it decides what
each idle fetcher walks next, commits the pages received and the splits decided in ONE transaction,
and only then publishes what fetchers may see (the new lower bound of a split slice, the assignments).

Why that order makes the walk exact by construction: at every commit the saved slices tile what is not
yet in the archive. A split writes the shrunk upper slice and the new lower slice in the same
transaction; the fetcher of the upper slice learns the raised bound only after that commit, so every
page it sends was fetched with a bound at or below the committed one, and its final "done" page can
only ever claim ground that the saved state already gave it. A crash at any instant leaves a state
that resumes to the same archive.

A back-fill into an empty archive walks without the lookup indexes (see `_sync`). They are built once
the scheduler will split nothing more: the few pages left are then in flight, the writer would only
wait for them, and the walk's completion has nothing left to build after its last page. The last
pages maintain the indexes instead, a few hundred events at most per fetcher.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Protocol

from openapiopenai.archive._errors import SyncError
from openapiopenai.archive._schedule import Scheduler
from openapiopenai.archive._state import PageBatch, Run, SliceState, Split, SyncState
from openapiopenai.archive._walk import Assignment

__all__ = ["Commits", "Handout", "WalkWriter"]

#: ``(fetcher, assignment)``; None tells the fetcher the walk needs it no more.
Handout = tuple[int, Assignment | None]


class Commits(Protocol):
    """Where the writer's transactions go: `SyncState` itself, or `_writer_process.RemoteCommits`."""

    def commit(self, pages: Sequence[PageBatch], splits: Sequence[Split]) -> int: ...

    def build_indexes(self) -> list[str]: ...


class WalkWriter:
    def __init__(self, state: SyncState, run: Run, *, fetchers: int, min_split_events: int) -> None:
        self._state: Commits = state
        self._slices: dict[int, SliceState] = {s.no: s for s in run.slices}
        self._scheduler = Scheduler([s for s in run.slices if not s.done],
                                    next_no=max(self._slices, default=-1) + 1, min_split_events=min_split_events)
        self._idle: deque[int] = deque(range(fetchers))
        self._walking: dict[int, tuple[int, Assignment]] = {}   # slice_no -> (fetcher, its assignment)
        self._pages: list[PageBatch] = []
        self._splits: list[Split] = []
        self.inserted = 0
        self.splits = 0
        self._indexes_due = True

    @property
    def finished(self) -> bool:
        """Every slice is done and committed."""
        return self._scheduler.finished and not self._pages

    @property
    def has_idle(self) -> bool:
        """Some fetcher waits for an assignment the next `step` may give it."""
        return bool(self._idle)

    def commit_through(self, commits: Commits) -> None:
        """From the next `step` on, make the transactions there (between steps nothing is in flight)."""
        self._state = commits

    def receive(self, page: PageBatch) -> None:
        """A fetcher's page, to go into the next commit; its slice's position moves in memory now."""
        sl = self._slices[page.slice_no]
        if page.lo is not None and (sl.lo is None or page.lo > sl.lo):
            # Cannot happen by construction (bounds are published after their commit); if it ever did,
            # the page would claim ground the saved state does not give its slice.
            raise SyncError(f"internal error: slice {sl.no} page fetched from {page.lo}, above its bound {sl.lo}")
        sl.cursor_id, sl.cursor_at, sl.hi = page.cursor_id, page.cursor_at, page.hi
        if sl.first_at is None and page.heads:
            sl.first_at = page.heads[0].effective_at
        sl.pages += 1
        sl.fetched += page.events
        sl.done = page.done
        self._pages.append(page)
        if page.done:
            fetcher, _ = self._walking.pop(sl.no)
            self._scheduler.done(sl.no)
            self._idle.append(fetcher)

    def step(self) -> tuple[list[Handout], list[PageBatch]]:
        """Give idle fetchers work, commit what was received and decided, then publish it.

        Returns the hand-outs to deliver and the pages just committed.
        """
        handouts: list[Handout] = []
        raised: list[tuple[Assignment, int]] = []
        while self._idle:
            sl, split, wait = self._scheduler.take()
            if sl is None:
                if wait:
                    break   # a slice has no page yet to estimate from: decide once its first is in
                handouts.append((self._idle.popleft(), None))
                continue
            if split is not None:
                self._splits.append(split)
                self._slices[sl.no] = sl
                raised.append((self._walking[split.no][1], split.lo))
            fetcher = self._idle.popleft()
            assignment = Assignment(sl)
            self._walking[sl.no] = (fetcher, assignment)
            handouts.append((fetcher, assignment))
        committed, splits = self._pages, self._splits
        if committed or splits:
            self.inserted += self._state.commit(committed, splits)
            self.splits += len(splits)
        self._pages, self._splits = [], []
        # Only now, with the split in the archive, may the upper slice's fetcher stop short of it.
        for assignment, lo in raised:
            assignment.publish_lo(lo)
        if self._indexes_due and self._scheduler.ending():
            self._indexes_due = False
            self._state.build_indexes()
        return handouts, committed
