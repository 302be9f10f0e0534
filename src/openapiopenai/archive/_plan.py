"""What a sync run has to walk: range arithmetic on unix seconds, kept free of I/O so it is easy to test.

A span is ``(lo, hi)``, meaning ``lo <= effective_at < hi``; ``lo is None`` means "from the oldest event".
The sync state of a filter set is one covered span, known complete up to its high-water mark ``hi``.
Events can show up late (with an `effective_at` in the past), so only the part older than
``hi - lookback`` is trusted; a new run walks everything it was asked for that is not trusted.

The covered span is kept contiguous: when a request lies apart from it (a one-off ``--until`` long ago),
the gap between them is walked too. A little more fetching buys a state that is a single interval, so
"complete from X to Y" is always literally true.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Plan", "Span", "plan_run", "split_span"]

Span = tuple[int | None, int]


def _min_lo(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else min(a, b)


def _lt(a: int | None, b: int | None) -> bool:
    """``a < b`` for lower bounds where None is minus infinity."""
    if a is None:
        return b is not None
    return b is not None and a < b


@dataclass(frozen=True)
class Plan:
    need: list[Span]
    """The spans to walk, oldest first; empty when the archive already holds everything asked for."""
    covered: Span
    """The covered span once the walk is complete: the hull of the old one and the request."""


def plan_run(since: int | None, upper: int, covered: Span | None, lookback: int) -> Plan:
    """Plan a run asked for ``[since, upper)`` given the span already covered (if any)."""
    if since is not None and since >= upper:
        return Plan([], covered if covered is not None else (since, since))
    if covered is None:
        return Plan([(since, upper)], (since, upper))
    cov_lo, cov_hi = covered
    new_lo = _min_lo(since, cov_lo)
    new_hi = max(upper, cov_hi)
    # Trusted: covered and older than the lookback window, so no late event is expected there.
    trusted_hi = cov_hi - lookback
    need: list[Span] = []
    if cov_lo is not None and trusted_hi <= cov_lo:
        # Nothing trusted yet (the covered span is shorter than the lookback): walk the whole hull.
        return Plan([(new_lo, new_hi)], (new_lo, new_hi))
    if _lt(new_lo, cov_lo):
        assert cov_lo is not None
        need.append((new_lo, cov_lo))
    if trusted_hi < upper:
        # Only when the request reaches past the trusted part: a request that lies wholly in the
        # covered past does not make us re-read the lookback window.
        need.append((trusted_hi, new_hi))
    return Plan(need, (new_lo, new_hi))


def split_span(lo: int, hi: int, parts: int, *, min_width: int = 1) -> list[Span]:
    """``[lo, hi)`` cut into at most `parts` contiguous pieces of nearly equal width (each >= min_width)."""
    width = hi - lo
    if width <= 0:
        return [(lo, hi)]
    parts = max(1, min(parts, width // max(1, min_width)))
    cuts = [lo + (width * i) // parts for i in range(parts + 1)]
    return [(cuts[i], cuts[i + 1]) for i in range(parts) if cuts[i] < cuts[i + 1]]
