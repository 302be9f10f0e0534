"""``audit-logs list``, ``export`` and ``sync``: parse, call the library, print."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import operator
import os
import sqlite3
import sys
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import click

from ._app import audit_logs
from ._from_archive import archive_options, archive_raws
from ._messages import note, plural
from ._options import BadInput, Connection, connection_options, filter_options
from ._output import (
    UnwritableOutput,
    atomic_output,
    write_chunks,
    write_csv,
    write_jsonl,
    write_parquet,
)
from ._progress import event_progress
from ._schema import in_schema, lake_output, schema_option, write_lake
from ._time import Duration, format_time

if TYPE_CHECKING:
    from openapiopenai import AuditLogsApi
    from openapiopenai.archive import Archive, Filters, SyncResult

PAGE_MAX = 100
#: ``sync`` when another sync still holds the archive after ``--wait`` (EX_TEMPFAIL: try again later).
EXIT_SYNC_BUSY = 75


@contextlib.contextmanager
def open_archive(path: str, *, create: bool, writable: bool | None = None) -> Iterator[Archive]:
    """An archive, or a usage error (exit 2) naming what is wrong with the file.

    Reading commands open it read-only (``writable`` defaults to ``create``), and nothing is written
    before the file is known to be an archive, so a wrong ``--db`` never changes the file it points at.
    Every command that takes ``--db`` opens it here, so a bad file reads the same from each.
    """
    from openapiopenai.archive import Archive, ArchiveError

    if os.path.isdir(path):
        raise BadInput(f"--db {path}: is a directory, not an archive file")
    if not create and not os.path.exists(path):
        raise BadInput(f"--db {path}: no such archive (sync into it first)")
    writable = create if writable is None else writable
    with contextlib.ExitStack() as stack:
        try:
            archive = stack.enter_context(Archive(path, create=create, readonly=not writable))
        except ArchiveError as exc:
            raise BadInput(f"--db {exc}") from None  # its message starts with the path
        except (sqlite3.Error, OSError) as exc:
            raise BadInput(f"--db {path}: not a usable archive ({exc})") from None
        yield archive


def _service_events(api: AuditLogsApi, filters: Filters, limit: int | None) -> Iterator[str]:
    """Raw JSON of the newest ``limit`` events (every one when ``limit`` is None)."""
    kwargs = filters.list_kwargs()
    if limit is not None and limit <= PAGE_MAX:
        # One request: the service's own page size is the limit.
        yield from (event.raw_json for event in api.list_audit_logs(**kwargs, limit=limit).data)
        return
    events: Iterable[Any] = api.iter_audit_logs(**kwargs, limit=PAGE_MAX)
    if limit is not None:
        events = itertools.islice(events, limit)
    yield from (event.raw_json for event in events)


@audit_logs.command("list")
@filter_options
@connection_options
@click.option(
    "--limit",
    type=click.IntRange(1),
    metavar="N",
    default=20,
    show_default=True,
    help="How many of the newest events.",
)
@click.option("--all", "all_", is_flag=True, help="Every matching event (pages through the whole range).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "jsonl", "csv"]),
    default="table",
    show_default=True,
)
@click.option("--wide", is_flag=True, help="Table: also show each event's id, however narrow the terminal.")
@schema_option
@archive_options
@click.pass_context
def list_command(
    ctx: click.Context,
    filters: Filters,
    connection: Connection,
    limit: int,
    all_: bool,
    fmt: str,
    wide: bool,
    schema: str,
    db: str | None,
    search: str | None,
) -> None:
    """Show the newest events from the service (or an archive, --db), newest first."""
    if all_ and ctx.get_parameter_source("limit") is not click.core.ParameterSource.DEFAULT:
        raise BadInput("--limit and --all cannot be used together")
    convert = in_schema(schema, fmt)
    with contextlib.ExitStack() as stack:
        archived = stack.enter_context(archive_raws(db, search, filters, None if all_ else limit))
        if archived is None:
            archived = _service_events(stack.enter_context(connection.api()), filters, None if all_ else limit)
        raws = convert(archived)
        if fmt == "table":
            from ._terminal import print_table

            print_table(raws, wide=wide)
        elif fmt == "json":
            from ._terminal import print_events_json

            print_events_json(raws)
        elif fmt == "jsonl":
            write_jsonl(raws, sys.stdout)
        else:
            write_csv(raws, sys.stdout)


_EXPORT_FORMATS = ("jsonl", "csv", "parquet")


@audit_logs.command("export")
@filter_options
@connection_options
@click.option("--out", required=True, metavar="FILE", help="Output file; '-' for stdout (jsonl, csv).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(_EXPORT_FORMATS),
    help="Output format [default: from --out's extension, else jsonl].",
)
@click.option("--db", type=click.Path(), metavar="FILE", help="Export from this archive instead of the service.")
@schema_option
def export_command(
    filters: Filters, connection: Connection, out: str, fmt: str | None, db: str | None, schema: str
) -> None:
    """Write every matching event to a file, newest first.

    From an archive (--db), both of the service's listings are exported, organisation-level and
    tenant-scoped (--tenant-only: only the latter). The file appears only when the export is
    complete: a failure leaves no partial file behind.
    """
    if fmt is None:
        fmt = _format_from_extension(out)
    convert = in_schema(schema, fmt)
    lake = lake_output(schema, fmt, out)   # OCSF Parquet: Security Lake datasets in the folder --out
    if fmt == "parquet":
        if out == "-":
            raise BadInput("parquet cannot be written to stdout; give --out FILE")
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise BadInput("parquet needs pyarrow: pip install 'openapiopenai[parquet]'") from None
    if out != "-" and os.path.isdir(out) and not lake:
        raise BadInput(f"--out {out}: is a directory")

    # Mapped JSON lines go from the encoder to the file as bytes; from an archive, with each event's type
    # from its row, so the mapping need not decode the head of the text to find it.
    mapped = schema != "raw" and fmt == "jsonl"
    with contextlib.ExitStack() as stack:
        if db is not None:
            archive = stack.enter_context(open_archive(db, create=False))
            # Closed before the archive is: a reader that stops early (`| head`) must not leave the
            # cursor to be finalised against a closed connection.
            rows = _ArchiveRows(archive, filters)
            stack.callback(rows.close)
            raws: Iterable[str] = () if mapped else rows.raws()
            typed: Iterable[tuple[str | None, str]] = rows.typed() if mapped else ()
        else:
            api = stack.enter_context(connection.api())
            rows = None
            raws = _service_events(api, filters, None)
            typed = ((None, raw) for raw in raws)
        try:
            if lake:
                count = write_lake(raws, out)
            elif mapped:
                count = _write_mapped(schema, typed, out)
            else:
                count = _write(fmt, convert(raws), out)
        except UnwritableOutput as exc:
            raise BadInput(f"--out {exc}") from None
    where = "stdout" if out == "-" else out
    parts = ""
    if rows is not None and not filters.tenant_only:
        organisation, tenant = rows.counts
        parts = f" ({organisation:,} organisation-level, {tenant:,} tenant-scoped)"
    note(f"exported {count:,} events{parts} to {where}")


_TENANT = operator.itemgetter(2)   # of a row of `_ArchiveRows`: 0 organisation-level, else tenant-scoped
_TYPE_AND_RAW = operator.itemgetter(1, 0)


class _ArchiveRows:
    """An archive's two listings (organisation-level and tenant-scoped; --tenant-only: the latter) in one
    query, newest first, with how many rows came from each.

    One query, not one per listing merged: the tenant-scoped one has no index of its own, so an archive
    with few tenant-scoped events had the whole table read (1.1 GB at 1M events, ~7 s) to find them
    before the first line was written. Both listings in (effective_at, id) order are exactly the merge
    of each in that order, since an id is in one of them only."""

    _BATCH = 500

    def __init__(self, archive: Archive, filters: Filters) -> None:
        from openapiopenai.archive._archive import where_clause

        where, args = where_clause(filters, both_partitions=True)
        self._cursor = archive.connection.execute(
            f"SELECT raw, type, tenant FROM audit_logs WHERE {where} ORDER BY effective_at DESC, id DESC", args)
        self.counts = [0, 0]
        """Rows read from each listing: organisation-level, tenant-scoped."""

    def _rows(self) -> Iterator[tuple[Any, ...]]:
        counts = self.counts
        while batch := self._cursor.fetchmany(self._BATCH):
            for row in batch:
                counts[1 if row[2] else 0] += 1
                yield row

    def raws(self) -> Iterator[str]:
        for row in self._rows():
            yield row[0]

    def typed(self) -> Iterator[tuple[str, str]]:
        """Each event's type (the archive's column: the text's own ``type``) and its text.

        `_rows` written out again, a batch at a time (counted and reordered by C loops, `yield from`): no
        Python code per event between the cursor and a mapped export's encoder."""
        counts = self.counts
        while batch := self._cursor.fetchmany(self._BATCH):
            organisation = list(map(_TENANT, batch)).count(0)
            counts[0] += organisation
            counts[1] += len(batch) - organisation
            yield from map(_TYPE_AND_RAW, batch)

    def close(self) -> None:
        self._cursor.close()


