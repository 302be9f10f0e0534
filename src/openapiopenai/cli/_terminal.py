"""Rich output for terminals: the table of `audit-logs list` and the console every rich view uses."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._messages import note
from ._output import DISPLAY_HEADERS, display_cells

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["make_console", "print_table"]


def make_console(*, stderr: bool = False) -> Console:
    """A rich console that honours NO_COLOR strictly.

    Rich drops colours under NO_COLOR but keeps bold and dim; a user who asks for no colour usually
    wants no escape codes at all, so every style goes.
    """
    from rich.console import Console

    plain = bool(os.environ.get("NO_COLOR"))
    stream = sys.stderr if stderr else sys.stdout
    # In a pipe rich would assume 80 columns and cut ids short; a wide table is easier to grep.
    width = None if stream.isatty() else 240
    return Console(
        stderr=stderr, highlight=False, width=width, no_color=plain, color_system=None if plain else "auto"
    )


def print_table(events: Sequence[Mapping[str, Any]]) -> None:
    from rich.table import Table
    from rich.text import Text

    console = make_console()
    table = Table(show_lines=False, header_style="bold")
    for name in DISPLAY_HEADERS:
        table.add_column(name, overflow="fold")
    for event in events:
        # Text(), not a markup string: a value like "[red]" from the service stays literal.
        table.add_row(*(Text(cell) for cell in display_cells(event)))
    console.print(table)
    if not events:
        note("no events match")
