"""What a report holds, before it is drawn: sections of tables and charts, every row naming an event.

The gathering (`_gather`) and the drawing (`_html`, `_markdown`) meet only here, so the HTML and the
plain-text versions cannot say different things.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["Chart", "DetectionMatch", "Detections", "Report", "Section", "Table"]

#: Sigma's levels, most severe first.
SEVERITY = {"critical": 0, "high": 1, "medium": 2, "low": 3, "informational": 4}


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    """The last column is always the event id (for a group: its latest event)."""
    rows: list[tuple[str, ...]]
    total: int
    """Rows that matched; more than ``len(rows)`` when the table was cut to its limit."""
    hint: str = ""
    """How to see the whole table: a CLI command or a `sqlite3` query (shown when the table was cut)."""


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    kind: str
    """"stacked" (bars per day, one colour per series), "bar" (one series per day) or "hbar"."""
    labels: list[str]
    series: list[tuple[str, list[int]]]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    summary: str
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)


@dataclass(frozen=True)
class DetectionMatch:
    """One detection rule's match on one event (what `audit-logs detect` reports)."""

    rule: str
    severity: str
    """Sigma's level: informational, low, medium, high or critical."""
    event_id: str
    """The newest matched event (a correlation rule matches several)."""
    effective_at: int
    summary: str
    events: int = 1

    def rank(self) -> tuple[int, int]:
        """Most severe first, then newest first."""
        return SEVERITY.get(self.severity, 5), -self.effective_at


@dataclass(frozen=True)
class Detections:
    """The matches of a report's period, folded as its section shows them: every match counted, by rule
    and by level, and only the few its tables list kept (at 1M events ~170k matches, 200 rows shown)."""

    total: int
    by_rule: dict[str, int]
    by_level: dict[str, int]
    latest: dict[str, DetectionMatch]
    """Each rule's most severe, newest match (the first one `top`'s order would list)."""
    top: list[DetectionMatch]
    """The first ``limit`` matches, most severe first, newest first, then by rule."""

    @classmethod
    def fold(cls, matches: Iterable[DetectionMatch], limit: int) -> Detections:
        by_rule: Counter[str] = Counter()
        by_level: Counter[str] = Counter()
        latest: dict[str, DetectionMatch] = {}

        def counted() -> Iterable[DetectionMatch]:
            for m in matches:
                by_rule[m.rule] += 1
                by_level[m.severity] += 1
                best = latest.get(m.rule)
                if best is None or m.rank() < best.rank():
                    latest[m.rule] = m
                yield m

        # nsmallest is sorted(...)[:limit] (ties in the order given) holding only `limit` matches.
        top = heapq.nsmallest(limit, counted(), key=lambda m: (*m.rank(), m.rule))
        return cls(sum(by_rule.values()), dict(by_rule), dict(by_level), latest, top)


@dataclass(frozen=True)
class Report:
    archive: str
    since: int
    until: int
    generated_at: int
    events: int
    """Events in the period, both partitions."""
    archive_first: int | None
    archive_last: int | None
    sections: list[Section]
