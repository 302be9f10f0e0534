"""What a run walks, given what the archive already covers."""

from __future__ import annotations

import itertools

from openapiopenai.archive._plan import BRACKET_SLICES, History, cut_backfill, plan_run, split_span


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


def _tiles_all_below(cuts: list[tuple[int | None, int, int | None]], hi: int) -> None:
    assert cuts[0][0] is None and cuts[-1][1] == hi
    assert all(a[1] == b[0] for a, b in itertools.pairwise(cuts))
    assert all(lo is None or lo < up for lo, up, _ in cuts)
    assert all(floor is None for _, _, floor in cuts[1:])


def test_backfill_cut_tiles_everything_below_the_bound_whatever_the_probes_said() -> None:
    hi = 1_800_000_000
    for some, empty, newest, parts in itertools.product(
        (hi, hi - 60, hi - 86400, hi - 8_500_000), (0, hi - 165_000_000, hi - 9_000_000, hi - 1164),
        (hi - 1, hi - 30 * 86400, hi - 9_000_000), (1, 2, 3, 8, 16),
    ):
        if not empty < some:
            continue
        cuts = cut_backfill(History(newest=newest, some_below=some, empty_below=empty), hi, parts, min_width=300)
        _tiles_all_below(cuts, hi)
        assert cuts[0][2] == empty                        # the open slice's guess: nothing below it
        assert len(cuts) <= max(1, parts - 2) + BRACKET_SLICES


def test_backfill_cut_puts_most_fetchers_where_events_are_known() -> None:
    hi = 1_800_000_000
    history = History(newest=hi - 30 * 86400, some_below=hi - 8_500_000, empty_below=hi - 165_000_000)
    cuts = cut_backfill(history, hi, 8, min_width=300)
    bracket = [c for c in cuts if c[1] <= history.some_below]
    known = [c for c in cuts if c[0] is not None and c[0] >= history.some_below]
    assert len(bracket) == BRACKET_SLICES and len(known) == 6
    widths = [up - lo for lo, up, _ in known[:-1] if lo is not None]
    assert max(widths) - min(widths) <= 1                 # by width up to the newest event
    assert known[-1][1] == hi                             # the last reaches on to the bound
    # Spaced like the probes: each bracket slice reaches about as far back again, in distance from hi.
    ratios = [(hi - (lo if lo is not None else history.empty_below)) / (hi - up) for lo, up, _ in bracket]
    assert max(ratios) / min(ratios) < 1.01
    assert cut_backfill(history, hi, 1) == [(None, hi, history.empty_below)]
