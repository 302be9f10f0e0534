"""Row 12: ``openapiopenai audit-logs report`` of a whole archive: the time, the file's size, the memory.

The archive is row 10's (one real ``audit-logs sync`` of an emulator; full mode keeps it under
``bench/.work``); the period is the archive's whole span (the emulator's 90 days: three times what the
default ``--since 30d`` reads). Each round is a fresh CLI process writing the HTML file, start-up
included. Rows 12, 12a and 12b are the report itself (``--no-detect``); rows 12c and 12d run the shipped
detection rules for its first section as well (the default), through the detection engine, so they are
as fast as that engine is (row 11 measures the engine alone). The rules cache their converted form in
the archive, so a report with them is measured on a fresh copy of it, never on the kept archive (whose
figure would depend on what ran on it before): 12d is the copy's first report (cold), 12c the next one
(warm). Goals (issue 15): a 1,000,000-event archive in at most 20 s, and a
file under 5 MB; the memory goal is the project's 200 MB.
"""

from __future__ import annotations

import sqlite3
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bench._paths import WORK, current_schema, settled_copy
from bench._plan import Plan
from bench._procs import Measured, cli, run_measured
from bench._stats import Budget, median
from bench._table import Cell, Row
from bench.export import _archive

__all__ = ["report_rows"]

TIME_GOAL_S = 20.0
SIZE_GOAL_MB = 5.0
MEMORY_GOAL_MB = 200.0
NO_REPORT = "n/a: no archive report"


def _span(archive: Path) -> tuple[int, int, int]:
    conn = sqlite3.connect(f"file:{archive}?mode=ro", uri=True)
    try:
        first, last, count = conn.execute("SELECT min(effective_at), max(effective_at), count(*) FROM audit_logs").fetchone()
        return int(first), int(last) + 1, int(count)
    finally:
        conn.close()


def _rounds(archive: Path, out: Path, rounds: int, budget: Budget, *flags: str) -> tuple[list[Measured], list[float], str]:
    """(runs, file sizes in MB, why not) of ``rounds`` reports of the archive's whole span."""
    since, until, _ = _span(archive)
    runs: list[Measured] = []
    sizes: list[float] = []
    for _ in budget.rounds(rounds):
        run = run_measured([*cli(), "audit-logs", "report", "--db", str(archive), "--since", str(since),
                            "--until", str(until), "--out", str(out), *flags])
        if run.returncode != 0 or not out.exists():
            return runs, sizes, f"n/a: exit {run.returncode}: {(run.stderr.strip().splitlines() or ['?'])[-1][:100]}"
        runs.append(run)
        sizes.append(out.stat().st_size / 1e6)
        out.unlink()
    return runs, sizes, ""


def _verdict(row: Row, value: float | None, goal: float, unit: str, events: int) -> None:
    if value is None:
        row.verdict = "NOT met: no figure"
    elif events < 900_000:
        row.verdict = f"info: {value:.2f} {unit} at {events:,} events (the goal is for 1M)"
    else:
        row.verdict = f"{'met' if value <= goal else 'NOT met'}: {value:.2f} {unit}"


def report_rows(plan: Plan, budget: Budget) -> list[Row]:
    why = ""
    events = 0
    plain: tuple[list[Measured], list[float], str] = ([], [], "")
    detected: tuple[list[Measured], list[float], str] = ([], [], "")
    cold: tuple[list[Measured], list[float], str] = ([], [], "")
    with ExitStack() as stack:
        WORK.mkdir(parents=True, exist_ok=True)
        archive, why = _archive(plan, stack)
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="report-", dir=WORK)))
        if archive is not None:
            events = _span(archive)[2]
            plain = _rounds(archive, folder / "report.html", plan.report_rounds, budget, "--no-detect")
            copy = folder / "copy.sqlite"
            settled_copy(current_schema(archive), copy)
            cold = _rounds(copy, folder / "detected.html", 1, budget)
            if cold[0]:
                detected = _rounds(copy, folder / "detected.html", plan.report_rounds, budget)
            copy.unlink()
    others = {"generated": Cell(None, NO_REPORT), "sdk": Cell(None, NO_REPORT), "floor": Cell(None, NO_REPORT)}

    def cell(runs: list[Measured], values: list[float], failed: str, note: str = "") -> Cell:
        reason = why or failed
        return Cell(None, reason) if reason or not values else Cell(median(values), note, len(values))

    runs, sizes, failed = plain
    seconds = cell(runs, [r.seconds for r in runs], failed)
    size = cell(runs, sizes, failed)
    memory = cell(runs, [r.max_rss_mb for r in runs], failed)
    def with_rules(rounds: tuple[list[Measured], list[float], str]) -> Cell:
        runs, sizes, failed = rounds
        note = f"peak RSS {median([r.max_rss_mb for r in runs]):.0f} MB, file {median(sizes):.1f} MB" if runs else ""
        return cell(runs, [r.seconds for r in runs], failed, note)

    warm_cell, cold_cell = with_rules(detected), with_rules(cold)
    if not cold[0] and not detected[2]:
        warm_cell = Cell(None, why or "n/a: the cold report failed")
    base = f"`audit-logs report --db` of a {events:,}-event archive (row 10's), its whole span, to one HTML file"
    time_row = Row("12", f"{base}, `--no-detect` (process wall time)", "s", cells={"ours": seconds, **others},
                   goal=f"<= {TIME_GOAL_S:.0f} s at 1M events")
    size_row = Row("12a", "same, the report file's size", "MB", cells={"ours": size, **others},
                   reference=size.value, goal=f"< {SIZE_GOAL_MB:.0f} MB")
    memory_row = Row("12b", "same, the process's peak RSS", "MB", cells={"ours": memory, **others},
                     reference=memory.value, goal=f"< {MEMORY_GOAL_MB:.0f} MB")
    rules_row = Row("12c", "same with the shipped detection rules for its first section (the default), warm: "
                    "run before on the same copy", "s",
                    cells={"ours": warm_cell, **others}, reference=warm_cell.value,
                    goal=f"<= {TIME_GOAL_S:.0f} s at 1M events")
    cold_row = Row("12d", "same, cold: the archive's first report with the rules (a fresh copy)", "s", cells={"ours": cold_cell, **others}, reference=cold_cell.value,
                   goal=f"<= {TIME_GOAL_S:.0f} s at 1M events")
    for row, value, goal, unit in ((time_row, seconds.value, TIME_GOAL_S, "s"), (size_row, size.value, SIZE_GOAL_MB, "MB"),
                                   (memory_row, memory.value, MEMORY_GOAL_MB, "MB"),
                                   (rules_row, warm_cell.value, TIME_GOAL_S, "s"),
                                   (cold_row, cold_cell.value, TIME_GOAL_S, "s")):
        _verdict(row, value, goal, unit, events)
    return [time_row, size_row, memory_row, rules_row, cold_row]
