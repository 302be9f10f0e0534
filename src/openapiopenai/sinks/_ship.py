"""`ship`: deliver an archive to a sink in insertion order, moving the ledger only on acknowledgement.

One pass reads the events after the ledger's position, `batch` at a time in `seq` order (so late events
and back-filled older ones are shipped too, not only "newer than the last"), maps them to the chosen
schema, and hands each batch to the sink. The ledger records the batch as pending before it is sent and
as delivered only after `Sink.send` returned, so:

- a crash or Ctrl-C anywhere re-sends at most the one unacknowledged batch, the very same one (see
  `_ledger`), and skips nothing;
- an outage (`SinkUnavailable`) means waiting and sending the same batch again, with exponential backoff
  and the sink's Retry-After honoured, never moving past it; after `give_up_after` seconds of failures
  the run stops (`ShipError`) with the batch still pending;
- an item the sink refuses for good, or that cannot be mapped, becomes a dead letter (reported, kept,
  re-sent by ``retry_dead``), never retried forever and never dropped silently.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from openapiopenai._retry import add_jitter
from openapiopenai.archive import Archive, ArchiveError
from openapiopenai.sinks._base import LOOKUP_COLUMNS, BatchResult, Rejected, Sink, SinkUnavailable
from openapiopenai.sinks._batch import Batch
from openapiopenai.sinks._ledger import Ledger, LedgerConflict
from openapiopenai.sinks._schemas import SCHEMAS, Mapper, schema_mapper

__all__ = ["DEFAULT_BATCH", "DEFAULT_GIVE_UP_AFTER", "MAX_BATCH", "ShipError", "ShipResult", "ship"]

log = logging.getLogger("openapiopenai.sinks")

#: Events per batch: large enough that a batch's two ledger commits and the sink's round trip are small
#: next to its rows, small enough that a re-sent batch is cheap and memory stays flat.
DEFAULT_BATCH = 1000
MAX_BATCH = 50_000
#: How long a sink may keep failing before `ship` stops (the batch stays pending for the next run).
DEFAULT_GIVE_UP_AFTER = 1800.0
#: Backoff between attempts at one batch: doubling from the first delay up to the last.
INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 60.0
#: A sink's Retry-After is honoured up to this long; a longer one is treated as the longest backoff.
MAX_RETRY_AFTER = 300.0

class ShipError(Exception):
    """Shipping stopped: the sink kept failing past `give_up_after`, or failed for good. One line."""


@dataclass
class ShipResult:
    name: str
    target: str
    schema: str
    delivered: int = 0
    """Events acknowledged in this run (duplicates included)."""
    duplicates: int = 0
    """Of those, events the sink already had (a re-sent batch)."""
    rejected: int = 0
    """Events that became (or stayed) dead letters in this run."""
    revived: int = 0
    """Dead letters delivered by `retry_dead`."""
    batches: int = 0
    retries: int = 0
    """Attempts that failed transiently and were retried."""
    position: int = 0
    backlog: int = 0
    """Events still after the position when the run ended."""
    dead_letters: int = 0
    """Dead letters this sink has in all, after the run."""
    seconds: float = 0.0


def backoff_delay(attempt: int, retry_after: float | None) -> float:
    """Seconds to wait before attempt `attempt + 1` at a batch (with jitter, so shippers do not align)."""
    if retry_after is not None and 0 <= retry_after <= MAX_RETRY_AFTER:
        return retry_after
    base = min(MAX_BACKOFF, INITIAL_BACKOFF * 2 ** (attempt - 1))
    return add_jitter(base)


class _Shipper:
    def __init__(self, archive: Archive, sink: Sink, *, name: str, schema: str, mapper: Mapper | None,
                 batch: int, give_up_after: float, clock: Callable[[], float],
                 sleep: Callable[[float], None], progress: Callable[[int], None] | None) -> None:
        self.conn = archive.connection
        self.archive_path = archive.path
        self.sink = sink
        self.ledger = Ledger(self.conn, name)
        self.schema = schema
        self.mapper = mapper
        self.batch = batch
        self.give_up_after = give_up_after
        self.clock = clock
        self.sleep = sleep
        self.progress = progress
        self.result = ShipResult(name, sink.describe(), schema)
        state = self.ledger.state()
        self.position = 0 if state is None else state.position

    # -- reading the archive -----------------------------------------------------------------------------
    def _batch(self, rows: Sequence[Any]) -> tuple[Batch, list[Rejected]]:
        rejected: list[Rejected] = []
        docs: list[Mapping[str, Any]] | None = None
        if self.mapper is not None:
            schema, mapper, kept = self.schema, self.mapper, []
            docs = []
            for row in rows:
                try:
                    docs.append(mapper(msgspec.json.decode(row[4])))
                except Exception as exc:   # a mapper's failure on one event must not stop the others
                    rejected.append(Rejected(row[0], row[1], f"cannot map to {schema}: {type(exc).__name__}: {exc}"))
                    continue
                kept.append(row)
            rows = kept
        if not rows:
            return Batch(seq=[], event_id=[], effective_at=[], event_type=[], raw=[], docs=docs,
                         schema=self.schema), rejected
        seq, event_id, effective_at, event_type, raw, *_ = zip(*rows, strict=True)
        columns = [row[5:] for row in rows] if self.sink.reads_lookup_columns else None
        batch = Batch(seq=seq, event_id=event_id, effective_at=effective_at, event_type=event_type, raw=raw,
                      docs=docs, schema=self.schema, columns=columns)
        try:
            batch.prepared = self.sink.prepare(batch)
        except Exception:   # left for `send`, which does the work again and fails where the shipper expects it
            batch.prepared = None
        return batch, rejected

    def _columns(self, table: str = "") -> str:
        names = ["seq", "id", "effective_at", "type", "raw"]
        if self.sink.reads_lookup_columns:
            names += LOOKUP_COLUMNS
        # A dead letter names its event, so the id is read whenever a mapper may reject one.
        skipped = () if self.sink.reads_event_fields or self.mapper is not None else ("id", "type")

        def column(name: str) -> str:
            if name == "raw":   # as a BLOB: the stored UTF-8 bytes, no decode (raw is written as it is)
                return f"CAST({table}raw AS BLOB)"
            # NULL keeps every row's shape (row[1] the id, row[3] the type) whatever was read.
            return "NULL" if name in skipped else table + name

        return ", ".join(map(column, names))

    def _select(self) -> str:
        return f"SELECT {self._columns()} FROM audit_logs"

    def _select_dead(self) -> str:
        return (f"SELECT {self._columns('a.')} FROM sink_dead_letters AS d JOIN audit_logs AS a ON a.seq = d.seq"
                " WHERE d.sink = ?")

    def next_rows(self) -> list[Any]:
        return self.conn.execute(f"{self._select()} WHERE seq > ? ORDER BY seq LIMIT ?",
                                 (self.position, self.batch)).fetchall()

    def pending_rows(self, first: int, last: int, dead: bool) -> list[Any]:
        if dead:
            return self.conn.execute(f"{self._select_dead()} AND d.seq BETWEEN ? AND ? ORDER BY d.seq",
                                     (self.ledger.sink, first, last)).fetchall()
        return self.conn.execute(f"{self._select()} WHERE seq BETWEEN ? AND ? ORDER BY seq",
                                 (first, last)).fetchall()

    def dead_rows(self, after: int) -> list[Any]:
        return self.conn.execute(f"{self._select_dead()} AND d.seq > ? ORDER BY d.seq LIMIT ?",
                                 (self.ledger.sink, after, self.batch)).fetchall()

    # -- one batch -----------------------------------------------------------------------------------------
    def deliver(self, rows: Sequence[Any], *, dead: bool, already_pending: bool = False,
                built: tuple[Batch, list[Rejected]] | None = None) -> None:
        first, last = int(rows[0][0]), int(rows[-1][0])
        items, unmappable = built if built is not None else self._batch(rows)
        if not already_pending:
            self.ledger.begin(target=self.result.target, schema=self.schema, position=self.position,
                              first=first, last=last, dead=dead, now=time.time())
        outcome = self._send(items) if items else BatchResult()
        seqs = set(items.seq)
        refused = [r for r in outcome.rejected if r.seq in seqs]
        if len(refused) != len(outcome.rejected):
            raise ShipError(f"{self.result.target}: the sink rejected events that were not in the batch")
        rejected = unmappable + refused
        delivered = len(items) - len(refused)
        self.ledger.acknowledge(first=first, last=last, dead=dead, delivered=delivered,
                                duplicates=outcome.duplicates, rejected=rejected, now=time.time())
        if not dead:
            self.position = last
        else:
            self.result.revived += delivered
        self.result.delivered += delivered
        self.result.duplicates += outcome.duplicates
        self.result.rejected += len(rejected)
        self.result.batches += 1
        for r in rejected:
            log.warning("dead letter %s (seq %d): %s", r.event_id, r.seq, r.reason)
        if self.progress is not None:
            self.progress(len(rows))

    def _send(self, items: Batch) -> BatchResult:
        started = self.clock()
        attempt = 0
        while True:
            try:
                return self.sink.send(items)
            except SinkUnavailable as exc:
                attempt += 1
                delay = backoff_delay(attempt, exc.retry_after)
                waited = self.clock() - started
                if waited + delay > self.give_up_after:
                    raise ShipError(f"{self.result.target}: gave up after {_duration(waited)} of failures"
                                    f" ({attempt} attempts): {exc}") from None
                self.result.retries += 1
                log.warning("%s unavailable (%s); sending the batch again in %.1fs", self.result.target, exc, delay)
                self.sleep(delay)

    # -- a run -----------------------------------------------------------------------------------------------
    def resume_pending(self) -> None:
        state = self.ledger.state()
        if state is None or state.pending is None:
            return
        first, last, dead = state.pending
        rows = self.pending_rows(first, last, dead)
        log.info("sending again the batch of seq %d..%d that was not acknowledged", first, last)
        if rows:
            self.deliver(rows, dead=dead, already_pending=True)
        else:   # nothing left of it (its dead letters were all delivered): just clear it
            self.ledger.acknowledge(first=first, last=last, dead=dead, delivered=0, duplicates=0, rejected=(),
                                    now=time.time())
            if not dead:
                self.position = last

    def retry_dead(self) -> None:
        after = 0
        while rows := self.dead_rows(after):
            self.deliver(rows, dead=True)
            after = int(rows[-1][0])

    def catch_up(self) -> int:
        # While the sink takes one batch (a COPY, a file's fsync), a thread reads the next from the archive
        # through a connection of its own: the same rows `next_rows` would read once the ledger has moved
        # (seq after this batch's last), since rows are only ever appended. Nothing is sent or recorded
        # out of order; only the reading, and the building of the batch from the rows (mapping and the
        # sink's `prepare` included), overlaps the sink's work, which then goes on from one batch to the
        # next with no pause.
        shipped = 0
        with _ReadAhead(self.archive_path, self._select(), self.batch, self._batch) as ahead:
            rows = self.next_rows()
            built = self._batch(rows) if rows else None
            while rows:
                ahead.start(after=int(rows[-1][0]))
                self.deliver(rows, dead=False, built=built)
                shipped += len(rows)
                rows, built = ahead.rows()
        return shipped

    def finish(self, started: float) -> ShipResult:
        self.result.position = self.position
        self.result.backlog = self.ledger.backlog(self.position)
        self.result.dead_letters = self.ledger.dead_count()
        self.result.seconds = self.clock() - started
        return self.result


_Built = tuple[Batch, list[Rejected]]


class _ReadAhead:
    """Reads the batch after a given seq in a worker thread, through its own read-only connection (SQLite
    answers a reader while the main connection writes the ledger, the archive being in WAL mode), and
    builds it there with `build` (rows to `Batch`, a pure function of the rows)."""

    def __init__(self, path: Path, select: str, batch: int, build: Callable[[Sequence[Any]], _Built]) -> None:
        self._uri = f"{path.absolute().as_uri()}?mode=ro"
        self._sql = f"{select} WHERE seq > ? ORDER BY seq LIMIT ?"
        self._batch = batch
        self._build = build
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ship-read-ahead")
        self._conn: sqlite3.Connection | None = None
        self._next: Future[tuple[list[Any], _Built | None]] | None = None

    def _read(self, after: int) -> tuple[list[Any], _Built | None]:
        if self._conn is None:   # opened in the worker thread, used only there
            self._conn = sqlite3.connect(self._uri, uri=True, check_same_thread=False)
        rows = self._conn.execute(self._sql, (after, self._batch)).fetchall()
        return rows, (self._build(rows) if rows else None)

    def start(self, *, after: int) -> None:
        self._next = self._pool.submit(self._read, after)

    def rows(self) -> tuple[list[Any], _Built | None]:
        """The rows read and the batch built from them (None when there are none)."""
        assert self._next is not None
        return self._next.result()

    def __enter__(self) -> _ReadAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._conn is not None:
            self._conn.close()


def ship(archive: Archive, sink: Sink, *, name: str | None = None, schema: str | None = None,
         batch: int | None = None, follow: bool = False, interval: float = 30.0,
         give_up_after: float = DEFAULT_GIVE_UP_AFTER, retry_dead: bool = False,
         stop: Callable[[], bool] = lambda: False, clock: Callable[[], float] = time.monotonic,
         sleep: Callable[[float], None] = time.sleep, progress: Callable[[int], None] | None = None) -> ShipResult:
    """Deliver `archive` to `sink` (opened and closed here) under the ledger `name` (default: the sink's URL
    without credentials). With `follow`, keep delivering what a concurrent sync adds, polling every
    `interval` seconds until `stop()` is true. `batch` defaults to the sink's `Sink.preferred_batch`, else
    `DEFAULT_BATCH`. `progress(n)` is called after each batch.

    Raises `ValueError` for bad arguments (nothing opened or written), the sink's `SinkConfigError` or
    `SinkUnavailable` when it cannot be opened (the ledger untouched), `ShipError` or `SinkFailed` when
    delivery stops part-way (everything acknowledged stays recorded).
    """
    schema = schema or sink.default_schema
    if batch is None:
        batch = sink.preferred_batch or DEFAULT_BATCH
    if schema not in SCHEMAS:
        raise ValueError(f"unknown schema {schema!r}; choose one of {', '.join(SCHEMAS)}")
    if not 1 <= batch <= MAX_BATCH:
        raise ValueError(f"batch must be within 1..{MAX_BATCH}")
    if interval <= 0 or give_up_after <= 0:
        raise ValueError("interval and give-up-after must be positive")
    if archive.readonly:
        raise ArchiveError(f"{archive.path}: opened read-only, cannot record deliveries in it")
    name = name or sink.describe()
    if not name.strip():
        raise ValueError("the ledger name must not be empty")
    existing = Ledger(archive.connection, name).state()
    if existing is not None and existing.schema != schema:
        raise ValueError(f"the sink {name!r} has been shipped {existing.schema}; ship {schema} under another --name")
    mapper = schema_mapper(schema)
    started = clock()
    shipper = _Shipper(archive, sink, name=name, schema=schema, mapper=mapper, batch=batch,
                       give_up_after=give_up_after, clock=clock, sleep=sleep, progress=progress)
    sink.open()
    try:
        shipper.resume_pending()
        if retry_dead:
            shipper.retry_dead()
        shipper.catch_up()
        while follow and not stop():
            if shipper.catch_up() == 0 and not stop():
                sleep(interval)
    except LedgerConflict as exc:
        raise ShipError(str(exc)) from None
    finally:
        sink.close()
    return shipper.finish(started)


def _duration(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:.0f}m"
    return f"{seconds:.0f}s"
