"""Rows 8 and 9: ``openapiopenai audit-logs ship`` of an archive to PostgreSQL and to files, against floors.

The archive is built from the emulator's generator (the same organisation as the other rows, without
the HTTP round trips of a sync) and kept under ``bench/.work`` in full mode. Each run is the real CLI
as a user runs it, with a ledger name of its own (so it ships everything) into a fresh table or folder.

- Row 8: to PostgreSQL (the server the sink tests start: the machine's own binaries, a temporary
  cluster, with PostgreSQL's default durability and shared buffers) against one binary ``COPY`` of the
  same rows into the same table through psycopg, in one transaction (`_ship_floor`). The floor is one
  connection's (one server backend's) least work; `ship` copies each batch through two connections at
  once (the sink's default ``connections=2``), so on an idle two-core machine it can beat it.
- Row 8a: the peak RSS (``VmHWM``) of the ship processes, the largest of the three sinks (each named).
- Row 9: to JSONL files (day partitions, a file per batch and day, each fsync'd before it counts)
  against SQLite reading the raw column into one file, fsync'd once. 9a: to Parquet files by day,
  against the same floor.
"""

from __future__ import annotations

import importlib.util
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench._paths import ROOT, WORK
from bench._plan import Plan
from bench._procs import Measured, cli, run_measured
from bench._stats import Budget, median, rotated
from bench._table import Cell, Row

__all__ = ["build_archive", "ship_rows"]

NO_SHIP = "n/a: no shipping"
POSTGRES_GOAL = 25_000
JSONL_GOAL = 100_000
PARQUET_GOAL = 50_000
RSS_GOAL_MB = 200


def build_archive(path: Path, events: int, seed: int = 1) -> int:
    """An archive of `events` generated events, inserted as the sync inserts them; returns its row count."""
    import msgspec

    from openapiopenai.archive import Archive
    from openapiopenai.archive._rows import event_row, insert_rows
    from openapiopenai.emulator._generator import Generator, is_tenant_scoped

    encode = msgspec.json.Encoder().encode
    with Archive(path) as archive:
        conn = archive.connection
        for batch in Generator(seed).events(events, days=90.0, batch=10_000):
            rows = [event_row(e, encode(e).decode(), tenant=is_tenant_scoped(e["type"])) for e in batch]
            conn.execute("BEGIN IMMEDIATE")
            insert_rows(conn, rows)
            conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return archive.count()


@contextmanager
def _archive(plan: Plan) -> Iterator[tuple[Path, int]]:
    """The archive to ship: kept under bench/.work in full mode (built once, minutes for 1M events),
    a folder of its own otherwise, so two quick runs on one machine never share a file."""
    with tempfile.TemporaryDirectory(prefix="ship-archive-", dir=WORK) as folder:
        if plan.keep_sync_db:
            path = WORK / f"ship-archive-{plan.ship_events}.sqlite"
            if not path.exists():
                partial = Path(folder) / "partial.sqlite"
                build_archive(partial, plan.ship_events)
                partial.rename(path)
        else:
            path = Path(folder) / "audit.sqlite"
            build_archive(path, plan.ship_events)
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            count = int(conn.execute("SELECT count(*) FROM audit_logs").fetchone()[0])
        finally:
            conn.close()
        yield path, count


