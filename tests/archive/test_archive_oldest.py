"""The search for the oldest event: close enough to cut the walk, with at most `parallel` probes in flight."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from openapiopenai.archive import _walk
from openapiopenai.archive._walk import find_oldest

HI = 1_800_000_000


@pytest.mark.parametrize("parallel", [2, 3, 8, 32])
@pytest.mark.parametrize("age", [30, 3600, 40 * 86400, 3 * 365 * 86400])
def test_finds_the_oldest_event_within_half_the_span(monkeypatch: pytest.MonkeyPatch, parallel: int,
                                                               age: int) -> None:
    pools: list[int] = []

    class RecordingPool(ThreadPoolExecutor):
        def __init__(self, max_workers: int, **kwargs: Any) -> None:
            pools.append(max_workers)
            super().__init__(max_workers, **kwargs)

    monkeypatch.setattr(_walk, "ThreadPoolExecutor", RecordingPool)
    oldest = HI - age
    asked: list[int] = []

    def exists_before(t: int) -> bool:
        asked.append(t)
        return t > oldest

    found = find_oldest(exists_before, HI, parallel=parallel)
    assert found is not None and found <= oldest   # errs low only, never cuts events off
    assert oldest - found <= max(1, age // 2)
    assert pools == [parallel]                     # the fan-out is the workers', never more
    assert len(asked) <= 12 * max(3, parallel)     # a few rounds


def test_no_event_at_all() -> None:
    assert find_oldest(lambda t: False, HI, parallel=4) is None
