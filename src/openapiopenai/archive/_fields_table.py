"""``detect_fields``: the ``events`` view's columns kept as a plain table, for the detections.

Why a table beside the view: the view computes a column with SQLite's JSON functions each time a row is
read, about 4 us to reach and parse an event plus 1.5 us per column; a rule set of thirty rules over a
million events re-reads the same rows rule after rule (measured: 170 s for the shipped rules at 1M
events). Here each event is read once, in Python with ``anatomy.facts_from_json`` (the sync's own fast
decoder, a few microseconds an event), and every rule is then an index lookup on small rows.

It is a cache of ``audit_logs`` and nothing else: rows are keyed by ``audit_logs.rowid`` (the
``archived_seq`` of the view), `catch_up` adds the rows archived since its last call, and the tests hold
every row to the view's. A writable archive keeps it in the file (so later runs only add what is new);
a read-only one gets a TEMP table filled for the run.

What a build costs, per event (CPU, measured at 1M events): reading the row ~2.5 us, the facts ~6 us,
the insert of ~38 columns ~14 us, and keeping two indexes on it during the insert as much again. So a
first build inserts into the bare table and sorts each index once at the end (as the archive's own
back-fill does), and the rows are plain INSERTs: every seq added is above the table's last.

That is still ~45 s of CPU in one process at 1M events, all of it Python (the GIL: threads would not
help), and every event is independent of the others. So a large build (``parallel_from`` pending seqs
or more: a first `detect`, not a ``--new`` or a `run` cycle, which stay in-process) is cut into
contiguous seq ranges, one per worker process (`spawn`: the caller may have threads). Each worker opens
the archive read-only, builds its rows with the same `_row`, and writes them into a bare table of its
own scratch file (no journal, no sync: it is thrown away), in a private 0700 folder beside the archive
when it can (same filesystem), else in the system's temporary folder, since the rows hold e-mails and
IPs. The parent, inside the one transaction, copies each part in seq order with an ``INSERT ... SELECT``
(no Python per row), sorts the indexes once, commits, and removes the scratch folder whatever happened:
a worker's failure rolls everything back. Measured at 1M events on 2 cores (load ~2-4, shared): 79.5 s
wall in-process, 37 s in two workers, the CPU the same (~52 s: workers ~36 s, the parent ~11 s copying,
indexing and committing, the part of the wall time left serial). As with any `spawn` pool, a program
calling this from a script needs the ``if __name__ == "__main__":`` guard, so workers are used only where
the process said its ``__main__`` may be imported again (`openapiopenai._processes`: the CLI's entry point
does) or the caller asks for them with ``parallel_from``.

Events are only ever added to ``audit_logs``, with one exception: the de-duplication when the id index
is built after a back-fill (`archive._schema`) deletes rows, and SQLite may then hand a deleted seq to the
next event. A trigger (``detect_fields_forget``) deletes the same seq here, so the table can never keep a
row the archive no longer has; the migrations copy every seq as it is and carry the trigger with the
table. A table from before the trigger is checked once against the archive, and rebuilt if it differs.
"""

from __future__ import annotations

import operator
import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from openapiopenai._processes import allowed
from openapiopenai.anatomy import facts_from_json
from openapiopenai.fields import FIELDS, Field

__all__ = ["KIND_INDEX", "TABLE", "TABLE_COLUMNS", "catch_up", "table_sql"]

TABLE = "detect_fields"
KIND_INDEX = "detect_fields_kind"
TRIGGER = "detect_fields_forget"
_HEAD = ("id", "effective_at", "type", "tenant")
#: The fields read from anatomy's facts, then those beyond them; `time` is a generated column.
_FACTS: tuple[Field, ...] = tuple(f for f in FIELDS if f.fact is not None and f.name not in _HEAD)
_EXTRA: tuple[Field, ...] = tuple(f for f in FIELDS if f.fact is None and f.source.kind == "payload")
#: The stored columns, in insert order (every field of the view but `payload`, the largest and of no use
#: to a rule, and `time`, computed from `effective_at` when read).
TABLE_COLUMNS: tuple[str, ...] = ("seq", *_HEAD, *(f.name for f in _FACTS), *(f.name for f in _EXTRA))
_BATCH = 5000
#: Pending seqs from which a build is shared among worker processes: below it, starting them (~0.5 s
#: each, the package imported again) costs more than it saves.
PARALLEL_FROM = 100_000
_MAX_WORKERS = 4
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode
_read_facts = operator.attrgetter(*(f.fact for f in _FACTS if f.fact is not None))
_SCOPES_AT = [f.name for f in _FACTS].index("scopes")
# A field beyond the facts is read from the decoded event only when the raw text names its last key:
# most events name none of them and skip the full decode. One regular expression finds any of them in
# one pass (1.4 us an event, where a `in` per key took 3.4 us).
_EXTRA_KEYS = re.compile(b"|".join(sorted({re.escape(f'"{p.rsplit(".", 1)[-1]}"'.encode())
                                           for f in _EXTRA for p in f.source.paths})))