def _postgres_server() -> Any:
    # The very server the sink tests run against (tests/sinks/_postgres_server.py), not a second copy.
    spec = importlib.util.spec_from_file_location("_postgres_server", ROOT / "tests" / "sinks" / "_postgres_server.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # PostgreSQL's defaults for durability (fsync on) and shared buffers, unlike the tests' throwaway
    # clusters (fsync off, 64 MB).
    return module.PostgresServer(settings={"fsync": "on", "shared_buffers": "128MB"})


def _ship(archive: Path, url: str, name: str) -> Measured:
    # The archive is kept between full runs, and with it the ledger of every earlier run's names: forget
    # this name's, so the run ships everything (it would otherwise find itself done and deliver nothing).
    conn = sqlite3.connect(archive)
    try:
        with conn:
            for table in ("sink_dead_letters", "sink_ledger"):   # the dead letters refer to the ledger
                conn.execute(f"DELETE FROM {table} WHERE sink = ?", (name,))
    finally:
        conn.close()
    return run_measured([*cli(), "audit-logs", "ship", "--db", str(archive), "--to", url, "--name", name,
                         "--json"])


def _rate(runs: list[Measured], expected: int, delivered: bool = True) -> Cell:
    for run in runs:
        if run.returncode != 0:
            tail = (run.stderr.strip().splitlines() or ["no output"])[-1][:120]
            return Cell(None, f"n/a: exit {run.returncode}: {tail}")
        if delivered and (run.json() or {}).get("delivered") != expected:
            return Cell(None, f"n/a: delivered {(run.json() or {}).get('delivered')} of {expected:,}")
    return Cell(median([expected / r.seconds for r in runs]), "", len(runs))


def _verdict(cell: Cell, goal: float) -> str:
    if cell.value is None:
        return "NOT met: no figure"
    return f"{'met' if cell.value >= goal else 'NOT met'}: {cell.value:,.0f}/s"


def ship_rows(plan: Plan, budget: Budget) -> list[Row]:
    with _archive(plan) as (archive, n):
        return _rows(plan, budget, archive, n)


def _rows(plan: Plan, budget: Budget, archive: Path, n: int) -> list[Row]:
    ours_pg: list[Measured] = []
    floor_pg: list[Measured] = []
    ours_files: list[Measured] = []
    floor_files: list[Measured] = []
    ours_parquet: list[Measured] = []
    server = _postgres_server()
    password = "bench-ship"
    try:
        server.start()
        server.create_user("ship", password, "audit")
        conninfo = f"host=127.0.0.1 port={server.port} dbname=audit user=ship password={password}"
        with tempfile.TemporaryDirectory(prefix="ship-", dir=WORK) as folder:
            out = Path(folder)
            for i in budget.rounds(plan.ship_rounds):
                for who in rotated(["pg", "pg-floor", "jsonl", "jsonl-floor", "parquet"], i):
                    table = f"r{i}_{who.replace('-', '_')}"
                    if who == "pg":
                        ours_pg.append(_ship(archive, server.url("ship", password, "audit", table=table), table))
                    elif who == "pg-floor":
                        floor_pg.append(run_measured([sys.executable, "-m", "bench._ship_floor", "postgresql",
                                                      str(archive), conninfo, table]))
                    elif who == "jsonl":
                        ours_files.append(_ship(archive, f"file://{out / table}", table))
                    elif who == "jsonl-floor":
                        floor_files.append(run_measured([sys.executable, "-m", "bench._ship_floor", "jsonl",
                                                         str(archive), str(out / f"{table}.jsonl")]))
                    else:
                        ours_parquet.append(_ship(archive, f"file://{out / table}?format=parquet", table))
                    if who.startswith("pg"):
                        server.psql(f"DROP TABLE IF EXISTS {table}", db="audit")
                    shutil.rmtree(out / table, ignore_errors=True)
                    (out / f"{table}.jsonl").unlink(missing_ok=True)
    finally:
        server.close()
    na = {"generated": Cell(None, NO_SHIP), "sdk": Cell(None, NO_SHIP)}
    pg, pg_floor = _rate(ours_pg, n), _rate(floor_pg, n, delivered=False)
    files, files_floor = _rate(ours_files, n), _rate(floor_files, n, delivered=False)
    parquet = _rate(ours_parquet, n)
    row8 = Row("8", f"`audit-logs ship` of a {n:,}-event archive to PostgreSQL (floor: one binary COPY of the"
                    " same rows into the same table through psycopg, one transaction)", "events/s",
               higher_is_better=True, cells={"ours": pg, **na, "floor": pg_floor}, goal=f">= {POSTGRES_GOAL:,} events/s",
               verdict=_verdict(pg, POSTGRES_GOAL))
    peaks = {label: median([r.max_rss_mb for r in runs])
             for label, runs in (("PostgreSQL", ours_pg), ("JSONL", ours_files), ("Parquet", ours_parquet)) if runs}
    peak = max(peaks.values()) if peaks else None
    rss = Cell(peak, "; ".join(f"{k} {v:.0f}" for k, v in peaks.items()),
               len(ours_pg) + len(ours_files) + len(ours_parquet)) if peak is not None else Cell(None, "n/a")
    floor_rss = [r.max_rss_mb for r in floor_pg + floor_files]
    row8a = Row("8a", "same, peak RSS of the ship process, the largest of rows 8, 9 and 9a (floor: of the floors)",
                "MB", cells={"ours": rss, **na, "floor": Cell(max(floor_rss), "", len(floor_rss))
                             if floor_rss else Cell(None, "n/a")},
                goal=f"ours < {RSS_GOAL_MB} MB",
                verdict=f"{'met' if (peak or 1e9) < RSS_GOAL_MB else 'NOT met'}: {peak or 0:.0f} MB")
    row9 = Row("9", "`audit-logs ship` of the same archive to JSONL files by day (floor: SQLite reading the raw"
                    " column into one file)", "events/s", higher_is_better=True,
               cells={"ours": files, **na, "floor": files_floor}, goal=f">= {JSONL_GOAL:,} events/s",
               verdict=_verdict(files, JSONL_GOAL))
    row9a = Row("9a", "same, to Parquet files by day (floor: as row 9)", "events/s", higher_is_better=True,
                cells={"ours": parquet, **na, "floor": files_floor}, goal=f">= {PARQUET_GOAL:,} events/s",
                verdict=_verdict(parquet, PARQUET_GOAL))
    return [row8, row8a, row9, row9a]
