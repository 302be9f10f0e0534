"""``--db FILE`` and ``--search TEXT`` for `list` and `tail`: the same commands, read from an archive.

The reading itself is the library's (`openapiopenai.archive.iter_events`, `ArchiveFollower`); this
module only holds the two options and the glue that hands raw JSON texts to the same printers the
service path uses, so a listing looks the same wherever it came from.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ._options import BadInput

if TYPE_CHECKING:
    from openapiopenai.archive import ArchivedEvent, Filters

__all__ = ["archive_options", "archive_raws", "check_archive_options", "follow_archive"]

F = TypeVar("F", bound=Callable[..., Any])


def archive_options(func: F) -> F:
    """``--db`` and ``--search``; the command receives ``db`` and ``search``."""
    func = click.option(
        "--search",
        metavar="PHRASE",
        help="With --db: only events whose raw JSON contains PHRASE (case-insensitive).",
    )(func)
    return click.option(
        "--db",
        type=click.Path(),
        metavar="FILE",
        help="Read this archive (both partitions) instead of the service.",
    )(func)


def check_archive_options(db: str | None, search: str | None) -> None:
    if search is not None and db is None:
        raise BadInput("--search reads an archive's raw events; give --db FILE")
    if search is not None and not search:
        raise BadInput("--search: give some text to look for")


@contextlib.contextmanager
def archive_raws(
    db: str | None, search: str | None, filters: Filters, limit: int | None
) -> Iterator[Iterator[str] | None]:
    """The newest ``limit`` matching events' raw JSON from ``db`` (None: read the service instead)."""
    check_archive_options(db, search)
    if db is None:
        yield None
        return
    from openapiopenai.archive import iter_events

    from ._audit_logs import open_archive

    with open_archive(db, create=False) as archive:
        events = iter_events(archive, filters, search=search, limit=limit)
        # Closed before the archive is: a reader that stops early must not leave a live cursor.
        with contextlib.closing(events):
            yield (event.raw for event in events)


def follow_archive(
    db: str,
    search: str | None,
    filters: Filters,
    *,
    interval: float,
    max_polls: int | None,
    sleep: Callable[[float], None],
    show: Callable[[ArchivedEvent], None],
    announce: Callable[[], None],
) -> None:
    """Print what a sync archives into ``db`` as it arrives (and, with --since, what is there already)."""
    check_archive_options(db, search)
    from openapiopenai.archive import ArchiveFollower

    from ._audit_logs import open_archive

    with open_archive(db, create=False) as archive:
        follower = ArchiveFollower(archive, filters, search=search)
        for event in follower.start():
            show(event)
        announce()
        polls = 1  # the start is the first look, as the service tail's positioning poll is
        while max_polls is None or polls < max_polls:
            sleep(interval)
            polls += 1
            for event in follower.poll():
                show(event)
