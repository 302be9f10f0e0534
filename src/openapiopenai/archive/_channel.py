"""A bounded hand-off between threads that a stop wakes: `put` and `get` block, `close` releases both.

`queue.Queue` cannot be closed, so a producer blocked on a full queue can only be freed by polling
(``put(timeout=...)`` in a loop, checking a flag). Here a blocked `put` or `get` waits on a condition
that `close` notifies, and then raises `Closed`: no thread is ever left waiting, and none spins.
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
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._items: deque[T] = deque()
        self._closed = False
        self._cond = threading.Condition()

    def __len__(self) -> int:
        """Items waiting now (a glance: another thread may change it at once)."""
        with self._cond:
            return len(self._items)

    def put(self, item: T) -> None:
        """Add `item`, waiting while the channel is full; raises `Closed` once it is closed."""
        with self._cond:
            while len(self._items) >= self._capacity and not self._closed:
                self._cond.wait()
            if self._closed:
                raise Closed
            self._items.append(item)
            self._cond.notify_all()

    def get_some(self, most: int, *, least: int = 1, linger: float = 0.0,
                 urgent: Callable[[T], bool] | None = None) -> list[T]:
        """Wait for at least one item, then take up to `most` of those waiting, oldest first.

        With `least` > 1, after the first item has come, wait up to `linger` seconds more for `least`
        of them; fewer if the time is up, the channel closes, or an item waiting is `urgent`.
        """
        with self._cond:
            while not self._items and not self._closed:
                self._cond.wait()
            if not self._items:
                raise Closed
            if len(self._items) < least and linger > 0:
                deadline = time.monotonic() + linger
                while len(self._items) < least and not self._closed:
                    if urgent is not None and any(urgent(item) for item in self._items):
                        break
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
            taken = [self._items.popleft() for _ in range(min(most, len(self._items)))]
            self._cond.notify_all()
            return taken

    def get(self) -> T:
        return self.get_some(1)[0]

    def close(self) -> None:
        """Wake every waiter; later `put`s raise `Closed`, `get`s drain what is left, then raise."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
