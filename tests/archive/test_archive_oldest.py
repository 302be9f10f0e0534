"""The probes a parallel back-fill starts with: one round, at most `parallel` in flight, and a bracket
that holds the oldest event whatever the history's length."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from openapiopenai.archive import _walk
from openapiopenai.archive._walk import bracket_history

HI = 1_800_000_000


@pytest.mark.parametrize("parallel", [2, 3, 8, 32])
@pytest.mark.parametrize("age", [30, 3600, 40 * 86400, 3 * 365 * 86400])
@pytest.mark.parametrize("quiet", [0, 7 * 86400])
def test_one_round_brackets_the_oldest_event(monkeypatch: pytest.MonkeyPatch, parallel: int, age: int,
                                             quiet: int) -> None:
    pools: list[int] = []

    class RecordingPool(ThreadPoolExecutor):
        def __init__(self, max_workers: int, **kwargs: Any) -> None:
            pools.append(max_workers)
            super().__init__(max_workers, **kwargs)

    monkeypatch.setattr(_walk, "ThreadPoolExecutor", RecordingPool)
    oldest, newest = HI - quiet - age, HI - quiet - 1   # events every second in [oldest, newest]
    asked: list[int] = []

    def newest_before(t: int) -> int | None:
        asked.append(t)
        return None if t <= oldest else min(t - 1, newest)

    history = bracket_history(newest_before, HI, parallel=parallel)
    assert history is not None and history.newest == newest
    assert history.empty_below <= oldest < history.some_below   # the bracket holds the oldest event
    assert history.some_below <= HI
    assert pools == [parallel]                  # the fan-out is the workers', never more
    assert len(asked) == max(3, parallel)       # one round


def test_no_event_at_all() -> None:
    assert bracket_history(lambda t: None, HI, parallel=4) is None
