"""Repeated, interleaved measurement.

Absolute times on a shared 2-core machine drift by tens of percent over a minute; interleaving the
contenders round by round (A B C D, A B C D, ...) makes a slow patch hit every contender alike, and the
median of the rounds ignores the odd preempted one.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator, Mapping

__all__ = ["Budget", "interleave", "median", "time_batch"]


def median(values: list[float]) -> float:
    return statistics.median(values)


def time_batch(fn: Callable[[], object], calls: int) -> float:
    """Seconds per call over ``calls`` back-to-back calls (one timer read per batch, not per call)."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def interleave(
    measures: Mapping[str, Callable[[], float]], rounds: int, *, warmup: bool = True
) -> dict[str, list[float]]:
    """Run each measure once per round, in turn, ``rounds`` times; returns every sample per name.

    The warm-up round (imports, connection set-up, caches) is run but not recorded, so the first
    contender does not pay for what the others then get for free.
    """
    samples: dict[str, list[float]] = {name: [] for name in measures}
    if warmup:
        for measure in measures.values():
            measure()
    for _ in range(rounds):
        for name, measure in measures.items():
            samples[name].append(measure())
    return samples


class Budget:
    """The whole run's time limit, spent round by round.

    The long rows (whole-archive syncs, 100,000-event walks) cost minutes per round on a shared
    2-core machine, and their speed depends on what else runs there. Each such row gets its first
    round unconditionally and further rounds only while the next one, at the pace of the last, still
    leaves ``reserve_s`` for the rows after it.
    """

    def __init__(self, seconds: float) -> None:
        self.deadline = time.perf_counter() + seconds

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def rounds(self, wanted: int, reserve_s: float = 0.0) -> Iterator[int]:
        for i in range(wanted):
            started = time.perf_counter()
            yield i
            took = time.perf_counter() - started
            if i + 1 < wanted and self.left() - took < reserve_s:
                return
