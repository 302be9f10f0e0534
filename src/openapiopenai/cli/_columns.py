"""Events as aligned columns, one event per line at any terminal width (``list``'s table, ``tail``).

A wrapped cell turns twenty events into a screen and a half of fragments; a truncated one still
reads (``login.fa…``) and the full value is one ``--format jsonl`` away. So the columns are chosen
and cut to fit: the first five (time, type, actor, ip, what was acted on) always show, narrowed
towards a floor as the terminal narrows; project and the event id are added when there is room
(the id also with ``--wide``). Off a terminal nothing is cut: tab-separated values, no box drawing.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

from ._output import DISPLAY_HEADERS

__all__ = ["Layout", "fit", "tsv_line"]

GAP = "  "
#: Widest each column is drawn, in DISPLAY_HEADERS order: room for nearly every real value.
_MAX = (20, 44, 36, 39, 34, 30, 40)
#: (column, floor) in the order columns give up width: the resource, the actor to a readable floor,
#: the event id, the type, then the actor further. Time and an IPv4 address are never cut.
_NARROWING = ((4, 8), (2, 14), (6, 14), (1, 15), (2, 10), (1, 12))
#: Columns that always show; the rest only when they fit (or when asked for).
_ALWAYS = 5
_ID = DISPLAY_HEADERS.index("id")


def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def width(text: str) -> int:
    """Terminal cells ``text`` takes (wide CJK characters take two)."""
    return sum(_char_width(c) for c in text)


def crop(text: str, cells: int) -> str:
    """``text`` cut to ``cells`` terminal cells, ending in an ellipsis when cut."""
    if width(text) <= cells:
        return text
    out, used = "", 0
    for char in text:
        w = _char_width(char)
        if used + w > cells - 1:
            break
        out += char
        used += w
    return out + "…"


class Layout:
    """Which columns to draw and how wide, for a terminal ``columns`` cells wide."""

    def __init__(self, columns: int, widths: Sequence[int], shown: Sequence[int]) -> None:
        self.columns = columns
        self.widths = list(widths)
        self.shown = list(shown)

    def line(self, cells: Sequence[str]) -> str:
        parts = [crop(cells[i] or "-", self.widths[i]) for i in self.shown]
        padded = [p + " " * (self.widths[i] - width(p)) for i, p in zip(self.shown, parts, strict=True)]
        # However narrow the terminal, one event stays one line.
        return crop(GAP.join(padded).rstrip(), self.columns)

    def header(self) -> str:
        return self.line(DISPLAY_HEADERS)


def fit(columns: int, rows: Iterable[Sequence[str]] = (), *, wide: bool = False) -> Layout:
    """The layout for a terminal ``columns`` wide; ``rows`` (when known) narrow columns to their content."""
    rows = list(rows)
    if rows:
        # As wide as the longest value (or the header), within the column's bounds.
        natural = [
            min(_MAX[i], max(width(header), *(width(r[i] or "-") for r in rows)))
            for i, header in enumerate(DISPLAY_HEADERS)
        ]
    else:
        natural = list(_MAX)  # a stream (tail): values to come are unknown
    widths = list(natural)
    shown = list(range(_ALWAYS))
    if wide:
        shown.append(_ID)

    def total() -> int:
        return sum(widths[i] for i in shown) + len(GAP) * (len(shown) - 1)

    for column, floor in _NARROWING:
        if column in shown:
            excess = total() - columns
            if excess <= 0:
                break
            widths[column] = max(floor, widths[column] - excess)
    # Still too wide (a very narrow terminal): drop columns from the end, never the time or type.
    while total() > columns:
        droppable = [i for i in shown if i > 1 and not (wide and i == _ID)]
        if not droppable:
            break
        shown.remove(max(droppable))
    # Room left: add project, then the id, in their places.
    for extra in (DISPLAY_HEADERS.index("project"), _ID):
        if extra not in shown and total() + len(GAP) + natural[extra] <= columns:
            shown.append(extra)
    shown.sort()
    return Layout(columns, widths, shown)


def tsv_line(cells: Sequence[str]) -> str:
    """One tab-separated line; the cells are already escaped, so none holds a tab or a newline."""
    return "\t".join(cells)
