"""What `audit-logs list` prints for people: aligned columns on a terminal, tab-separated in a pipe,
indented JSON on a terminal; and the rich console the demo and the progress bar use."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Iterable, Iterator
from typing import IO, TYPE_CHECKING

from ._messages import note
from ._output import DISPLAY_HEADERS, display_cells, write_json_array

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["is_terminal", "make_console", "print_events_json", "print_table", "terminal_columns"]


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


def is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def terminal_columns() -> int:
    return shutil.get_terminal_size((80, 24)).columns


def bold(text: str) -> str:
    return text if os.environ.get("NO_COLOR") else f"\x1b[1m{text}\x1b[0m"


def print_table(raws: Iterable[str], *, wide: bool = False) -> None:
    """One event per line: aligned and cut to the terminal's width, or tab-separated in a pipe."""
    from ._columns import fit, tsv_line

    out = sys.stdout
    count = 0
    if is_terminal(out):
        rows = [display_cells(json.loads(raw)) for raw in raws]
        count = len(rows)
        if rows:
            layout = fit(terminal_columns(), rows, wide=wide)
            out.write(bold(layout.header()) + "\n")
            out.writelines(layout.line(row) + "\n" for row in rows)
    else:
        # Streamed: `--all` in a pipe never holds the events in memory.
        for raw in raws:
            if not count:
                out.write(tsv_line(DISPLAY_HEADERS) + "\n")
            out.write(tsv_line(display_cells(json.loads(raw))) + "\n")
            count += 1
    out.flush()
    if not count:
        note("no events match")


# C1 controls, line separators and bidi overrides survive json.dumps(ensure_ascii=False); shown as
# JSON escapes they still mean the same string and cannot rewrite the terminal.
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _indented(raws: Iterable[str]) -> Iterator[str]:
    for raw in raws:
        text = json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
        yield _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def print_events_json(raws: Iterable[str]) -> None:
    """A JSON array: indented for reading on a terminal, the service's exact text in a pipe."""
    write_json_array(_indented(raws) if is_terminal(sys.stdout) else raws, sys.stdout)
