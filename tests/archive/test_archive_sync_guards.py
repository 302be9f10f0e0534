"""The sync against a scripted service: exactness, resume, and the guards against a misbehaving service."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from openapiopenai.archive import Archive, ArchiveError, Filters, SyncBusy, SyncError, _sync, sync_archive
from openapiopenai.archive._lock import SyncLock, lock_path

NOW = 2_000_000


def _events(event_maker: Any, n: int = 50, *, same_second_every: int = 4) -> list[dict[str, Any]]:
    # Several events share each second, so page boundaries fall inside a second.
    return [event_maker(i, 1_000_000 + i // same_second_every, "login.failed" if i % 3 == 0 else "login.succeeded")
            for i in range(n)]


def _archive_matches(archive: Archive, service: Any, filters: Filters | None = None) -> None:
    wanted = [e for e in service.events if filters is None or not filters.event_types or e["type"] in filters.event_types]
    got = [(r["id"], r["raw"]) for r in archive.iter_rows()]
    assert got == [(e["id"], service.raw(e)) for e in wanted]


class Crash(Exception):
    pass


def _crash_after(pages: int) -> Any:
    seen = [0]

    def progress(n: int) -> None:
        seen[0] += 1
        if seen[0] >= pages:
            raise Crash

    return progress


def test_sync_is_exact_and_keeps_raw_bytes(tmp_path: Path, fake_service: Any, event_maker: Any) -> None:
    service, api = fake_service(_events(event_maker))
    counts: list[int] = []
    with Archive(tmp_path / "a.sqlite") as archive:
        result = sync_archive(api, archive, page_size=7, clock=lambda: NOW, progress=counts.append)
        _archive_matches(archive, service)
        assert (result.fetched, result.inserted, result.duplicates, result.pages) == (50, 50, 0, 8)
        assert counts == [7] * 7 + [1]
        assert not result.resumed and result.upper_bound == NOW and result.lower_bound is None
        [state] = archive.sync_state()
        assert state["high_water"] == NOW and state["covered_from"] is None and not state["run_active"]
        # The next run only re-reads the lookback window before the high-water mark.
        service.events.insert(0, event_maker(500, NOW + 10))
        again = sync_archive(api, archive, page_size=7, clock=lambda: NOW + 60)
        assert (again.fetched, again.inserted) == (1, 1)
        assert service.requests[-1]["gte"] == str(NOW - 900)
        _archive_matches(archive, service)


def test_filtered_sync_keeps_its_own_watermark(tmp_path: Path, fake_service: Any, event_maker: Any) -> None:
    service, api = fake_service(_events(event_maker))
    failed = Filters(event_types=("login.failed",))
    with Archive(tmp_path / "a.sqlite") as archive:
        result = sync_archive(api, archive, failed, page_size=5, clock=lambda: NOW)
        assert result.inserted == 17
        _archive_matches(archive, service, failed)
        assert all(q["types"] == ["login.failed"] for q in service.requests)
        assert [s["filters"] for s in archive.sync_state()] == [failed]
        sync_archive(api, archive, page_size=5, clock=lambda: NOW)
        assert len(archive.sync_state()) == 2
        assert archive.count(failed) == 17 and archive.count() == 50


def _saved_cursor(archive: Archive) -> str:
    row = archive.connection.execute("SELECT cursor_id FROM sync_slices").fetchone()
    return str(row[0])


@pytest.fixture
def one_page_commits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commit page by page, so a crash after k progress calls leaves exactly k pages committed."""
    monkeypatch.setattr(_sync, "GROUP_COMMIT_PAGES", 1)


@pytest.mark.usefixtures("one_page_commits")
def test_interrupted_run_resumes_from_its_cursor(tmp_path: Path, fake_service: Any, event_maker: Any) -> None:
    service, api = fake_service(_events(event_maker))
    with Archive(tmp_path / "a.sqlite") as archive:
        with pytest.raises(Crash):
            sync_archive(api, archive, page_size=5, clock=lambda: NOW, progress=_crash_after(3))
        saved = _saved_cursor(archive)
        committed = archive.count()
        # What is committed is exactly the pages up to the saved cursor, newest first.
        assert committed == 15 and service.events[committed - 1]["id"] == saved
        [state] = archive.sync_state()
        assert state["run_active"] and state["high_water"] is None and state["run_slices_done"] == 0
        n_requests = len(service.requests)
        result = sync_archive(api, archive, page_size=5, clock=lambda: NOW + 5)
        assert result.resumed and result.duplicates == 0 and result.inserted == 50 - committed
        assert service.requests[n_requests]["after"] == saved
        _archive_matches(archive, service)


@pytest.mark.usefixtures("one_page_commits")
def test_forgotten_cursor_restarts_from_its_second(tmp_path: Path, fake_service: Any, event_maker: Any) -> None:
    service, api = fake_service(_events(event_maker))
    with Archive(tmp_path / "a.sqlite") as archive:
        with pytest.raises(Crash):
            sync_archive(api, archive, page_size=6, clock=lambda: NOW, progress=_crash_after(1))
        saved = next(e for e in service.events if e["id"] == _saved_cursor(archive))
        service.forgotten.add(saved["id"])
        result = sync_archive(api, archive, page_size=6, clock=lambda: NOW)
        assert result.resumed
        # Re-read the saved event's second (lt at+1), so events sharing it cannot be skipped.
        restart = next(q for q in service.requests if q["after"] is None and q["lt"] == str(saved["effective_at"] + 1))
        assert restart["gte"] is None
        assert result.duplicates >= 1
        _archive_matches(archive, service)


