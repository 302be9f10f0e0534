"""Rows 5-7: ``openapiopenai audit-logs sync`` against the bare-HTTP floor, back-fill workers, and the
emulator's own speed.

Row 5 runs the real CLI into a fresh archive, 1,000,000 events, against a bare loop of ``httpx`` gets
(``after=last_id``, ``orjson.loads``) reading the same pages from the same emulator. The 1M-event
emulator database is generated once under ``bench/.work`` and reused by later runs. Row 7 comes from
the floor's walks in row 5: the floor client does the least work per page, so the time inside its GETs
is as close to the server's own as a client can see.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from bench._paths import ADMIN_KEY, WORK
from bench._plan import Plan
from bench._procs import Measured, cli, emulator, run_measured
from bench._stats import Budget, median, rotated
from bench._table import Cell, Row
from bench.pagination import listed_events, walk

__all__ = ["backfill_rows", "sync_rows"]

NO_SYNC = "n/a: no sync"
NO_EMULATOR = "n/a: none shipped"
SYNC_SHARE_GOAL = 0.70
SYNC_RSS_GOAL_MB = 200
BACKFILL_GOAL = 6.0
EMULATOR_RATE_GOAL = 20_000
EMULATOR_LATENCY_GOAL_MS = 20


def run_sync(base_url: str, workers: int) -> tuple[Measured, int]:
    """One ``audit-logs sync`` into a fresh archive; returns the run and the events it archived.

    Each archive gets a folder of its own, removed afterwards: 1M-event archives are a gigabyte, and a
    shared name would let two benchmark processes on one machine delete each other's."""
    with tempfile.TemporaryDirectory(prefix="archive-", dir=WORK) as folder:
        archive = Path(folder) / "audit.sqlite"
        run = run_measured([*cli(), "audit-logs", "sync", "--db", str(archive),
                            "--base-url", base_url, "--admin-key", ADMIN_KEY, "--workers", str(workers)],
                           with_children=True)
        archived = -1
        if run.returncode == 0:
            # Count what landed rather than trust the exit status: a fast sync that lost events is no result.
            try:
                conn = sqlite3.connect(f"file:{archive}?mode=ro", uri=True)
                try:
                    archived = conn.execute("SELECT count(*) FROM audit_logs").fetchone()[0]
                finally:
                    conn.close()
            except sqlite3.Error as exc:
                run.stderr += f"\ncannot count the archive: {exc}"
    return run, archived


def _sync_cell(runs: list[tuple[Measured, int]], expected: int) -> tuple[Cell, Cell]:
    bad = [(r, n) for r, n in runs if r.returncode != 0 or n != expected]
    rss = Cell(median([r.max_rss_mb for r, _ in runs]), "", len(runs))
    if bad:
        r, n = bad[0]
        tail = (r.stderr.strip().splitlines() or ["no output"])[-1][:120]
        if r.returncode != 0:
            return Cell(None, f"n/a: exit {r.returncode}: {tail}"), rss
        if n < 0:
            return Cell(None, f"n/a: {tail}"), rss
        return Cell(None, f"n/a: archived {n:,} of {expected:,}"), rss
    return Cell(median([expected / r.seconds for r, _ in runs]), "", len(runs)), rss


def sync_rows(plan: Plan, budget: Budget) -> list[Row]:
    n = plan.sync_events
    db = WORK / f"emulator-{n}-seed1.sqlite" if plan.keep_sync_db else None
    syncs: list[tuple[Measured, int]] = []
    floors: list[tuple[dict[str, Any], float]] = []
    # Generating a 1M-event database takes a minute or so, once; later runs reuse the file.
    with emulator(n, db=db) as base_url:
        # One walk first that counts for nobody: an emulator's first walk after it starts is the slowest
        # (its database's pages not yet cached: 91.8 and 66.5 s against 54-65 s for the next syncs of
        # 906k events, 2026-12-02), and round 0 would give that slot to ours every time.
        walk("floor", base_url, None)
        for i in budget.rounds(plan.sync_rounds, plan.reserve_after_sync_s):
            for who in rotated(["sync", "floor"], i):
                if who == "sync":
                    syncs.append(run_sync(base_url, workers=1))
                else:
                    floors.append(walk("floor", base_url, None))
    # What a complete walk reads (tenant-scoped events are listed apart, and sync by default archives
    # what a listing without tenant_only returns): the floor's count is the reference for both.
    listed = listed_events({"floor": floors})
    sync_rate, sync_rss = _sync_cell(syncs, listed)
    floor_ok = all(r.get("events") == listed and not r.get("error") for r, _ in floors)
    if floor_ok:
        floor_rate = Cell(median([r["events"] / r["seconds"] for r, _ in floors]), "", len(floors))
    else:
        floor_rate = Cell(None, f"n/a: {floors[0][0].get('error') or 'walks disagree'}")
    floor_rss = Cell(median([m for _, m in floors]), "", len(floors))
    rate = Row("5", f"`audit-logs sync --workers 1` of every listed event ({listed:,}) of a {n:,}-event "
                    "emulator into a fresh archive (floor: bare GET loop over the same pages)", "events/s",
               higher_is_better=True,
               cells={"ours": sync_rate, "generated": Cell(None, NO_SYNC), "sdk": Cell(None, NO_SYNC),
                      "floor": floor_rate},
               goal=f">= {SYNC_SHARE_GOAL:.0%} of floor rate")
    if sync_rate.value and floor_rate.value:
        share = sync_rate.value / floor_rate.value
        rate.verdict = f"{'met' if share >= SYNC_SHARE_GOAL else 'NOT met'}: {share:.0%} of floor"
    else:
        rate.verdict = "NOT met: no rate"
    mem = Row("5a", "same, peak RSS (sync: the CLI process and its writer process, summed)", "MB",
              cells={"ours": sync_rss, "generated": Cell(None, NO_SYNC), "sdk": Cell(None, NO_SYNC),
                     "floor": floor_rss}, goal=f"ours < {SYNC_RSS_GOAL_MB} MB")
    peak = sync_rss.value or 0
    mem.verdict = f"{'met' if peak < SYNC_RSS_GOAL_MB else 'NOT met'}: {peak:.0f} MB"
    return [rate, mem, *_emulator_rows(floors, n, floor_ok)]


