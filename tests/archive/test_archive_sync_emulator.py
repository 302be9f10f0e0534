"""The sync against the emulator over real HTTP: the archive equals the service's events, byte for byte."""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from openapiopenai.archive import Archive, Filters, sync_archive


def expected_events(emu: Any, filters: Filters, upper: int) -> list[dict[str, Any]]:
    """What the service holds for `filters` below the run's frozen upper bound, newest first."""
    kwargs = filters.list_kwargs()
    kwargs["effective_at"] = {**kwargs.get("effective_at", {}), "lt": upper}
    events: list[dict[str, Any]] = emu.store.all_events(**kwargs)
    return events


def assert_exact(archive: Archive, emu: Any, filters: Filters, upper: int, *, alone: bool = True) -> int:
    """The archive holds exactly the service's events for `filters` up to `upper`, with identical raw text."""
    expected = expected_events(emu, filters, upper)
    bounded = dataclasses.replace(filters, until=upper if filters.until is None else min(upper, filters.until))
    rows = [(r["id"], r["raw"]) for r in archive.iter_rows(bounded)]
    assert [i for i, _ in rows] == [e["id"] for e in expected]
    for event_id, raw in rows:
        assert raw == emu.store.raw(event_id)
    if alone:   # nothing else in the archive either (no strays outside the filter or the range)
        assert archive.count() == len(expected) + archive.count(dataclasses.replace(bounded, since=upper, until=None))
    return len(expected)


def test_backfill_then_incremental_with_a_late_event(tmp_path: Path, make_emulator: Any, api_for: Any) -> None:
    emu = make_emulator(events=3000, seed=3)
    api = api_for(emu)
    with Archive(tmp_path / "a.sqlite") as archive:
        first = sync_archive(api, archive, page_size=50)
        n = assert_exact(archive, emu, Filters(), first.upper_bound)
        assert first.fetched == first.inserted == n > 2500
        assert first.duplicates == 0 and first.pages >= n // 50 and first.lower_bound is None
        high_water = first.upper_bound
        # New events, and one that shows up late: stamped 5 minutes before the high-water mark.
        emu.insert_events([{"type": "login.failed", "effective_at": int(time.time())} for _ in range(7)])
        [late] = emu.insert_events([{"type": "api_key.created", "effective_at": high_water - 300}])
        # A clock a second ahead (not a real wait), so the next upper bound includes the newest second.
        second = sync_archive(api, archive, page_size=50, clock=lambda: time.time() + 1)
        assert second.inserted == 8
        # Only the lookback window was re-read: what was already there came back as duplicates.
        window = expected_events(emu, Filters(since=high_water - 900), second.upper_bound)
        assert second.fetched == len(window) and second.duplicates == len(window) - 8
        assert archive.get_raw(late["id"]) == emu.store.raw(late["id"])
        assert_exact(archive, emu, Filters(), second.upper_bound)


def test_late_event_beyond_lookback_needs_a_longer_lookback(tmp_path: Path, make_emulator: Any, api_for: Any) -> None:
    emu = make_emulator(events=500, seed=4)
    api = api_for(emu)
    with Archive(tmp_path / "a.sqlite") as archive:
        first = sync_archive(api, archive, page_size=100)
        [late] = emu.insert_events([{"type": "login.failed", "effective_at": first.upper_bound - 3600}])
        sync_archive(api, archive, lookback=900)
        assert archive.get_raw(late["id"]) is None   # older than the window: the contract says so
        again = sync_archive(api, archive, lookback=7200)
        assert archive.get_raw(late["id"]) == emu.store.raw(late["id"])
        assert_exact(archive, emu, Filters(), again.upper_bound)


@pytest.mark.parametrize("filters", [
    Filters(event_types=("login.failed", "login.succeeded", "api_key.created")),
    Filters(tenant_only=True),
], ids=["types", "tenant"])
def test_filtered_sync_is_exact(tmp_path: Path, make_emulator: Any, api_for: Any, filters: Filters) -> None:
    emu = make_emulator(events=3000, seed=5)
    with Archive(tmp_path / "a.sqlite") as archive:
        result = sync_archive(api_for(emu), archive, filters, page_size=25)
        assert assert_exact(archive, emu, filters, result.upper_bound) > 0
        [state] = archive.sync_state()
        assert state["filters"] == filters and state["high_water"] == result.upper_bound


def test_scope_filters_and_since(tmp_path: Path, make_emulator: Any, api_for: Any) -> None:
    emu = make_emulator(events=3000, seed=6)
    events = emu.store.all_events()
    project = next(e["project"]["id"] for e in events[100:] if "project" in e)
    filters = Filters(project_ids=(project,), since=events[0]["effective_at"] - 40 * 86400)
    with Archive(tmp_path / "a.sqlite") as archive:
        result = sync_archive(api_for(emu), archive, filters, page_size=30)
        assert result.lower_bound == filters.since
        assert assert_exact(archive, emu, filters, result.upper_bound) > 0
        [state] = archive.sync_state()
        assert state["covered_from"] == filters.since


