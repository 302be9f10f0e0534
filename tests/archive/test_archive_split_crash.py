"""The split that used to lose events for good (issue 8), forced deterministically, then crashed.

Two fetchers: a dense old slice A and a sparse new slice B. B finishes at once, so the idle fetcher
splits A. The seam is the moment the split is decided: there, A's walker is let loose and runs to the
end of its slice before the split goes any further, so A's final "done" page is fetched while the split
is still only a decision. The sync then dies right after the commit that holds that page. Before the
writer owned the slices, that order committed "A done" without the new lower slice, and the resume
reported success with the lower half of A missing; now the resume must end exact.
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from openapiopenai.archive import Archive, Filters, _schedule, _state, sync_archive

NOW = 3000
SINCE = 1000


class Crash(Exception):
    pass


def test_split_then_upper_slice_done_then_crash_resumes_exact(
        tmp_path: Path, fake_service: Any, event_maker: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    dense = [event_maker(i, SINCE + i * 1000 // 304) for i in range(304)]        # slice A: [1000, 2000)
    sparse = [event_maker(1000 + i, 2000 + 300 * i) for i in range(3)]          # slice B: [2000, 3000)
    service, api = fake_service(dense + sparse)
    release, served_last = threading.Event(), threading.Event()
    a_pages = [0]

    def in_slice_a(request: httpx.Request) -> bool:
        return request.url.params.get("effective_at[lt]") == "2000"   # whatever its lower bound

    def before_answer(request: httpx.Request) -> None:
        if in_slice_a(request):
            a_pages[0] += 1
            if a_pages[0] > 1:   # A's first page goes through, so the splitter has an estimate
                assert release.wait(10), "the split never came"

    def after_answer(request: httpx.Request, response: httpx.Response) -> None:
        if in_slice_a(request) and b'"has_more": false' in response.content:
            served_last.set()

    service.before_answer, service.after_answer = before_answer, after_answer

    real_split = _schedule.Scheduler._split
    splits: list[Any] = []

    def split_and_let_the_upper_walker_finish(self: Any, sl: Any) -> Any:
        below, split = real_split(self, sl)
        if not splits:
            release.set()
            assert served_last.wait(10), "slice A's walker did not finish"
        splits.append(split)
        return below, split

    real_commit = _state.SyncState.commit
    crashed_at: list[list[tuple[int, bool]]] = []

    def commit_then_die(self: Any, pages: Any, splits_: Any) -> int:
        inserted = real_commit(self, pages, splits_)
        if any(p.slice_no == 0 and p.done for p in pages):
            crashed_at.append([(p.slice_no, p.done) for p in pages])
            raise Crash   # the process dies right after the commit holding A's "done" page
        return inserted

    monkeypatch.setattr(_schedule.Scheduler, "_split", split_and_let_the_upper_walker_finish)
    monkeypatch.setattr(_state.SyncState, "commit", commit_then_die)
    filters = Filters(since=SINCE)
    path = tmp_path / "a.sqlite"
    with Archive(path) as archive, pytest.raises(Crash):
        sync_archive(api, archive, filters, workers=2, page_size=10, clock=lambda: NOW)
    assert splits and crashed_at, "the interleaving was not forced"
    mid = splits[0].lo
    with Archive(path, readonly=True) as archive:
        slices = {r["slice_no"]: dict(r) for r in archive.connection.execute("SELECT * FROM sync_slices")}
    # A is done down to the cut, and the part below it is written down as slices of its own: the one the
    # split made, cut again if the idle fetcher split it too before the crash (a load-dependent
    # interleaving), so together they tile [SINCE, mid) with no gap and no overlap.
    assert slices[0]["done"] == 1 and slices[0]["lo"] == mid
    assert splits[0].below.no in slices
    below = sorted((s["lo"], s["hi"]) for no, s in slices.items() if no != 0 and s["hi"] <= mid)
    assert below[0][0] == SINCE and below[-1][1] == mid
    assert all(hi == lo for (_, hi), (lo, _) in itertools.pairwise(below)), below

    monkeypatch.setattr(_state.SyncState, "commit", real_commit)
    monkeypatch.setattr(_schedule.Scheduler, "_split", real_split)
    release.set()
    with Archive(path) as archive:
        result = sync_archive(api, archive, filters, workers=2, page_size=10, clock=lambda: NOW)
        assert result.resumed
        got = [(r["id"], r["raw"]) for r in archive.iter_rows()]
        assert got == [(e["id"], service.raw(e)) for e in service.events]
        [state] = archive.sync_state()
        assert not state["run_active"] and state["high_water"] == NOW