def table_sql(*, temporary: bool = False) -> list[str]:
    """The statements creating the table, then its indexes (``IF NOT EXISTS``)."""
    schema = "temp." if temporary else ""
    typed = {"effective_at": "INTEGER NOT NULL", "tenant": "INTEGER", "id": "TEXT NOT NULL", "type": "TEXT NOT NULL"}
    columns = ",\n    ".join(f"{name} {typed.get(name, 'TEXT')}" for name in TABLE_COLUMNS[1:])
    return [
        f"CREATE {'TEMP ' if temporary else ''}TABLE IF NOT EXISTS {TABLE} (\n"
        f"    seq INTEGER PRIMARY KEY,   -- audit_logs.rowid: the events view's archived_seq\n    {columns},\n"
        f"    time TEXT GENERATED ALWAYS AS (strftime('%Y-%m-%dT%H:%M:%SZ', effective_at, 'unixepoch')) VIRTUAL\n)",
        f"CREATE INDEX IF NOT EXISTS {schema}{TABLE}_type ON {TABLE} (type, effective_at)",
        # Rules narrow on `type` as Sigma compares it, case-insensitively (`=` or `LIKE`, which no index on
        # `type` itself answers): `rules._engine` names this index for every rule bounded by type.
        f"CREATE INDEX IF NOT EXISTS {schema}{KIND_INDEX} ON {TABLE} (lower(type), effective_at)",
    ]


def _row(seq: int, event_id: str, effective_at: int, event_type: str, tenant: int, raw: bytes) -> tuple[Any, ...]:
    values = list(_read_facts(facts_from_json(raw, event_type)))
    scopes = values[_SCOPES_AT]
    if scopes is not None:
        values[_SCOPES_AT] = _encode(list(scopes)).decode()
    if _EXTRA_KEYS.search(raw) is not None:
        event = _decode(raw)
        extra = [f.read(event) for f in _EXTRA]
    else:
        extra = [None] * len(_EXTRA)
    return (seq, event_id, effective_at, event_type, tenant, *values, *extra)


def _pending(conn: sqlite3.Connection, after: int, since: int | None,
             upto: int | None = None) -> Iterator[list[tuple[Any, ...]]]:
    sql = "SELECT rowid, id, effective_at, type, tenant, CAST(raw AS BLOB) FROM main.audit_logs WHERE rowid > ?"
    args: list[Any] = [after]
    if upto is not None:
        sql += " AND rowid <= ?"
        args.append(upto)
    if since is not None:
        sql += " AND effective_at >= ?"
        args.append(since)
    cursor = conn.execute(sql + " ORDER BY rowid", args)
    try:
        while batch := cursor.fetchmany(_BATCH):
            yield [_row(*r) for r in batch]
    finally:
        cursor.close()


_INSERT = f"INSERT INTO {TABLE} ({', '.join(TABLE_COLUMNS)}) VALUES ({', '.join('?' * len(TABLE_COLUMNS))})"
_TRIGGER_SQL = (f"CREATE TRIGGER IF NOT EXISTS {TRIGGER} AFTER DELETE ON audit_logs"
                f" BEGIN DELETE FROM {TABLE} WHERE seq = old.rowid; END")


def _fill(conn: sqlite3.Connection, statements: list[str], schema: str, since: int | None,
          parts: _Parts) -> int:
    """Create what is missing and add the rows after the table's last; a new table gets its indexes after
    its rows (one sort each instead of a leaf insert per row and index)."""
    fresh = conn.execute(f"SELECT 1 FROM {schema}.sqlite_master WHERE name = ?", (TABLE,)).fetchone() is None
    conn.execute(statements[0])
    if not fresh:
        for statement in statements[1:]:
            conn.execute(statement)
    after = int(conn.execute(f"SELECT coalesce(max(seq), 0) FROM {schema}.{TABLE}").fetchone()[0])
    # The seqs still to read, bounded by rowid (two index seeks; a count would read every event's page).
    last = conn.execute("SELECT max(rowid) FROM main.audit_logs").fetchone()[0]
    database = conn.execute("PRAGMA database_list").fetchone()[2]   # '' for an archive only in memory
    if parts.parallel_from is not None and last is not None and last - after >= parts.parallel_from and database:
        added = parts.build(conn, database, after, int(last), since)
    else:
        added = 0
        for rows in _pending(conn, after, since):
            conn.executemany(_INSERT, rows)
            added += len(rows)
    if fresh:
        for statement in statements[1:]:
            conn.execute(statement)
    return added


def _build_part(database: str, part: str, after: int, upto: int, since: int | None) -> int:
    """In a worker process: the rows of seqs ``(after, upto]`` into table ``t`` of the new file ``part``."""
    from openapiopenai.archive._schema import _connect

    source = _connect(Path(database), readonly=True)
    out = sqlite3.connect(part, isolation_level=None)
    try:
        out.execute("PRAGMA journal_mode = OFF")
        out.execute("PRAGMA synchronous = OFF")
        out.execute(f"CREATE TABLE t (seq INTEGER PRIMARY KEY, {', '.join(TABLE_COLUMNS[1:])})")
        insert = f"INSERT INTO t VALUES ({', '.join('?' * len(TABLE_COLUMNS))})"
        out.execute("BEGIN")
        added = 0
        for rows in _pending(source, after, since, upto):
            out.executemany(insert, rows)
            added += len(rows)
        out.execute("COMMIT")
        return added
    finally:
        out.close()
        source.close()