def _listed(base_url: str) -> int:
    """Events a listing without filters returns, counted by the floor client (for rows with no floor run)."""
    report, _ = walk("floor", base_url, None)
    return int(report["events"]) if not report.get("error") else -1


def _emulator_rows(floors: list[tuple[dict[str, Any], float]], n: int, ok: bool) -> list[Row]:
    others = {"generated": Cell(None, NO_EMULATOR), "sdk": Cell(None, NO_EMULATOR), "floor": Cell()}
    if ok:
        served = median([r["events"] / r["get_seconds"] for r, _ in floors])
        latency = median([r["median_get_ms"] for r, _ in floors])
        served_cell = Cell(served, "", len(floors))
        latency_cell = Cell(latency, "", len(floors))
    else:
        served_cell = latency_cell = Cell(None, "n/a: the floor walk failed")
        served = latency = None
    rate = Row("7", f"the emulator: events/s served to one sequential client, {n:,} stored, pages of 100 "
                    "(time inside the floor client's GETs)", "events/s", higher_is_better=True,
               cells={"ours": served_cell, **others}, goal=f">= {EMULATOR_RATE_GOAL:,} events/s")
    lat = Row("7a", "the emulator: median page latency (GET sent to last byte read)", "ms",
              cells={"ours": latency_cell, **others}, goal=f"< {EMULATOR_LATENCY_GOAL_MS} ms")
    rate.verdict = "NOT met: no figure" if served is None else (
        f"{'met' if served >= EMULATOR_RATE_GOAL else 'NOT met'}: {served:,.0f}/s")
    lat.verdict = "NOT met: no figure" if latency is None else (
        f"{'met' if latency < EMULATOR_LATENCY_GOAL_MS else 'NOT met'}: {latency:.1f} ms")
    return [rate, lat]


def backfill_rows(plan: Plan, budget: Budget) -> list[Row]:
    n, latency = plan.backfill_events, plan.backfill_latency_ms
    runs: dict[int, list[tuple[Measured, int]]] = {1: [], 8: []}
    # The same seed gives the same events, so count them where counting does not cost the latency.
    with emulator(n) as base_url:
        listed = _listed(base_url)
    with emulator(n, latency_ms=latency) as base_url:
        for i in budget.rounds(plan.backfill_rounds):
            for workers in rotated(list(runs), i):
                runs[workers].append(run_sync(base_url, workers))
    one, _ = _sync_cell(runs[1], listed)
    eight, _ = _sync_cell(runs[8], listed)
    na = {"generated": Cell(None, NO_SYNC), "sdk": Cell(None, NO_SYNC), "floor": Cell(None, NO_SYNC)}
    row1 = Row("6", f"back-fill every listed event ({listed:,}) of a {n:,}-event emulator at --latency-ms "
                    f"{latency}: `sync --workers 1`",
               "events/s", higher_is_better=True, cells={"ours": one, **na}, goal="—", verdict="—")
    row8 = Row("6a", "same, `sync --workers 8` (ratio: its time relative to --workers 1)", "events/s",
               higher_is_better=True, cells={"ours": eight, **na}, reference=one.value,
               goal=f">= {BACKFILL_GOAL:.0f}x the --workers 1 rate")
    if one.value and eight.value:
        speedup = eight.value / one.value
        row8.verdict = f"{'met' if speedup >= BACKFILL_GOAL else 'NOT met'}: {speedup:.2f}x"
    else:
        row8.verdict = "NOT met: no figure"
    return [row1, row8]
