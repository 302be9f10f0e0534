"""The results table: one row per measure, one column per contender, each figure with its ratio.

Ratios are always "cost relative to this project": a contender's time (or memory) divided by ours, or
our rate divided by theirs for rates, so above 1 means this project is faster or leaner, whatever the
unit. A sub-row (``1a``: ours fully materialised) is compared with its parent row's figure for us.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bench._contenders import CONTENDERS, LABELS

__all__ = ["NOT_RUN", "Cell", "Row", "render_markdown"]

#: A cell with no meaning for this row (a sub-row about one contender only).
NOT_RUN = "—"


@dataclass
class Cell:
    value: float | None = None
    """The median figure; ``None`` when the contender could not do the row."""
    text: str = NOT_RUN
    """What to show instead of a number (``n/a: no sync``), or a note after it."""
    runs: int = 0


@dataclass
class Row:
    key: str
    title: str
    unit: str
    higher_is_better: bool = False
    cells: dict[str, Cell] = field(default_factory=dict)
    goal: str = NOT_RUN
    verdict: str = NOT_RUN
    #: our figure the ratios are taken against (a sub-row's parent figure); default: our cell.
    reference: float | None = None

    def value(self, contender: str) -> float | None:
        cell = self.cells.get(contender)
        return cell.value if cell else None

    def ratio(self, contender: str) -> float | None:
        ref = self.reference if self.reference is not None else self.value("ours")
        val = self.value(contender)
        if ref is None or val is None or ref <= 0 or val <= 0:
            return None
        return ref / val if self.higher_is_better else val / ref


def fmt_number(value: float) -> str:
    if value >= 10_000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    digits = max(2, 2 - math.floor(math.log10(value))) if value > 0 else 2
    return f"{value:.{digits}f}"


def fmt_cell(row: Row, contender: str) -> str:
    cell = row.cells.get(contender)
    if cell is None:
        return NOT_RUN
    if cell.value is None:
        return cell.text
    out = f"{fmt_number(cell.value)} {row.unit}"
    ratio = row.ratio(contender)
    if ratio is not None:
        out += f" ({ratio:.2f}x)"
    if cell.text and cell.text != NOT_RUN:
        out += f"; {cell.text}"
    return out


def fmt_runs(row: Row) -> str:
    """How many runs each median is over (the long rows may get fewer when time runs short)."""
    runs = sorted({c.runs for c in row.cells.values() if c.value is not None})
    if not runs:
        return NOT_RUN
    return str(runs[0]) if len(runs) == 1 else f"{runs[0]}-{runs[-1]}"


def render_markdown(rows: list[Row]) -> str:
    header = ["#", "measure", "runs", "goal", *(LABELS[c] for c in CONTENDERS), "goal met?"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        cells = [row.key, row.title, fmt_runs(row), row.goal, *(fmt_cell(row, c) for c in CONTENDERS),
                 row.verdict]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)