def test_time_filter_ignored_by_the_service_is_caught(tmp_path: Path, fake_service: Any, event_maker: Any) -> None:
    service, api = fake_service(_events(event_maker))
    service.ignore_time_filter = True
    with Archive(tmp_path / "a.sqlite") as archive:
        with pytest.raises(SyncError, match="outside the requested range"):
            sync_archive(api, archive, Filters(until=1_000_005), page_size=10, clock=lambda: NOW)
        assert archive.count() == 0
        assert archive.sync_state()[0]["high_water"] is None


def test_repeated_cursor_is_caught(tmp_path: Path, fake_service: Any, event_maker: Any) -> None:
    # All in one second, so only the cursor check (not the order check) can notice the loop.
    service, api = fake_service(_events(event_maker, same_second_every=100))
    service.repeat_cursor = True
    with Archive(tmp_path / "a.sqlite") as archive:
        with pytest.raises(SyncError, match="repeated the cursor"):
            sync_archive(api, archive, page_size=5, clock=lambda: NOW)
        assert archive.count() == 10   # the two good pages stay committed, nothing else
        assert archive.sync_state()[0]["high_water"] is None


def test_empty_page_with_more_is_caught(tmp_path: Path, fake_service: Any, event_maker: Any) -> None:
    service, api = fake_service(_events(event_maker))
    service.empty_has_more = True
    with Archive(tmp_path / "a.sqlite") as archive, pytest.raises(SyncError, match="no progress"):
        sync_archive(api, archive, page_size=5, clock=lambda: NOW)


def test_out_of_order_page_is_caught(tmp_path: Path, fake_service: Any, event_maker: Any) -> None:
    service, api = fake_service(_events(event_maker))
    service.shuffle_page = True
    with Archive(tmp_path / "a.sqlite") as archive:
        with pytest.raises(SyncError, match="out of order"):
            sync_archive(api, archive, page_size=8, clock=lambda: NOW)
        assert archive.count() == 0


def test_second_sync_on_a_live_archive_is_refused_and_the_first_finishes(
        tmp_path: Path, fake_service: Any, event_maker: Any) -> None:
    service, api = fake_service(_events(event_maker))
    path = tmp_path / "a.sqlite"
    refused: list[SyncBusy] = []

    def progress(n: int) -> None:
        if not refused:
            with Archive(path) as other, pytest.raises(SyncBusy) as info:
                sync_archive(api, other, page_size=5, clock=lambda: NOW)
            refused.append(info.value)

    with Archive(path) as archive:
        result = sync_archive(api, archive, page_size=5, clock=lambda: NOW, progress=progress)
        assert str(refused[0]) == f"another sync is running on a.sqlite, pid {os.getpid()}"
        assert refused[0].pid == os.getpid()
        assert result.inserted == 50 and not result.resumed
        _archive_matches(archive, service)
        assert not archive.sync_state()[0]["run_active"]
        # Released at the end: the next sync runs.
        assert sync_archive(api, archive, page_size=5, clock=lambda: NOW).inserted == 0


def test_sync_lock_waits_for_its_holder_then_takes_it(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    holder = SyncLock(path)
    holder.acquire()
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds
        if len(waits) == 3:
            holder.release()   # the running sync ends while the second waits

    with SyncLock(path, clock=lambda: now[0], sleep=sleep) as second:
        second.acquire(wait=60)
        assert len(waits) == 3 and now[0] < 1
        assert lock_path(path).read_text() == f"{os.getpid()}\n"
        # A third gives up once its wait is over, naming the holder.
        with SyncLock(path, clock=lambda: now[0], sleep=sleep) as third, pytest.raises(SyncBusy, match="pid"):
            third.acquire(wait=2.0)
        assert now[0] == pytest.approx(0.6 + 2.0)
    assert lock_path(path).read_text() == ""   # released: no stale pid for the next message


def test_bad_arguments(tmp_path: Path, fake_service: Any, event_maker: Any) -> None:
    _, api = fake_service([])
    path = tmp_path / "a.sqlite"
    with Archive(path) as archive:
        for kwargs in ({"workers": 0}, {"page_size": 0}, {"page_size": 101}, {"lookback": -1}):
            with pytest.raises(ValueError):
                sync_archive(api, archive, **kwargs)
    with Archive(path, readonly=True) as archive, pytest.raises(ArchiveError, match="read-only"):
        sync_archive(api, archive)


def test_empty_service_completes(tmp_path: Path, fake_service: Any) -> None:
    _, api = fake_service([])
    with Archive(tmp_path / "a.sqlite") as archive:
        for workers in (1, 3):
            result = sync_archive(api, archive, workers=workers, clock=lambda: NOW)
            assert result.fetched == 0
        assert archive.sync_state()[0]["high_water"] == NOW
