"""A state machine over the sync's planner, scheduler, writer and walkers, with crashes anywhere.

Hypothesis plays every thread of a sync by hand, one step at a time, in any order: a fetcher sends its
next request (reading its slice's bound then), or gets its answer later (so a split can land between
the two), the writer takes in some of the pages waiting and commits, or the process crashes and a new
sync takes the walk over (maybe with another number of fetchers). Event layouts (dense clusters,
shared seconds), fetcher counts and page sizes are random.

After every step the archive's state must keep the promise: every event of the service in the walk's
range is either archived or still owed by an open slice, below that slice's saved cursor. At the end
the walk is driven to completion and the archive must hold exactly the service's events.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from openapiopenai.archive import Archive, Filters
from openapiopenai.archive._pacing import Pacing
from openapiopenai.archive._page import read_page
from openapiopenai.archive._state import PageBatch, Run
from openapiopenai.archive._sync import _Engine
from openapiopenai.archive._walk import SliceWalk
from openapiopenai.archive._writer import WalkWriter

BASE = 10_000
NOW = BASE + 2000


class SyncMachine(RuleBasedStateMachine):
    splits_seen = 0
    def __init__(self, make_service: Any, make_event: Any) -> None:
        super().__init__()
        self.make_service = make_service
        self.make_event = make_event
        self.dir = Path(tempfile.mkdtemp(prefix="sync-machine-"))
        self.archive: Archive | None = None
        self.done = False
        self.crashes = 0

    # -- set-up -------------------------------------------------------------------------------------
    @initialize(
        # A dense stretch (where splits happen: the splitter estimates by time) among sparse events,
        # some sharing a second (so pages end inside a second).
        dense_from=st.integers(0, 1500), dense_width=st.integers(50, 900),
        dense=st.lists(st.integers(0, 1000), max_size=80), sparse=st.lists(st.integers(0, 1999), max_size=12),
        workers=st.integers(1, 4), page_size=st.integers(1, 7), open_below=st.booleans(),
    )
    def start(self, dense_from: int, dense_width: int, dense: list[int], sparse: list[int], workers: int,
              page_size: int, open_below: bool) -> None:
        seconds = [min(1999, dense_from + d * dense_width // 1000) for d in dense] + sparse
        events = [self.make_event(i, BASE + s) for i, s in enumerate(seconds)]
        self.service, self.api = self.make_service(events)
        self.filters = Filters() if open_below else Filters(since=BASE)
        self.page_size = page_size
        self.archive = Archive(self.dir / "a.sqlite")
        self._engine(workers, plan=True)

    def _engine(self, workers: int, *, plan: bool) -> None:
        assert self.archive is not None
        self.workers = workers
        state = self.archive.sync_state_of(self.filters)
        engine = _Engine(self.api, state, self.filters, workers=workers, page_size=self.page_size, progress=None,
                         pacing=Pacing())
        run: Run | None = engine.plan_new_run(NOW, 900) if plan else state.take_over(engine.owner)
        assert run is not None or (not plan and self.done), "a walk was lost"
        if run is None:
            return   # a crash after the walk completed: nothing to take over
        real_commit = state.commit

        def commit_and_check(pages: Any, splits: Any) -> int:
            # A crash may come right after any transaction: the promise must hold after each one.
            inserted = real_commit(pages, splits)
            self.every_event_is_archived_or_owed()
            return inserted

        state.commit = commit_and_check  # type: ignore[method-assign]
        self.state, self.run = state, run
        self.writer = WalkWriter(state, run, fetchers=workers, min_split_events=2 * self.page_size)
        self.walks: dict[int, SliceWalk] = {}
        self.sent: dict[int, dict[str, Any]] = {}   # fetcher -> the query it sent, not yet answered
        self.inbox: list[PageBatch] = []
        self._hand_out(self.writer.step()[0])

    def _hand_out(self, handouts: list[Any]) -> None:
        for fetcher, assignment in handouts:
            if assignment is None:
                self.walks.pop(fetcher, None)
            else:
                self.walks[fetcher] = SliceWalk(assignment, event_types=frozenset(), tenant=False,
                                                page_size=self.page_size)

    # -- the steps ----------------------------------------------------------------------------------
    @precondition(lambda self: not self.done)
    @rule(who=st.integers(0, 3))
    def send(self, who: int) -> None:
        walk = self.walks.get(who % self.workers)
        if walk is not None and not walk.done and who % self.workers not in self.sent:
            self.sent[who % self.workers] = walk.query()

    @precondition(lambda self: not self.done)
    @rule(who=st.integers(0, 3))
    def answer(self, who: int) -> None:
        fetcher = who % self.workers
        if fetcher in self.sent:
            # The service's events do not change, so answering now is answering when it was sent.
            page = read_page(self.api, **self.sent.pop(fetcher))
            self.inbox.append(self.walks[fetcher].take(page))

    @precondition(lambda self: not self.done)
    @rule(who=st.integers(0, 3))
    def run_ahead(self, who: int) -> None:
        """One fetcher walks to the end of its slice while the writer commits nothing (a slow writer)."""
        walk = self.walks.get(who % self.workers)
        for _ in range(200):
            if walk is None or walk.done:
                return
            self.send(who)
            self.answer(who)

    @precondition(lambda self: not self.done)
    @rule(take=st.integers(0, 8))
    def commit(self, take: int) -> None:
        for page in self.inbox[:take]:
            self.writer.receive(page)
        del self.inbox[:take]
        handouts, _ = self.writer.step()
        self._hand_out(handouts)

    @precondition(lambda self: not self.done)
    @rule()
    def round_of_everyone(self) -> None:
        """Every fetcher sends and gets its answer, then the writer commits all: the walk moves on."""
        for fetcher in range(self.workers):
            self.send(fetcher)
            self.answer(fetcher)
        self.commit(len(self.inbox))

    @rule(workers=st.integers(1, 4), now=st.integers(0, 3))
    def crash(self, workers: int, now: int) -> None:
        # Everything in memory is lost; a new sync takes the walk over from what was committed.
        if now:
            return   # (drawn so that crashes are one step in four, and the walk gets somewhere first)
        assert self.archive is not None
        self.archive.close()
        self.archive = Archive(self.dir / "a.sqlite")
        self.crashes += 1
        SyncMachine.splits_seen += self.writer.splits
        self._engine(workers, plan=False)

    @precondition(lambda self: not self.done and self.writer.finished)
    @rule()
    def complete(self) -> None:
        self.state.complete(self.run)
        self.done = True

    # -- the promise --------------------------------------------------------------------------------
    def _expected(self) -> list[dict[str, Any]]:
        lo = self.filters.since
        return [e for e in self.service.events if e["effective_at"] < NOW and (lo is None or e["effective_at"] >= lo)]

    @invariant()
    def every_event_is_archived_or_owed(self) -> None:
        if self.archive is None:
            return
        conn = self.archive.connection
        have = dict(conn.execute("SELECT id, raw FROM audit_logs").fetchall())
        by_id = {e["id"]: e for e in self.service.events}
        assert all(raw == self.service.raw(by_id[i]) for i, raw in have.items())
        slices = [dict(r) for r in conn.execute("SELECT * FROM sync_slices")]
        for e in self._expected():
            if e["id"] in have:
                continue
            at = e["effective_at"]
            owed = [s for s in slices if not s["done"] and (s["lo"] is None or s["lo"] <= at) and at < s["hi"]
                    and (s["cursor_id"] is None or (at, e["id"]) < (s["cursor_at"], s["cursor_id"]))]
            assert owed, f"event {e['id']} at {at} is neither archived nor owed by an open slice: {slices}"

    def teardown(self) -> None:
        try:
            if self.archive is not None:
                self._run_to_completion()
                got = [r["id"] for r in self.archive.iter_rows(self.filters)]
                assert got == [e["id"] for e in self._expected()]
                [state] = self.archive.sync_state()
                assert not state["run_active"] and state["high_water"] == NOW
        finally:
            if self.archive is not None:
                self.archive.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    def _run_to_completion(self) -> None:
        for _ in range(10_000):
            if self.done:
                return
            for fetcher in list(self.sent):
                self.answer(fetcher)
            for fetcher in range(self.workers):
                self.send(fetcher)
                self.answer(fetcher)
            self.commit(len(self.inbox))
            self.every_event_is_archived_or_owed()
            if self.writer.finished:
                self.complete()
        raise AssertionError("the walk did not finish")


def test_sync_state_machine(fake_service: Any, event_maker: Any) -> None:
    run_state_machine_as_test(
        lambda: SyncMachine(fake_service, event_maker),
        settings=settings(max_examples=60, stateful_step_count=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow]),
    )