#: What a worker runs (`_build_part`'s signature); a parameter so a test can make one fail.
PartBuilder = Callable[[str, str, int, int, int | None], int]


class _Parts:
    """A large build's worker processes and scratch files; leaving it detaches and removes the files (after
    the caller's transaction ended: SQLite refuses a DETACH inside one)."""

    def __init__(self, conn: sqlite3.Connection, parallel_from: int | None, builder: PartBuilder) -> None:
        self.conn = conn
        self.parallel_from = parallel_from
        self.builder = builder
        self.folder: str | None = None
        self.attached: list[str] = []

    def __enter__(self) -> _Parts:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            for name in self.attached:
                self.conn.execute(f"DETACH DATABASE {name}")
        finally:
            if self.folder is not None:
                shutil.rmtree(self.folder, ignore_errors=True)

    def build(self, conn: sqlite3.Connection, database: str, after: int, last: int, since: int | None) -> int:
        """Rows of seqs ``(after, last]`` of the archive file ``database`` built by workers, copied into the
        table in seq order."""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.folder = _scratch_folder(database)
        count = min(os.cpu_count() or 1, _MAX_WORKERS)
        bounds = [after + (last - after) * i // count for i in range(count + 1)]
        paths = [os.path.join(self.folder, f"part-{i}.sqlite") for i in range(count)]
        columns = ", ".join(TABLE_COLUMNS)
        added = 0
        with ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(self.builder, database, path, lo, hi, since)
                       for path, lo, hi in zip(paths, bounds, bounds[1:], strict=False)]
            try:
                for i, (future, path) in enumerate(zip(futures, paths, strict=True)):
                    added += future.result()   # the first part is copied while the later ones are built
                    name = f"detect_fields_part_{i}"
                    conn.execute("ATTACH DATABASE ? AS " + name, (path,))
                    self.attached.append(name)
                    conn.execute(f"INSERT INTO {TABLE} ({columns}) SELECT {columns} FROM {name}.t ORDER BY seq")
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        return added


def _scratch_folder(database: str) -> str:
    """A new private folder (0700) for the parts: beside the archive (its filesystem, its space) if it
    can be written there."""
    try:
        return tempfile.mkdtemp(prefix=".detect_fields-", dir=os.path.dirname(database))
    except OSError:
        return tempfile.mkdtemp(prefix="detect_fields-")


def _consistent(conn: sqlite3.Connection) -> bool:
    """Whether the table holds exactly the archive's rows up to its last seq, with the same ids (a row
    deleted since, or a seq handed to another event, shows in one or the other)."""
    last = conn.execute(f"SELECT seq, id FROM main.{TABLE} ORDER BY seq DESC LIMIT 1").fetchone()
    if last is None:
        return True
    kept = conn.execute(f"SELECT count(*) FROM main.{TABLE}").fetchone()[0]
    # All rows counted on the smallest index, less those after `last` (read by rowid): counting `seq <= last`
    # by rowid would read every event's page.
    archived, later, same_id = conn.execute(
        "SELECT (SELECT count(*) FROM main.audit_logs), (SELECT count(*) FROM main.audit_logs WHERE seq > :last),"
        " (SELECT id FROM main.audit_logs WHERE seq = :last)", {"last": last[0]}).fetchone()
    return bool(archived - later == kept and same_id == last[1])


def catch_up(conn: sqlite3.Connection, *, readonly: bool, since: int | None = None,
             parallel_from: int | None = None, part_builder: PartBuilder = _build_part) -> int:
    """Add the rows archived since the last call; returns how many. Read-only: fill a TEMP table
    (only events from ``since`` on, when given, since nothing is kept for the next run).

    ``parallel_from``: from this many pending seqs on, the rows are built by worker processes (see the
    module's docstring); ``None``: from `PARALLEL_FROM` on if the process allows workers
    (`openapiopenai._processes`, as the CLI does), else never. ``part_builder`` is what each worker runs
    (a seam for the tests)."""
    if parallel_from is None and allowed():
        parallel_from = PARALLEL_FROM
    with _Parts(conn, parallel_from, part_builder) as parts:
        if readonly:
            # One transaction too: a failed build leaves no TEMP table behind.
            conn.execute("BEGIN")
            try:
                added = _fill(conn, table_sql(temporary=True), "temp", since, parts)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return added
        conn.execute("BEGIN IMMEDIATE")
        try:
            kept = {name for (name,) in conn.execute(
                "SELECT name FROM main.sqlite_master WHERE name IN (?, ?)", (TABLE, TRIGGER))}
            if kept == {TABLE} and not _consistent(conn):
                conn.execute(f"DROP TABLE IF EXISTS main.{TABLE}")   # a table from before the trigger, gone stale
            added = _fill(conn, table_sql(), "main", None, parts)
            conn.execute(_TRIGGER_SQL)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return added
