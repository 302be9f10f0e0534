"""The terminal table of ``audit-logs list``; rich is imported only when a table is drawn."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import click

from ._output import DISPLAY_HEADERS, display_cells

__all__ = ["print_table"]


def print_table(events: Sequence[Mapping[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # In a pipe rich would assume 80 columns and cut ids short; a wide table is easier to grep.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 240)
    table = Table(show_lines=False, header_style="bold")
    for name in DISPLAY_HEADERS:
        table.add_column(name, overflow="fold")
    for event in events:
        # Text(), not a markup string: a value like "[red]" from the service stays literal.
        table.add_row(*(Text(cell) for cell in display_cells(event)))
    console.print(table)
    if not events:
        click.echo("no events match", err=True)
