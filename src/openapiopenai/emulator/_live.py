"""The live feed: new events appended as wall time passes, for clients that tail the log."""

from __future__ import annotations

import time
from collections.abc import Callable

from openapiopenai.emulator._store import EventStore

# A live feed that fell far behind (a server idle for an hour) catches up at most this many events per
# request and skips the rest, so one request never stalls on a bulk insert.
MAX_LIVE_CATCH_UP = 10_000


class LiveFeed:
    """Appends generated events at `rate` per second of wall time, computed lazily on each request.

    Live events are stamped from the wall clock at start (or the newest stored second, if later) onwards,
    one second per second of wall time, so they are always new to a tailing reader.
    """

    def __init__(self, store: EventStore, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.rate = rate
        self._clock = clock
        self._started = clock()
        self._emitted = 0
        # Stamps follow the wall clock from now on, so a live event is never in the reader's future.
        self._base = max(int(time.time()), store.newest_effective_at() or 0) if rate > 0 else 0

    def catch_up(self) -> int:
        """Append the events due by now; returns how many."""
        if self.rate <= 0:
            return 0
        due = int((self._clock() - self._started) * self.rate)
        if due - self._emitted > MAX_LIVE_CATCH_UP:
            self._emitted = due - MAX_LIVE_CATCH_UP
        pending = [{"effective_at": self._base + int((k + 1) / self.rate)} for k in range(self._emitted, due)]
        if pending:
            self.store.insert(pending)
            self._emitted = due
        return len(pending)
