"""Progress on stderr, and only on a terminal: a pipe or a log file gets no bar and no escape codes."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

__all__ = ["event_progress"]


@contextlib.contextmanager
def event_progress(description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``; draws a rich bar counting events when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield lambda n: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    from ._terminal import make_console

    columns = [
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=make_console(stderr=True), transient=True) as progress:
        task = progress.add_task(description, total=total)
        # sync_archive may call this from worker threads; rich's Progress takes its own lock.
        yield lambda n: progress.advance(task, n)
