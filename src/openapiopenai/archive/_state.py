"""The sync state in SQLite: what each filter set has complete, and the walk in progress.

Every statement that reads or writes `sync_state` or `sync_slices` is in this module, under a small
vocabulary the sync speaks:

    take_over(owner)          the walk an interrupted sync left behind, now owned by this one
    begin(plan, slices, ...)  write a new walk down before its first request
    commit(pages, splits)     pages' events with their slices' new positions, and any splits, at once
    build_indexes()           the lookup indexes a back-fill walked without, built before its last pages
    complete(run)             the walk is done: move the high-water mark, drop the slices, build indexes

Only the sync's writer (one thread, or the process it hands its commits to: `_writer_process`) calls
these; one `SyncState` never crosses threads. The walk state
is authoritative here: a fetcher is told where to walk only from what this module has committed.

A transaction that fails (a lock held past the busy timeout, a full disk, an I/O error) is rolled back,
including one whose COMMIT failed, and surfaces as one `ArchiveWriteError` line; what earlier
transactions committed stays.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from openapiopenai.archive._errors import ArchiveWriteError, SyncError
from openapiopenai.archive._filters import Filters
from openapiopenai.archive._plan import Span
from openapiopenai.archive._rows import head_rows, insert_rows
from openapiopenai.archive._schema import build_indexes, drop_indexes

__all__ = ["PageBatch", "Run", "SliceState", "Split", "SyncState", "describe_states", "transaction"]


@dataclass
class SliceState:
    """One slice of a walk, ``lo <= effective_at < hi``, as the writer knows it."""

    no: int
    lo: int | None
    hi: int
    cursor_id: str | None = None
    """The last committed event, the `after` cursor for the next page; None before the first page."""
    cursor_at: int | None = None
    """That event's `effective_at`: where to restart by time if the service forgets the cursor."""
    pages: int = 0
    fetched: int = 0
    done: bool = False
    floor: int | None = None
    """For a slice open below (lo None): where the oldest event was estimated to be. Not saved."""
    first_at: int | None = None
    """The newest event this run's walk found in the slice (its first page's first): the slice's events
    begin there, however much empty time lies above it up to `hi`. For the scheduler's estimate. Not saved."""


@dataclass(frozen=True)
class PageBatch:
    """A checked page of one slice and that slice's position right after it, to commit atomically.

    The page's events travel as their heads and exact bytes; the writer makes them rows (`rows()`),
    so the fetcher that checked them is back on the wire sooner."""

    slice_no: int
    heads: Sequence[Any]
    """Each event's `_page.EventHead` (id, type, effective_at), checked by the walk."""
    raws: Sequence[Any]
    """Each event's JSON as the service sent it (bytes-like)."""
    tenant: bool
    cursor_id: str | None
    cursor_at: int | None
    lo: int | None
    """The lower bound the page was fetched with: never above the slice's committed `lo`."""
    hi: int
    done: bool

    @property
    def events(self) -> int:
        return len(self.heads)

    def rows(self) -> list[tuple[Any, ...]]:
        """The page's `audit_logs` rows (built on each call: the writer asks once, at its commit)."""
        return head_rows(self.heads, self.raws, tenant=self.tenant)


@dataclass(frozen=True)
class Split:
    """Slice `no` now starts at `lo`; the part below it is the new slice `below`."""

    no: int
    lo: int
    below: SliceState


@dataclass
class Run:
    """A walk written down in the state tables: its slices and the covered span it completes."""

    slices: list[SliceState]
    covered: Span
    lower: int | None = field(init=False)
    """The oldest `effective_at` the walk covers (None: from the oldest event), taken before any split."""

    def __post_init__(self) -> None:
        los = [s.lo for s in self.slices]
        self.lower = None if not los or None in los else min(lo for lo in los if lo is not None)


def _what_failed(exc: sqlite3.Error) -> str:
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in str(exc):
        return "the archive is locked by another process (waited for it and gave up)"
    if name == "SQLITE_FULL" or "full" in str(exc):
        return "the disk is full"
    if name.startswith("SQLITE_IOERR") or "disk I/O" in str(exc):
        return f"an I/O error ({exc})"
    if name.startswith("SQLITE_READONLY") or "readonly" in str(exc):
        return "the archive file is read-only"
    return str(exc)


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection, where: str) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``; rolled back on any failure, COMMIT's own included."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise ArchiveWriteError(f"{where}: cannot write: {_what_failed(exc)}") from None
    try:
        yield
        conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise ArchiveWriteError(f"{where}: cannot write: {_what_failed(exc)}"
                                    " (everything committed before is kept)") from None
        raise


