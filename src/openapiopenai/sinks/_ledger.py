"""The delivery ledger: per sink name, how far into the archive's insertion order the sink has acknowledged.

Kept in the archive itself (tables `sink_ledger` and `sink_dead_letters`, schema 2), so the events and the
record of their delivery can never disagree after a crash, and a copy of the file carries both. Only the
shipper writes here, and in two steps per batch:

1. `begin` writes the batch's bounds down as *pending* before it is sent (creating the ledger row on the
   first batch, so a sink that could not even be opened leaves no trace);
2. `acknowledge`, once the sink acknowledged the batch, moves the position to its last event, adds the
   counts, files the rejected items as dead letters and clears the pending bounds, in one transaction.

A crash between the two leaves the pending bounds: the next run sends that very batch again first. Both
steps check the row is as this shipper left it, so a second `ship` under the same name stops with a
`LedgerConflict` instead of delivering the same events alongside.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from openapiopenai.sinks._base import Rejected

__all__ = ["DeadLetter", "Ledger", "LedgerConflict", "LedgerState", "ledger_names"]


class LedgerConflict(Exception):
    """The ledger row changed under this shipper: another `ship` is delivering under the same name."""


@dataclass(frozen=True)
class LedgerState:
    sink: str
    target: str
    schema: str
    position: int
    """Every event with seq <= position has been acknowledged (or is a dead letter)."""
    delivered: int
    duplicates: int
    batches: int
    created_at: float
    last_delivery_at: float | None
    pending: tuple[int, int, bool] | None
    """(first seq, last seq, dead-letter re-send) of a batch sent but not acknowledged, if any."""


@dataclass(frozen=True)
class DeadLetter:
    seq: int
    event_id: str
    reason: str
    first_attempt_at: float
    last_attempt_at: float
    attempts: int


def ledger_names(conn: sqlite3.Connection) -> list[str]:
    """Every sink name with a ledger in this archive (none in a schema-1 archive)."""
    if not _has_ledger(conn):
        return []
    return [str(r[0]) for r in conn.execute("SELECT sink FROM sink_ledger ORDER BY sink")]


def _has_ledger(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sink_ledger'").fetchone() \
        is not None


class Ledger:
    """The ledger of one sink name in an open archive connection."""

    def __init__(self, conn: sqlite3.Connection, sink: str) -> None:
        self.conn = conn
        self.sink = sink

    def state(self) -> LedgerState | None:
        if not _has_ledger(self.conn):
            return None
        row = self.conn.execute(
            "SELECT sink, target, schema, position, delivered, duplicates, batches, created_at, last_delivery_at,"
            " pending_from, pending_to, pending_dead FROM sink_ledger WHERE sink = ?", (self.sink,)).fetchone()
        if row is None:
            return None
        pending = None if row[9] is None else (int(row[9]), int(row[10]), bool(row[11]))
        return LedgerState(str(row[0]), str(row[1]), str(row[2]), int(row[3]), int(row[4]), int(row[5]),
                           int(row[6]), float(row[7]), row[8], pending)

    def backlog(self, position: int) -> int:
        """How many archived events come after `position` (a range of the seq b-tree: no scan of the rest)."""
        return int(self.conn.execute("SELECT count(*) FROM audit_logs WHERE seq > ?", (position,)).fetchone()[0])

    def dead_letters(self, *, limit: int | None = None) -> list[DeadLetter]:
        if not _has_ledger(self.conn):
            return []
        rows = self.conn.execute(
            "SELECT seq, event_id, reason, first_attempt_at, last_attempt_at, attempts FROM sink_dead_letters"
            " WHERE sink = ? ORDER BY seq LIMIT ?", (self.sink, -1 if limit is None else limit))
        return [DeadLetter(int(r[0]), str(r[1]), str(r[2]), float(r[3]), float(r[4]), int(r[5])) for r in rows]

    def dead_count(self) -> int:
        if not _has_ledger(self.conn):
            return 0
        return int(self.conn.execute("SELECT count(*) FROM sink_dead_letters WHERE sink = ?",
                                     (self.sink,)).fetchone()[0])

    # -- the two writes of a batch -------------------------------------------------------------------------
    def begin(self, *, target: str, schema: str, position: int, first: int, last: int, dead: bool,
              now: float) -> None:
        """Record the batch [first, last] as sent-but-unacknowledged; `position` is the one this shipper read."""
        with self._transaction():
            current = self.state()
            if current is None:
                if position != 0:
                    raise LedgerConflict(f"the ledger of {self.sink!r} disappeared while shipping")
                self.conn.execute(
                    "INSERT INTO sink_ledger (sink, target, schema, created_at, pending_from, pending_to,"
                    " pending_dead) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (self.sink, target, schema, now, first, last, int(dead)))
                return
            if current.position != position or (current.pending not in (None, (first, last, dead))):
                raise LedgerConflict(f"another ship is delivering under the name {self.sink!r}")
            self.conn.execute(
                "UPDATE sink_ledger SET target = ?, pending_from = ?, pending_to = ?, pending_dead = ?"
                " WHERE sink = ?", (target, first, last, int(dead), self.sink))

    def acknowledge(self, *, first: int, last: int, dead: bool, delivered: int, duplicates: int,
                    rejected: Sequence[Rejected], now: float) -> None:
        """The sink acknowledged the pending batch: move on and file its rejected items, all at once."""
        with self._transaction():
            current = self.state()
            if current is None or current.pending != (first, last, dead):
                raise LedgerConflict(f"another ship is delivering under the name {self.sink!r}")
            self.conn.execute(
                "UPDATE sink_ledger SET position = ?, delivered = delivered + ?, duplicates = duplicates + ?,"
                " batches = batches + 1, last_delivery_at = ?, pending_from = NULL, pending_to = NULL,"
                " pending_dead = 0 WHERE sink = ?",
                (current.position if dead else last, delivered, duplicates, now, self.sink))
            if dead:
                # A re-send of dead letters: the ones delivered this time are dead no more.
                again = [r.seq for r in rejected]
                self.conn.execute(
                    "DELETE FROM sink_dead_letters WHERE sink = ? AND seq BETWEEN ? AND ?"
                    f" AND seq NOT IN ({', '.join('?' * len(again))})", (self.sink, first, last, *again))
            self.conn.executemany(
                "INSERT INTO sink_dead_letters (sink, seq, event_id, reason, first_attempt_at, last_attempt_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (sink, seq) DO UPDATE SET reason = excluded.reason,"
                " last_attempt_at = excluded.last_attempt_at, attempts = attempts + 1",
                [(self.sink, r.seq, r.event_id, _one_line(r.reason), now, now) for r in rejected])

    def _transaction(self) -> _Transaction:
        return _Transaction(self.conn)


class _Transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, et: Any, ev: Any, tb: Any) -> None:
        self.conn.execute("COMMIT" if et is None else "ROLLBACK")


def _one_line(text: str, limit: int = 500) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
