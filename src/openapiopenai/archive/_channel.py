"""A bounded hand-off between threads that a stop wakes: `put` and `get` block, `close` releases both.

`queue.Queue` cannot be closed, so a producer blocked on a full queue can only be freed by polling
(``put(timeout=...)`` in a loop, checking a flag). Here a blocked `put` or `get` waits on a condition
that `close` notifies, and then raises `Closed`: no thread is ever left waiting, and none spins.

A `put` wakes the consumer only when the consumer can act on what it finds: while it lingers for
`least` items, a put of fewer (and not `urgent`) leaves it asleep. In a sync the consumer is the writer
and the producers are the fetchers, all under one GIL: a writer woken for every page would take the GIL
from the fetcher that just handed the page over, right when that fetcher is about to send its next
request, only to find it has too few pages and go back to sleep.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Channel", "Closed"]

T = TypeVar("T")


class Closed(Exception):
    """The channel was closed: the other side has stopped."""


class Channel(Generic[T]):
    """Any number of producers; one consumer at a time (what it waits for is the channel's state)."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._items: deque[T] = deque()
        self._closed = False
        lock = threading.Lock()
        self._not_empty = threading.Condition(lock)   # the consumer waits here
        self._not_full = threading.Condition(lock)    # producers wait here
        # What the waiting consumer needs before it is worth waking: this many items, or an urgent one.
        self._want = 1
        self._urgent: Callable[[T], bool] | None = None

    def __len__(self) -> int:
        """Items waiting now (a glance: another thread may change it at once)."""
        with self._not_empty:
            return len(self._items)

    def put(self, item: T) -> None:
        """Add `item`, waiting while the channel is full; raises `Closed` once it is closed."""
        with self._not_full:
            while len(self._items) >= self._capacity and not self._closed:
                self._not_full.wait()
            if self._closed:
                raise Closed
            self._items.append(item)
            if len(self._items) >= self._want or (self._urgent is not None and self._urgent(item)):
                self._not_empty.notify()

    def get_some(self, most: int, *, least: int = 1, linger: float = 0.0,
                 urgent: Callable[[T], bool] | None = None) -> list[T]:
        """Wait for at least one item, then take up to `most` of those waiting, oldest first.

        With `least` > 1, after the first item has come, wait up to `linger` seconds more for `least`
        of them; fewer if the time is up, the channel closes, or an item waiting is `urgent`.
        """
        with self._not_empty:
            while not self._items and not self._closed:
                self._not_empty.wait()
            if not self._items:
                raise Closed
            if (len(self._items) < least and linger > 0
                    and not (urgent is not None and any(urgent(item) for item in self._items))):
                deadline = time.monotonic() + linger
                self._want, self._urgent = least, urgent
                try:
                    # Only a put that makes `least`, an urgent put or a close wakes this wait early.
                    while len(self._items) < least and not self._closed:
                        left = deadline - time.monotonic()
                        if left <= 0 or not self._not_empty.wait(left):
                            break
                        if urgent is not None and any(urgent(item) for item in self._items):
                            break   # woken by an urgent put (wakes are few, so looking at all is cheap)
                finally:
                    self._want, self._urgent = 1, None
            taken = [self._items.popleft() for _ in range(min(most, len(self._items)))]
            self._not_full.notify(len(taken))
            return taken

    def get(self) -> T:
        return self.get_some(1)[0]

    def close(self) -> None:
        """Wake every waiter; later `put`s raise `Closed`, `get`s drain what is left, then raise."""
        with self._not_empty:
            self._closed = True
            self._not_empty.notify_all()
            self._not_full.notify_all()
