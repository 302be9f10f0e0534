"""Row 4: every event of a 100,000-event emulator, page by page, each contender in its own process.

One emulator (fixed seed) serves all contenders, in a process of its own. Each walk is a fresh
process so its peak RSS is its own; the rate counts the walk only, not imports. The generated client
cannot page past an event type newer than its enum, so it also walks an emulator that sends newer
types (row 4b): its cell says what stopped it instead of a rate.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from bench._contenders import CONTENDERS
from bench._plan import Plan
from bench._procs import child_env, emulator, run_measured
from bench._stats import Budget, median, rotated
from bench._table import Cell, Row

__all__ = ["pagination_rows", "walk"]


def walk(contender: str, base_url: str, gen_folder: Path | None) -> tuple[dict[str, Any], float]:
    """One contender's walk in a fresh process: its JSON report and its peak RSS (MB)."""
    run = run_measured([sys.executable, "-m", "bench._child", "walk", contender, base_url],
                       env=child_env(gen_folder))
    report = run.json() if run.returncode == 0 else None
    if not report:
        tail = (run.stderr.strip().splitlines() or ["no output"])[-1]
        report = {"events": None, "error": f"exit {run.returncode}: {tail[:120]}"}
    return report, run.max_rss_mb


def listed_events(reports: dict[str, list[tuple[dict[str, Any], float]]]) -> int:
    """How many events a complete walk reads: the floor's count, else the most common clean count.

    Not the emulator's size: tenant-scoped events are a separate partition that a listing without
    ``tenant_only`` does not return, as on the real service."""
    clean = [r["events"] for runs in reports.values() for r, _ in runs if not r.get("error")]
    floor = [r["events"] for r, _ in reports.get("floor", []) if not r.get("error")]
    counts = floor or clean
    return max(set(counts), key=counts.count) if counts else -1


def _rate_cells(reports: dict[str, list[tuple[dict[str, Any], float]]], expected: int
                ) -> tuple[dict[str, Cell], dict[str, Cell]]:
    rates, rss = {}, {}
    for name, runs in reports.items():
        failed = [r for r, _ in runs if r.get("error") or r.get("events") != expected]
        if failed:
            r = failed[0]
            what = r.get("error") or f"read {r.get('events'):,} of {expected:,} events"
            rates[name] = Cell(None, f"n/a: {what}")
            rss[name] = Cell(median([m for _, m in runs]), "at failure", len(runs))
            continue
        rates[name] = Cell(median([r["events"] / r["seconds"] for r, _ in runs]), "", len(runs))
        rss[name] = Cell(median([m for _, m in runs]), "", len(runs))
    return rates, rss


def pagination_rows(plan: Plan, budget: Budget, gen_folder: Path | None, unavailable: dict[str, str]) -> list[Row]:
    n = plan.paging_events
    runnable = [c for c in CONTENDERS if c not in unavailable]
    reports: dict[str, list[tuple[dict[str, Any], float]]] = {c: [] for c in runnable}
    with emulator(n) as base_url:
        # A B C D, B C D A, ...: drift hits every contender alike.
        for i in budget.rounds(plan.paging_rounds, plan.reserve_after_paging_s):
            for name in rotated(runnable, i):
                reports[name].append(walk(name, base_url, gen_folder))
    listed = listed_events(reports)
    rates, rss = _rate_cells(reports, listed)
    for name, why in unavailable.items():
        rates[name] = rss[name] = Cell(None, why)
    rate_row = Row("4", f"page through every listed event ({listed:,}) of a {n:,}-event emulator (limit 100)",
                   "events/s",
                   higher_is_better=True, cells=rates, goal="(none stated)", verdict="—")
    rss_row = Row("4a", "same, peak RSS of the client process", "MB", cells=rss, goal="(none stated)",
                  verdict="—")

    # Newer event types: the two clients whose difference this shows, and the floor to count against.
    newer: dict[str, list[tuple[dict[str, Any], float]]] = {
        c: [] for c in ("ours", "generated", "floor") if c in runnable}
    with emulator(plan.newer_events, newer_types=True) as base_url:
        for name in newer:
            newer[name].append(walk(name, base_url, gen_folder))
    newer_rates, _ = _rate_cells(newer, listed_events(newer))
    newer_row = Row("4b", f"same, {plan.newer_events:,}-event emulator also sending event types newer "
                          "than the spec",
                    "events/s", higher_is_better=True, cells=newer_rates, goal="pages past unknown types",
                    reference=None)
    ours_ok = newer_rates.get("ours", Cell()).value is not None
    newer_row.verdict = "met by ours" if ours_ok else "NOT met by ours"
    return [rate_row, rss_row, newer_row]
