"""What a report holds, before it is drawn: sections of tables and charts, every row naming an event.

The gathering (`_gather`) and the drawing (`_html`, `_markdown`) meet only here, so the HTML and the
plain-text versions cannot say different things.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Chart", "DetectionMatch", "Report", "Section", "Table"]


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