def test_workers_give_the_same_archive(tmp_path: Path, make_emulator: Any, api_for: Any) -> None:
    emu = make_emulator(events=3000, seed=7)
    api = api_for(emu)
    with Archive(tmp_path / "one.sqlite") as one, Archive(tmp_path / "four.sqlite") as four:
        r1 = sync_archive(api, one, page_size=40, workers=1)
        r4 = sync_archive(api, four, page_size=40, workers=4, clock=lambda: r1.upper_bound)
        assert r4.slices > 4 and r4.workers == 4
        assert r4.inserted == r1.fetched
        # A fetcher learns of a split of its slice only once the split is committed, so it may walk a
        # little past the cut meanwhile; the primary key absorbs the re-read. Bounded: about a page a slice.
        assert r4.duplicates <= r4.slices * 40
        assert list(four.iter_rows()) == list(one.iter_rows())
        assert_exact(four, emu, Filters(), r1.upper_bound)
        # Incremental with workers: the lookback window is sliced too, and nothing is lost.
        emu.insert_events([{"type": "login.succeeded", "effective_at": int(time.time())} for _ in range(5)])
        r4b = sync_archive(api, four, page_size=40, workers=4, clock=lambda: time.time() + 1)
        assert r4b.inserted == 5
        assert_exact(four, emu, Filters(), r4b.upper_bound)


def test_a_burst_that_ended_long_ago_is_shared_by_the_workers(tmp_path: Path, make_emulator: Any,
                                                               api_for: Any) -> None:
    # 3,000 events within one hour, a month before the run: every slice but the oldest is empty, and
    # that one's top lies weeks above its first event. Its density must come from the events walked,
    # or it looks sparse, is never split, and one fetcher walks it alone (8 slices, no faster than 1).
    emu = make_emulator(events=0)
    start = int(time.time()) - 30 * 86400
    emu.insert_events([{"type": "login.failed", "effective_at": start + (i * 7) % 3600} for i in range(3000)])
    with Archive(tmp_path / "a.sqlite") as archive:
        result = sync_archive(api_for(emu), archive, page_size=50, workers=8)
        assert result.slices > 8 and result.inserted == 3000
        assert_exact(archive, emu, Filters(), result.upper_bound)


@pytest.mark.usefixtures("quick_retries")
def test_exact_under_server_faults_and_rate_limits(tmp_path: Path, make_emulator: Any, api_for: Any) -> None:
    emu = make_emulator(events=3000, seed=8, fail_rate=0.3)
    # No retries of the client's own: the sync retries under its shared budget, past any per-request count.
    api = api_for(emu, max_retries=0)
    with Archive(tmp_path / "a.sqlite") as archive:
        result = sync_archive(api, archive, page_size=40, workers=2)
        assert_exact(archive, emu, Filters(), result.upper_bound)
        assert result.retries > 10
        emu.set_faults(fail_rate=0.0, rate_limit=5)  # a burst of five: three workers do hit it
        emu.insert_events([{"type": "login.failed", "effective_at": int(time.time())} for _ in range(30)])
        # The sync's waits are cut to 0.1 s (not the 1 s Retry-After), so three workers contend for five
        # tokens a second; its shared budget keeps them going however the draws fall.
        result = sync_archive(api, archive, page_size=5, workers=3, clock=lambda: time.time() + 1)
        assert result.inserted == 30
        assert_exact(archive, emu, Filters(), result.upper_bound)
    counters = emu.counters()
    # The faults and the 429s really happened (and were survived), or this test tested nothing.
    assert sum(counters["faults"].values()) > 0, counters
    assert counters["rate_limited"] > 0, counters


def test_archive_is_readable_while_a_sync_writes(tmp_path: Path, make_emulator: Any, api_for: Any) -> None:
    emu = make_emulator(events=2000, seed=9)
    path = tmp_path / "a.sqlite"
    seen: list[int] = []
    with Archive(path) as archive, Archive(path, readonly=True) as reader:

        def progress(n: int) -> None:
            seen.append(reader.count())   # WAL: a reader sees whole pages, never a half-written one

        result = sync_archive(api_for(emu), archive, page_size=100, progress=progress)
    assert seen == sorted(seen) and seen[-1] == result.fetched
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


@pytest.mark.slow
def test_eight_workers_under_a_tight_rate_limit(tmp_path: Path, make_emulator: Any, api_for: Any) -> None:
    # 3 requests/s for 8 workers: most requests first meet a 429. Each pauses every worker until its
    # Retry-After, and the sync goes on to the end (real waits: about 20 s).
    emu = make_emulator(events=1500, seed=10, rate_limit=3.0)
    with Archive(tmp_path / "a.sqlite") as archive:
        result = sync_archive(api_for(emu, max_retries=0), archive, page_size=100, workers=8, give_up_after=60)
        assert result.rate_limited > 0
        assert_exact(archive, emu, Filters(), result.upper_bound)
