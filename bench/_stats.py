"""Repeated, interleaved measurement.

Absolute times on a shared 2-core machine drift by tens of percent over a minute; interleaving the
contenders round by round makes a slow patch hit every contender alike, and the median of the rounds
ignores the odd preempted one. Each round starts one contender later (A B C D, B C D A, ...) so that
no contender always runs right after the same other one: a server left slower by one client's run
would otherwise always penalise the next.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TypeVar

T = TypeVar("T")

__all__ = ["Budget", "interleave", "median", "rotated", "time_batch"]


def median(values: list[float]) -> float:
    return statistics.median(values)


def rotated(items: Sequence[T], round_no: int) -> list[T]:
    """``items`` in this round's order: started ``round_no`` places later."""
    k = round_no % len(items) if items else 0
    return [*items[k:], *items[:k]]


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
    for i in range(rounds):
        for name in rotated(list(measures), i):
            samples[name].append(measures[name]())
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
