"""``postgresql://``: the archive as a PostgreSQL table, exactly once through the event id.

``postgresql://user@host:5432/db?table=openai_audit_logs&connections=2&password_env=PGPASSWORD`` (any other
parameter, such as ``sslmode``, goes to libpq as it is). The table (created when missing) has the event id
as its primary key, the event as ``jsonb`` (`event`: the raw event, or the OCSF/ECS document), the
archive's lookup columns, and ``raw``, the exact text the service sent (``jsonb`` reorders keys and drops
whitespace, and the archived bytes are the evidence). ``effective_at`` has a BRIN index (see `table_sql`).

Most of a batch's cost is the server's: one backend process per connection parses the jsonb, keeps the
primary key and writes the WAL, about twice the CPU the shipper spends on the batch. So a batch is cut in
``connections`` parts (default 2, at most 8) copied at the same time, each through a connection (and a
backend) of its own, each its own transaction; the batch is acknowledged once all of them committed.

Each part is one transaction, and its commit the acknowledgement: first one binary ``COPY`` straight
into the table, the archived bytes and lookup columns as they are (no JSON decode here; PostgreSQL
parses the jsonb once, and no text rows). A re-sent batch (after a crash, a commit whose answer was lost
with the connection, or a part that committed while another failed) holds events already there, so its
``COPY`` fails on the primary key and keeps nothing; it then goes through a temporary table and
``INSERT ... SELECT ... ON CONFLICT (id) DO NOTHING``, which adds only what is missing and counts the
rest as duplicates. Either way no event is in the table twice. An event the table refuses (``jsonb``
cannot hold ``\\u0000``; a CHECK constraint the DBA added) fails its part; the part is then inserted row
by row, each under a savepoint, so only the refused events become dead letters (which
``ship --retry-dead`` sends again once the table accepts them).

Needs ``pip install 'openapiopenai[sinks-postgresql]'`` (psycopg 3).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec

from openapiopenai.sinks._base import (
    BatchResult,
    Item,
    Rejected,
    Sink,
    SinkConfigError,
    SinkFailed,
    SinkUnavailable,
    SinkURL,
    import_extra,
)
from openapiopenai.sinks._batch import Batch

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresSink", "table_sql"]

DEFAULT_TABLE = "openai_audit_logs"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_CONNECT_TIMEOUT_S = "10"
#: The lookup columns as the table has them, after id/effective_at/type (LOOKUP_COLUMNS, same order).
_COLUMNS = ("tenant", "actor_type", "actor_id", "actor_email", "api_key_id", "project_id", "ip_address",
            "resource_id")
_NO_COLUMNS = (0,) + (None,) * (len(_COLUMNS) - 1)
_STAGE = "openapiopenai_ship_stage"
#: Connections a batch is copied through at once (`?connections=N`), and the most allowed.
DEFAULT_CONNECTIONS = 2
MAX_CONNECTIONS = 8

#: The binary COPY's field types, as the server reads them (see `_copy_into_table`).
_BINARY_TYPES = ["text", "int8", "text", "bool", *["text"] * (len(_COLUMNS) - 1), "bytea", "bytea"]
_PG_EPOCH = 946_684_800   # 2000-01-01 in unix seconds: where PostgreSQL's timestamps count from
_JSONB_VERSION = b"\x01"
_encode = msgspec.json.Encoder().encode


def _connections(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_CONNECTIONS:
        raise SinkConfigError(f"postgresql sink: connections must be a whole number within 1..{MAX_CONNECTIONS}")
    return int(text)


def _table_name(text: str) -> tuple[str, ...]:
    parts = tuple(text.split("."))
    if len(parts) > 2 or not all(_IDENT.match(p) for p in parts):
        raise SinkConfigError(f"postgresql sink: table {text!r} is not a plain name (letters, digits, _;"
                              " optionally schema.table)")
    return parts


def table_sql(name: str) -> list[Any]:
    """The statements that create the table `name` (``schema.table`` allowed) when it is missing: the
    event id as primary key, the lookup columns, the event as jsonb, raw as the service sent it."""
    from psycopg import sql

    parts = _table_name(name)
    table = sql.Identifier(*parts)
    index = sql.Identifier(f"{parts[-1]}_effective_at")
    return [
        sql.SQL("CREATE TABLE IF NOT EXISTS {table} (id text PRIMARY KEY, effective_at timestamptz NOT NULL,"
                " type text NOT NULL, tenant boolean NOT NULL DEFAULT false, actor_type text, actor_id text,"
                " actor_email text, api_key_id text, project_id text, ip_address text, resource_id text,"
                " event jsonb NOT NULL, raw text NOT NULL, shipped_at timestamptz NOT NULL DEFAULT now())"
                ).format(table=table),
        # BRIN, not a b-tree: rows arrive in the archive's order, which is time order but for back-fills, so
        # each block range holds about an hour of a quarter's events and a time-range query reads only its
        # ranges; a b-tree would cost every COPY an eighth of its server time to keep. A table made by an
        # earlier version keeps its b-tree (same name).
        sql.SQL("CREATE INDEX IF NOT EXISTS {index} ON {table} USING brin (effective_at)").format(index=index,
                                                                                               table=table),
    ]


class PostgresSink(Sink):
    scheme: ClassVar[tuple[str, ...]] = ("postgresql", "postgres")
    guarantee: ClassVar[str] = "exactly-once"
    # Each batch is a commit, and a commit a flush of PostgreSQL's WAL.
    preferred_batch: ClassVar[int | None] = 10_000
    reads_lookup_columns: ClassVar[bool] = True

    def __init__(self, url: SinkURL, *, options: Mapping[str, str]) -> None:
        super().__init__(url, options=options)
        query = dict(url.query)
        self.table = _table_name(query.pop("table", DEFAULT_TABLE))
        self._connections = _connections(query.pop("connections", str(DEFAULT_CONNECTIONS)))
        for name in [k for k in query if k.endswith(("_env", "_file"))]:
            query.pop(name)   # how a secret was given: read by parse_sink_url, not for libpq
        self._params: dict[str, Any] = {
            "host": url.host, "port": url.port, "dbname": url.path.lstrip("/") or None, "user": url.username,
            "connect_timeout": query.pop("connect_timeout", _CONNECT_TIMEOUT_S),
            # The binary COPY's text fields are UTF-8 (the archive's bytes): say so, whatever the default.
            "client_encoding": query.pop("client_encoding", "UTF8"), **query,
        }
        self._params = {k: v for k, v in self._params.items() if v is not None}
        self._conns: list[psycopg.Connection[Any] | None] = [None] * self._connections
        self._pool: ThreadPoolExecutor | None = None
        self._opened = False

    # -- connecting ---------------------------------------------------------------------------------------
    def _clean(self, exc: BaseException) -> str:
        """One line of the server's or libpq's message, never the password."""
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        text = lines[-1] if lines else type(exc).__name__
        for line in lines:   # libpq puts the reason on the line with FATAL/ERROR, the context around it
            if "FATAL:" in line or "ERROR:" in line:
                text = line
        if self.url.password is not None:
            text = text.replace(self.url.password.reveal(), "***")
        return f"{self.describe()}: {text}"

    def _connect(self) -> psycopg.Connection[Any]:
        pg: Any = import_extra("psycopg", "sinks-postgresql")
        password = self.url.password.reveal() if self.url.password is not None else None
        try:
            conn: psycopg.Connection[Any] = pg.connect(**self._params, password=password, autocommit=False)
        except pg.ProgrammingError as exc:   # an option libpq does not know
            raise SinkConfigError(self._clean(exc)) from None
        except pg.OperationalError as exc:
            message = self._clean(exc)
            refused_login = getattr(exc, "sqlstate", None) in ("28P01", "28000", "3D000") or any(
                s in message for s in ("password authentication failed", "no password supplied",
                                       "does not exist", "pg_hba.conf"))
            if refused_login:
                # Before the first batch, bad usage; mid-run (the password changed), the sink is gone.
                raise (SinkFailed if self._opened else SinkConfigError)(message) from None
            raise SinkUnavailable(message) from None
        try:
            with conn.cursor() as cur:
                cur.execute(self._sql(f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} (id text, effective_at bigint,"
                                      " type text, tenant boolean, actor_type text, actor_id text, actor_email"
                                      " text, api_key_id text, project_id text, ip_address text, resource_id"
                                      " text, event text, raw text) ON COMMIT DELETE ROWS"))
            conn.commit()
        except pg.Error as exc:
            conn.close()
            raise SinkUnavailable(self._clean(exc)) from None
        return conn

    def _sql(self, text: str, **identifiers: Any) -> Any:
        from psycopg import sql

        return sql.SQL(text).format(table=sql.Identifier(*self.table), **identifiers)

    def open(self) -> None:
        conn = self._connect()
        pg: Any = import_extra("psycopg", "sinks-postgresql")
        try:
            with conn.cursor() as cur:
                for statement in table_sql(".".join(self.table)):
                    cur.execute(statement)
            conn.commit()
        except pg.Error as exc:   # no right to create the table, or a same-named object in the way
            conn.close()
            raise SinkConfigError(self._clean(exc)) from None
        self._conns[0] = conn
        if self._connections > 1:
            self._pool = ThreadPoolExecutor(self._connections, thread_name_prefix="ship-postgresql")
        self._opened = True

    # -- sending ------------------------------------------------------------------------------------------
    def _rows(self, batch: Batch) -> list[tuple[Any, ...]]:
        rows = []
        for item in batch:
            doc = None if item.doc is None else msgspec.json.encode(item.doc).decode()
            columns = item.columns or _NO_COLUMNS
            rows.append((item.event_id, item.effective_at, item.event_type, bool(columns[0]), *columns[1:],
                         doc, item.raw))
        return rows

    _INSERT = ("INSERT INTO {table} (id, effective_at, type, tenant, actor_type, actor_id, actor_email, api_key_id,"
               " project_id, ip_address, resource_id, event, raw) SELECT id, to_timestamp(effective_at), type,"
               " tenant, actor_type, actor_id, actor_email, api_key_id, project_id, ip_address, resource_id,"
               f" coalesce(event, raw)::jsonb, raw FROM {_STAGE}")

    def send(self, batch: Sequence[Item]) -> BatchResult:
        whole = Batch.of(batch)
        parts = whole.split(self._connections)
        if len(parts) <= 1:
            return self._send_part(0, whole)
        # Each part on a connection of its own, at the same time: PostgreSQL gives each connection one
        # backend process, and a backend's work (the jsonb parse, the two indexes, the WAL) is most of a
        # batch's cost, so two of them use two cores. The batch is acknowledged once every part committed;
        # a part that committed before another failed is in the table, and the re-sent batch's COPY of it
        # fails on the primary key and goes the duplicate-skipping way, so no event is there twice.
        assert self._pool is not None
        futures = [self._pool.submit(self._send_part, i, part) for i, part in enumerate(parts)]
        errors = [f.exception() for f in futures]
        for kind in (SinkFailed, SinkUnavailable, BaseException):   # the gravest failure decides
            for error in errors:
                if isinstance(error, kind):
                    raise error
        results = [f.result() for f in futures]
        return BatchResult(rejected=tuple(r for result in results for r in result.rejected),
                           duplicates=sum(result.duplicates for result in results))

    def _send_part(self, slot: int, batch: Batch) -> BatchResult:
        pg: Any = import_extra("psycopg", "sinks-postgresql")
        conn = self._conns[slot]
        if conn is None or conn.closed:
            conn = self._conns[slot] = self._connect()
        try:
            # The usual case, a batch the table has none of: one COPY straight into it, as fast as the
            # table can take rows. One event already there (a re-sent batch) fails the whole COPY,
            # and nothing of it is kept; the batch then goes the way that skips what is there.
            try:
                with conn.cursor() as cur:
                    self._copy_into_table(cur, batch)
                conn.commit()
                return BatchResult()
            except pg.errors.UniqueViolation:
                conn.rollback()
            except (pg.errors.DataError, pg.errors.IntegrityError):
                conn.rollback()
                return self._send_row_by_row(conn, batch)
            rows = self._rows(batch)
            try:
                with conn.cursor() as cur:
                    self._stage(cur, rows)
                    cur.execute(self._sql(self._INSERT + " ON CONFLICT (id) DO NOTHING"))
                    inserted = cur.rowcount
                conn.commit()
                return BatchResult(duplicates=len(rows) - inserted)
            except (pg.errors.DataError, pg.errors.IntegrityError):
                # Some event the table refuses (bad jsonb, a CHECK the DBA added): find which, one by one.
                conn.rollback()
                return self._send_row_by_row(conn, batch)
        except (pg.OperationalError, pg.InterfaceError) as exc:
            # The connection is gone (the server restarted, the network dropped): the transaction either
            # committed or not; either way the re-sent batch is absorbed by the primary key.
            self._drop(slot)
            raise SinkUnavailable(self._clean(exc)) from None
        except pg.Error as exc:
            self._drop(slot)
            raise SinkFailed(self._clean(exc)) from None

    def _copy_into_table(self, cur: psycopg.Cursor[Any], batch: Batch) -> None:
        # Binary COPY: the server takes each field as it is, with no text parsing of the row (a third
        # less of its time per event than text COPY, measured); the archive's bytes go into it untouched.
        # Each field's bytes are what the column's binary input reads: for `timestamptz` the microseconds
        # since 2000-01-01 (so an int8 is sent), for `jsonb` a version byte and the JSON text (so bytes).
        events = batch.raw if batch.docs is None else [_encode(doc) for doc in batch.docs]
        columns = batch.columns or [_NO_COLUMNS] * len(batch)
        with cur.copy(self._sql("COPY {table} (id, effective_at, type, tenant, actor_type, actor_id, actor_email,"
                                " api_key_id, project_id, ip_address, resource_id, event, raw) FROM STDIN"
                                " (FORMAT BINARY)")) as copy:
            copy.set_types(_BINARY_TYPES)
            write = copy.write_row
            for event_id, at, event_type, lookup, event, raw in zip(batch.event_id, batch.effective_at,
                                                                    batch.event_type, columns, events, batch.raw,
                                                                    strict=True):
                write((event_id, (at - _PG_EPOCH) * 1_000_000, event_type, bool(lookup[0]), *lookup[1:],
                       _JSONB_VERSION + event, raw))

    def _stage(self, cur: psycopg.Cursor[Any], rows: Sequence[tuple[Any, ...]]) -> None:
        with cur.copy(f"COPY {_STAGE} (id, effective_at, type, tenant, actor_type, actor_id, actor_email,"
                      " api_key_id, project_id, ip_address, resource_id, event, raw) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def _send_row_by_row(self, conn: psycopg.Connection[Any], batch: Batch) -> BatchResult:
        pg: Any = import_extra("psycopg", "sinks-postgresql")
        rejected: list[Rejected] = []
        duplicates = 0
        with conn.cursor() as cur:
            self._stage(cur, self._rows(batch))
            for item in batch:
                cur.execute("SAVEPOINT one_event")
                try:
                    cur.execute(self._sql(self._INSERT + " WHERE id = %s ON CONFLICT (id) DO NOTHING"),
                                (item.event_id,))
                    duplicates += cur.rowcount == 0
                    cur.execute("RELEASE SAVEPOINT one_event")
                except (pg.errors.DataError, pg.errors.IntegrityError) as exc:
                    cur.execute("ROLLBACK TO SAVEPOINT one_event")
                    reason = (exc.diag.message_primary or str(exc)).strip().splitlines()[0]
                    rejected.append(Rejected(item.seq, item.event_id, f"postgresql refused it: {reason}"))
        conn.commit()
        return BatchResult(rejected=tuple(rejected), duplicates=duplicates)

    def _drop(self, slot: int) -> None:
        conn, self._conns[slot] = self._conns[slot], None
        if conn is not None:
            # Closing a broken connection may fail too; it is gone either way.
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        for slot in range(len(self._conns)):
            self._drop(slot)
