"""Walk the log page by page, in either direction, without looping forever.

``older`` follows ``after=last_id`` while ``has_more`` (the service's natural newest-first order);
``newer`` follows ``before=first_id`` from a starting cursor towards the present. A cursor the service
has already handed out, or a page that claims more but gives no cursor, raises ``PaginationError``
instead of spinning or silently stopping short: a caller archiving the log must know the walk is
incomplete.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Literal, Protocol

from .exceptions import PaginationError

__all__ = ["Direction", "Page", "aiter_pages", "iter_pages", "next_cursor"]

Direction = Literal["older", "newer"]


class Page(Protocol):
    @property
    def has_more(self) -> bool | None: ...
    @property
    def first_id(self) -> str | None: ...
    @property
    def last_id(self) -> str | None: ...


def check_direction(direction: str, after: str | None, before: str | None) -> str | None:
    """Check the direction against the cursors given; return the cursor the walk starts from."""
    if direction not in ("older", "newer"):
        raise ValueError(f"direction must be 'older' or 'newer', got {direction!r}")
    if direction == "newer":
        if before is None:
            raise ValueError("direction='newer' needs a starting cursor: pass before=<event id>")
        return before
    # An older walk follows `after`; a `before` here would be dropped without a word.
    if before is not None:
        raise ValueError("before= starts a walk towards newer events: pass direction='newer', "
                         "or after= to walk back in time")
    return after


def next_cursor(page: Page, direction: Direction, current: str | None, seen: set[str]) -> str | None:
    """The cursor for the next page, ``None`` at the end; raises on a loop or a stall."""
    if not page.has_more:
        return None
    cursor = page.last_id if direction == "older" else page.first_id
    if not cursor:
        raise PaginationError(message="the service said has_more but the page has no cursor to continue from")
    if cursor == current or cursor in seen:
        raise PaginationError(message=f"the service repeated cursor {cursor!r}; stopping instead of looping")
    seen.add(cursor)
    return cursor


def iter_pages(fetch: Callable[[str | None], Page], direction: Direction, start: str | None) -> Iterator[Page]:
    cursor, seen = start, set[str]()
    while True:
        page = fetch(cursor)
        yield page
        cursor = next_cursor(page, direction, cursor, seen)
        if cursor is None:
            return


async def aiter_pages(
    fetch: Callable[[str | None], Awaitable[Page]], direction: Direction, start: str | None
) -> AsyncIterator[Page]:
    cursor, seen = start, set[str]()
    while True:
        page = await fetch(cursor)
        yield page
        cursor = next_cursor(page, direction, cursor, seen)
        if cursor is None:
            return