#: Extensions that name a format; ``.ndjson`` is JSON Lines by another name.
_EXTENSIONS = {"jsonl": "jsonl", "ndjson": "jsonl", "csv": "csv", "parquet": "parquet"}


def _format_from_extension(out: str) -> str:
    """The format ``--out``'s extension names; JSON Lines without one; refused for any other."""
    extension = os.path.splitext(out)[1].lstrip(".").lower()
    if out == "-" or not extension:
        return "jsonl"
    if extension not in _EXTENSIONS:
        raise BadInput(
            f"--out {out}: .{extension} names no export format; give --format {'|'.join(_EXPORT_FORMATS)}"
        )
    return _EXTENSIONS[extension]


def _write(fmt: str, raws: Iterable[str], out: str) -> int:
    if fmt == "parquet":
        with atomic_output(out) as tmp:
            return write_parquet(raws, tmp)
    writer = write_csv if fmt == "csv" else write_jsonl
    if out == "-":
        return writer(raws, sys.stdout)
    with atomic_output(out) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        return writer(raws, fh)


def _write_mapped(schema: str, events: Iterable[tuple[str | None, str]], out: str) -> int:
    """A JSON-lines export in ``schema`` (ocsf, ecs): the lines are encoded into chunks of bytes, each
    written with one call."""
    from openapiopenai.schemas._export import mapped_chunks

    chunks = mapped_chunks(events, schema)
    if out == "-":
        sys.stdout.flush()
        count = write_chunks(chunks, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return count
    with atomic_output(out) as tmp, open(tmp, "wb") as fh:
        return write_chunks(chunks, fh)


@audit_logs.command("sync")
@filter_options
@connection_options
@click.option(
    "--db", required=True, type=click.Path(), metavar="FILE", help="The archive (SQLite); created if missing."
)
@click.option(
    "--lookback",
    type=Duration(),
    default="15m",
    show_default=True,
    help="Overlap re-read to catch late events.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    metavar="N",
    default=1,
    show_default=True,
    help="Parallel time slices for a back-fill.",
)
@click.option(
    "--wait",
    type=Duration(),
    default="5m",
    show_default=True,
    help="If another sync is running on the archive, wait this long for it (then exit 75).",
)
@click.option(
    "--give-up-after",
    type=Duration(),
    metavar="TIME",
    default="30m",
    show_default=True,
    help="Keep retrying 429/5xx/connection failures until no request has succeeded for this long.",
)
@click.option("--json", "as_json", is_flag=True, help="Also print the result as JSON on stdout.")
def sync_command(
    filters: Filters,
    connection: Connection,
    db: str,
    lookback: float,
    workers: int,
    wait: float,
    give_up_after: float,
    as_json: bool,
) -> None:
    """Bring the archive up to date with the service (back-fill first, then only what is new).

    Exit status: 0 synced; 1 the sync failed (what it committed is kept, the next run resumes);
    2 bad usage; 75 another sync is still running on the archive after --wait.
    """
    with (
        connection.api() as api,
        open_archive(db, create=True) as archive,
        event_progress("syncing") as advance,
    ):
        result = run_sync(
            api,
            archive,
            filters,
            lookback=int(lookback),
            workers=workers,
            progress=advance,
            wait=wait,
            give_up_after=give_up_after,
        )
    note(describe_sync(result, db))
    if as_json:
        report = dataclasses.asdict(result)
        # Milliseconds are all a reader of a sync's duration can use (0.10715433699999721 is noise).
        report["elapsed"] = round(result.elapsed, 3)
        click.echo(json.dumps(report))


class _SyncBusy(click.ClickException):
    """Another sync holds the archive: a distinct status, so a scheduler can tell "try later" from failure."""

    exit_code = EXIT_SYNC_BUSY


def run_sync(api: AuditLogsApi, archive: Archive, filters: Filters, **kwargs: Any) -> SyncResult:
    """``sync_archive``, with its refusals as runtime failures (exit 1): what was committed stays."""
    from openapiopenai.archive import ArchiveWriteError, SyncBusy, SyncError, sync_archive

    try:
        return sync_archive(api, archive, filters, **kwargs)
    except SyncBusy as exc:
        raise _SyncBusy(str(exc)) from None
    except ArchiveWriteError as exc:
        raise click.ClickException(f"sync stopped: {exc}") from None
    except SyncError as exc:
        raise click.ClickException(f"sync stopped: {exc} (everything before it is committed)") from None


def describe_sync(result: SyncResult, db: str) -> str:
    resumed = ", resumed an interrupted back-fill" if result.resumed else ""
    return (
        f"synced {db}: {result.inserted:,} new, {result.duplicates:,} already archived, "
        f"{result.fetched:,} fetched in {plural(result.pages, 'page')} by {plural(result.workers, 'worker')} "
        f"in {result.elapsed:.1f}s; complete up to {format_time(result.upper_bound)}{resumed}"
    )
