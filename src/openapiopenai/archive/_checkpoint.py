"""Copying the WAL back into the archive while the sync's writer waits for the network, so that the
close has little left to copy.

SQLite copies committed pages from the ``-wal`` file into the database (a checkpoint) by itself only once
the WAL holds ``wal_autocheckpoint`` pages (32 MB, see `_schema`), and once more when the last connection
closes. A back-fill of 18,048 events left its whole ~26 MB WAL to that last one: the close spent about
0.4 s writing and fsyncing it after the walk had ended, a fifteenth of an 8-worker back-fill at 200 ms a
request. A writer that finds no page waiting does that work meanwhile: a passive checkpoint takes no
lock a commit needs, and the walk does not wait for it since no page was there to commit. A writer that
is the bottleneck (a fast service) always finds pages waiting, so it checkpoints as before.

Durability is untouched: a checkpoint copies only committed pages, and syncs the WAL before it copies.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable

__all__ = ["CHECKPOINT_SPACING_S", "IdleCheckpoints"]

#: At most one idle checkpoint per this many seconds. Each one syncs the WAL and the database file, so
#: many small ones would cost more I/O than a few larger ones; at a page of 100 events per 200 ms a
#: fetcher, 8 fetchers commit ~2 MB of WAL in this time, copied in ~40 ms.
CHECKPOINT_SPACING_S = 0.5


class IdleCheckpoints:
    """Checkpoints of one archive connection, made when its writer is idle (writer thread only)."""

    def __init__(self, conn: sqlite3.Connection, *, clock: Callable[[], float] = time.monotonic,
                 spacing: float = CHECKPOINT_SPACING_S) -> None:
        self._conn = conn
        self._clock = clock
        self._spacing = spacing
        self._last = clock()
        self._dirty = False
        self.made = 0
        """Checkpoints made so far."""

    def committed(self, pages: int) -> None:
        """The writer committed `pages` pages (their frames are in the WAL now)."""
        if pages:
            self._dirty = True

    def idle(self) -> None:
        """The writer has nothing to commit: copy what the WAL holds, unless done too recently."""
        now = self._clock()
        if not self._dirty or now - self._last < self._spacing:
            return
        self._last, self._dirty = now, False
        # A failure here (an I/O error) is the next commit's to report, with what it means for the walk;
        # the checkpoint itself only ever moves committed pages, so one that failed loses nothing.
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.made += 1
