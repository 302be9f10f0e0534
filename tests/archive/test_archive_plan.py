"""What a run walks, given what the archive already covers."""

from __future__ import annotations

import itertools

from openapiopenai.archive._plan import plan_run, split_span


def test_first_run_walks_everything_asked() -> None:
    assert plan_run(None, 1000, None, 900).need == [(None, 1000)]
    assert plan_run(100, 1000, None, 900).need == [(100, 1000)]
    assert plan_run(100, 1000, None, 900).covered == (100, 1000)


def test_later_run_walks_from_high_water_minus_lookback() -> None:
    plan = plan_run(None, 10_000, (None, 5000), 900)
    assert plan.need == [(4100, 10_000)]
    assert plan.covered == (None, 10_000)


def test_a_relative_since_stays_incremental() -> None:
    # "the last 7 days" each run: since moves forward, still only the new part is walked.
    plan = plan_run(3000, 10_000, (1000, 5000), 900)
    assert plan.need == [(4100, 10_000)]
    assert plan.covered == (1000, 10_000)


def test_an_older_since_adds_the_older_part() -> None:
    plan = plan_run(100, 10_000, (1000, 5000), 900)
    assert plan.need == [(100, 1000), (4100, 10_000)]
    assert plan.covered == (100, 10_000)


def test_a_request_inside_the_trusted_part_needs_nothing() -> None:
    assert plan_run(1500, 3000, (1000, 5000), 900).need == []


def test_a_gap_is_walked_so_the_covered_span_stays_one_interval() -> None:
    plan = plan_run(8000, 10_000, (1000, 5000), 900)
    assert plan.need == [(4100, 10_000)]
    assert plan.covered == (1000, 10_000)


def test_covered_span_shorter_than_lookback_is_walked_again() -> None:
    plan = plan_run(None, 2000, (1000, 1500), 900)
    assert plan.need == [(None, 2000)]


def test_empty_request() -> None:
    assert plan_run(500, 500, None, 900).need == []


def test_split_span_is_contiguous_and_respects_min_width() -> None:
    parts = split_span(0, 1000, 7)
    assert parts[0][0] == 0 and parts[-1][1] == 1000
    assert all(a[1] == b[0] for a, b in itertools.pairwise(parts))
    assert len(parts) == 7
    assert split_span(0, 1000, 50, min_width=300) == [(0, 333), (333, 666), (666, 1000)]
    assert split_span(5, 6, 8) == [(5, 6)]


def test_an_old_one_off_request_walks_only_the_older_part() -> None:
    plan = plan_run(100, 500, (1000, 5000), 900)
    assert plan.need == [(100, 1000)]
    assert plan.covered == (100, 5000)