class SyncState:
    """The sync state of one filter set (`Filters.key()`) in one archive connection."""

    def __init__(self, conn: sqlite3.Connection, key: str, where: str, *, owner: str | None = None) -> None:
        """`owner`: the sync that already claimed the walk (for `_writer_process`'s child, which commits for it)."""
        self._conn = conn
        self.key = key
        self._where = where
        self._owner: str | None = owner

    @property
    def where(self) -> str:
        """The archive's path, as errors name it."""
        return self._where

    @property
    def owner(self) -> str | None:
        """The sync that claimed the walk (`take_over`, `begin`); None before."""
        return self._owner

    def _row(self) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._conn.execute(
            "SELECT * FROM sync_state WHERE filter_key = ?", (self.key,)).fetchone()
        return row

    def covered(self) -> Span | None:
        """The span known complete, ``(covered_from, high_water)``; None before the first completed walk."""
        row = self._row()
        if row is None or row["high_water"] is None:
            return None
        return row["covered_from"], int(row["high_water"])

    def take_over(self, owner: str) -> Run | None:
        """The walk an earlier (crashed or stopped) sync left behind, now owned by `owner`."""
        with transaction(self._conn, self._where):
            row = self._row()
            if row is None or not row["run_active"]:
                return None
            self._claim(owner)
            slices = [
                SliceState(r["slice_no"], r["lo"], r["hi"], r["cursor_id"], r["cursor_at"], r["pages"],
                           r["fetched"], bool(r["done"]))
                for r in self._conn.execute(
                    "SELECT * FROM sync_slices WHERE filter_key = ? ORDER BY slice_no", (self.key,))
            ]
        return Run(slices, (row["run_from"], int(row["run_upper"])))

    def begin(self, covered: Span, slices: list[SliceState], owner: str, *, expected: Span | None) -> Run:
        """Write a new walk down (nothing in flight yet). `expected` is the covered span it was planned on."""
        with transaction(self._conn, self._where):
            if self.covered() != expected:
                raise SyncError("another sync changed this archive's sync state meanwhile; run again")
            self._conn.execute(
                "INSERT INTO sync_state (filter_key) VALUES (?) ON CONFLICT (filter_key) DO NOTHING", (self.key,))
            self._conn.execute(
                "UPDATE sync_state SET run_active = 1, run_from = ?, run_upper = ?, run_started_at = ?"
                " WHERE filter_key = ?", (covered[0], covered[1], time.time(), self.key))
            self._claim(owner)
            self._conn.execute("DELETE FROM sync_slices WHERE filter_key = ?", (self.key,))
            self._conn.executemany(
                "INSERT INTO sync_slices (filter_key, slice_no, lo, hi) VALUES (?, ?, ?, ?)",
                [(self.key, s.no, s.lo, s.hi) for s in slices])
            if self._conn.execute("SELECT 1 FROM audit_logs LIMIT 1").fetchone() is None:
                drop_indexes(self._conn)   # a back-fill into an empty archive: built when the walk completes
        return Run(slices, covered)

    def commit(self, pages: Sequence[PageBatch], splits: Sequence[Split]) -> int:
        """Pages' events and their slices' new positions, and splits, in one transaction; returns new events."""
        inserted = 0
        with transaction(self._conn, self._where):
            self._check_owner()
            for split in splits:
                below = split.below
                self._conn.execute("UPDATE sync_slices SET lo = ? WHERE filter_key = ? AND slice_no = ?",
                                   (split.lo, self.key, split.no))
                self._conn.execute("INSERT INTO sync_slices (filter_key, slice_no, lo, hi) VALUES (?, ?, ?, ?)",
                                   (self.key, below.no, below.lo, below.hi))
            for page in pages:
                if page.heads:
                    inserted += insert_rows(self._conn, page.rows())
                self._conn.execute(
                    "UPDATE sync_slices SET cursor_id = ?, cursor_at = ?, hi = ?, pages = pages + 1,"
                    " fetched = fetched + ?, done = ? WHERE filter_key = ? AND slice_no = ?",
                    (page.cursor_id, page.cursor_at, page.hi, page.events, int(page.done), self.key,
                     page.slice_no))
        return inserted

    def build_indexes(self) -> list[str]:
        """Build the missing lookup indexes in a transaction of their own, ahead of `complete` (which
        builds whatever is still missing); returns their names. The walk's pages after it maintain them."""
        with transaction(self._conn, self._where):
            self._check_owner()
            return build_indexes(self._conn)

    def complete(self, run: Run) -> list[str]:
        """Call the walk's range complete (only once every slice is done); returns the indexes built."""
        with transaction(self._conn, self._where):
            self._check_owner()
            left = self._conn.execute(
                "SELECT count(*) FROM sync_slices WHERE filter_key = ? AND done = 0", (self.key,)).fetchone()[0]
            if left:
                raise SyncError(f"internal error: {left} slices still open at the end of a walk")
            self._conn.execute(
                "UPDATE sync_state SET covered_from = ?, high_water = ?, run_active = 0, run_from = NULL,"
                " run_upper = NULL, run_token = NULL, last_completed_at = ?, runs_completed = runs_completed + 1"
                " WHERE filter_key = ?", (run.covered[0], run.covered[1], time.time(), self.key))
            self._conn.execute("DELETE FROM sync_slices WHERE filter_key = ?", (self.key,))
            # In the same transaction: a range called complete always has its indexes.
            return build_indexes(self._conn)

    def _claim(self, owner: str) -> None:
        self._owner = owner
        self._conn.execute("UPDATE sync_state SET run_token = ? WHERE filter_key = ?", (owner, self.key))

    def _check_owner(self) -> None:
        # The OS lock (`_lock`) keeps a second sync out; this catches one that got past it anyway (say,
        # its lock file was deleted) before it writes over a walk it does not own.
        row = self._conn.execute("SELECT run_token FROM sync_state WHERE filter_key = ?", (self.key,)).fetchone()
        if row is None or row[0] != self._owner:
            raise SyncError("another sync took over this archive's walk; this one stops (the other carries on)")


def describe_states(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """One dict per filter set ever synced: its filters, the range known complete, any walk in progress."""
    out: list[dict[str, Any]] = []
    for row in conn.execute("SELECT * FROM sync_state ORDER BY filter_key"):
        state = dict(row)
        state["filters"] = Filters.from_key(row["filter_key"])
        slices = conn.execute(
            "SELECT count(*), coalesce(sum(done), 0), coalesce(sum(fetched), 0) FROM sync_slices"
            " WHERE filter_key = ?", (row["filter_key"],)
        ).fetchone()
        state["run_slices"], state["run_slices_done"], state["run_fetched"] = (int(v) for v in slices)
        out.append(state)
    return out
