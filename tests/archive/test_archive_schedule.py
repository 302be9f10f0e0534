"""Splitting a slice for an idle fetcher: the halves tile the original range, nothing is dropped."""

from __future__ import annotations

from openapiopenai.archive._schedule import Scheduler
from openapiopenai.archive._state import SliceState


def test_idle_fetcher_takes_the_lower_half_of_the_busiest_slice() -> None:
    dense = SliceState(0, 1000, 2000)
    sparse = SliceState(1, 2000, 3000)
    scheduler = Scheduler([dense, sparse], next_no=2, min_split_events=40)
    assert scheduler.take()[0] is dense and scheduler.take()[0] is sparse
    assert scheduler.take() == (None, None, True)   # no page seen yet: ask again once one is in
    dense.cursor_at, dense.fetched = 1900, 500       # 5 events/s, ~4500 ahead
    sparse.cursor_at, sparse.fetched = 2900, 10
    below, split, wait = scheduler.take()
    assert below is not None and split is not None and not wait
    assert (below.lo, below.hi) == (1000, 1450) and (dense.lo, dense.hi) == (1450, 2000)
    assert (split.no, split.lo, split.below) == (0, 1450, below) and below.no == 2


def test_density_counts_from_the_first_event_not_the_slice_top() -> None:
    # The history ended long before the slice's top (90,000 s of nothing above the first event): 500
    # events in the last 100 s walked is 5 events/s, ~4,500 ahead, however empty the time above was.
    # Measured from the top it would be 0.0055/s, ~5 ahead, and the burst would be walked by one fetcher.
    burst = SliceState(0, 9000, 100_000)
    scheduler = Scheduler([burst], next_no=1, min_split_events=40)
    scheduler.take()
    burst.first_at, burst.cursor_at, burst.fetched = 9999, 9900, 500
    below, split, _ = scheduler.take()
    assert below is not None and split is not None
    assert (below.lo, below.hi) == (9000, 9450) and burst.lo == 9450
    resumed = SliceState(1, 9000, 100_000, cursor_at=9900, fetched=500)   # first_at unknown after a resume
    scheduler = Scheduler([resumed], next_no=2, min_split_events=40)
    scheduler.take()
    assert scheduler.take() == (None, None, False)   # the bound is all it has: no split


def test_open_slice_splits_around_the_estimated_oldest_event() -> None:
    oldest = SliceState(0, None, 2000, floor=1000)
    scheduler = Scheduler([oldest], next_no=1, min_split_events=40)
    scheduler.take()
    oldest.cursor_at, oldest.fetched = 1800, 400
    below, split, _ = scheduler.take()
    assert below is not None and split is not None
    assert below.lo is None and below.hi == 1400 and below.floor == 1000   # still open below
    assert oldest.lo == 1400 and oldest.floor is None


def test_nothing_worth_splitting_ends_the_fetcher() -> None:
    sl = SliceState(0, 1000, 2000)
    scheduler = Scheduler([sl], next_no=1, min_split_events=40)
    scheduler.take()
    sl.cursor_at, sl.fetched = 1010, 990   # ~10 events left
    assert scheduler.take() == (None, None, False)
    resumed_open = SliceState(1, None, 500, cursor_at=400, fetched=100)   # no floor after a resume
    scheduler = Scheduler([resumed_open], next_no=2, min_split_events=40)
    scheduler.take()
    assert scheduler.take() == (None, None, False) and not scheduler.finished
    scheduler.done(resumed_open.no)
    assert scheduler.take() == (None, None, False) and scheduler.finished


def test_the_walk_is_ending_once_no_slice_can_be_split_any_more() -> None:
    a = SliceState(0, 1000, 2000)
    b = SliceState(1, 2000, 3000)
    scheduler = Scheduler([a, b], next_no=2, min_split_events=40)
    assert not scheduler.ending()              # both still wait to be taken
    scheduler.take()
    assert not scheduler.ending()              # b still waits
    scheduler.take()
    assert not scheduler.ending()              # no page of either yet: nothing known
    a.cursor_at, a.fetched = 1500, 50          # 0.1 events/s walked from the top: ~50 ahead, still splittable
    b.cursor_at, b.fetched = 2100, 90          # 0.1/s too: ~10 ahead
    assert not scheduler.ending()
    a.cursor_at, a.fetched = 1050, 95          # ~5 ahead now
    assert scheduler.ending()
    scheduler.done(0)
    scheduler.done(1)
    assert not scheduler.ending()              # ended, not ending


def test_a_slice_open_below_without_an_estimate_is_never_ending() -> None:
    # A resumed walk does not know where the oldest event is: however slow its walk looked, it may hold
    # any number of events below its cursor.
    resumed = SliceState(0, None, 2000, cursor_at=1990, fetched=1)
    scheduler = Scheduler([resumed], next_no=1, min_split_events=40)
    scheduler.take()
    assert not scheduler.ending()
    guessed = SliceState(0, None, 2000, floor=1980)   # probes said nothing is older than 1980
    scheduler = Scheduler([guessed], next_no=1, min_split_events=40)
    scheduler.take()
    guessed.cursor_at, guessed.fetched = 1990, 10
    assert scheduler.ending()
