"""Row 12: ``openapiopenai audit-logs report`` of a whole archive: the time, and the file's size.

The archive is row 10's (one real ``audit-logs sync`` of an emulator; full mode keeps it under
``bench/.work``); the period is the archive's whole span (the emulator's 90 days: three times what the
default ``--since 30d`` reads). Each round is a fresh CLI process writing the HTML file, start-up
included, with ``--no-detect``: the detection rules are row 11's measure (over a 1M-event span they take
minutes on this machine, most of it building their field table). Goals (issue 15): a 1,000,000-event
archive in at most 20 s, and a file under 5 MB.
"""

from __future__ import annotations

import sqlite3
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bench._paths import WORK
from bench._plan import Plan
from bench._procs import Measured, cli, run_measured
from bench._stats import Budget, median
from bench._table import Cell, Row
from bench.export import _archive

__all__ = ["report_rows"]

TIME_GOAL_S = 20.0
SIZE_GOAL_MB = 5.0
NO_REPORT = "n/a: no archive report"


def _span(archive: Path) -> tuple[int, int, int]:
    conn = sqlite3.connect(f"file:{archive}?mode=ro", uri=True)
    try:
        first, last, count = conn.execute("SELECT min(effective_at), max(effective_at), count(*) FROM audit_logs").fetchone()
        return int(first), int(last) + 1, int(count)
    finally:
        conn.close()


def report_rows(plan: Plan, budget: Budget) -> list[Row]:
    runs: list[Measured] = []
    sizes: list[float] = []
    why = ""
    events = 0
    with ExitStack() as stack:
        WORK.mkdir(parents=True, exist_ok=True)
        archive, why = _archive(plan, stack)
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="report-", dir=WORK)))
        if archive is not None:
            since, until, events = _span(archive)
            out = folder / "report.html"
            for _ in budget.rounds(plan.report_rounds):
                run = run_measured([*cli(), "audit-logs", "report", "--db", str(archive), "--since", str(since),
                                    "--until", str(until), "--out", str(out), "--no-detect"])
                if run.returncode != 0 or not out.exists():
                    why = f"n/a: exit {run.returncode}: {(run.stderr.strip().splitlines() or ['?'])[-1][:100]}"
                    break
                runs.append(run)
                sizes.append(out.stat().st_size / 1e6)
                out.unlink()
    others = {"generated": Cell(None, NO_REPORT), "sdk": Cell(None, NO_REPORT), "floor": Cell(None, NO_REPORT)}
    seconds = Cell(None, why) if why else Cell(median([r.seconds for r in runs]), "", len(runs))
    size = Cell(None, why) if why else Cell(median(sizes), "", len(sizes))
    time_row = Row("12", f"`audit-logs report --db` of a {events:,}-event archive (row 10's), its whole span, "
                        "to one HTML file, `--no-detect` (process wall time)", "s", cells={"ours": seconds, **others},
                   goal=f"<= {TIME_GOAL_S:.0f} s at 1M events")
    size_row = Row("12a", "same, the report file's size", "MB", cells={"ours": size, **others},
                   reference=size.value, goal=f"< {SIZE_GOAL_MB:.0f} MB")
    for row, value, goal, unit in ((time_row, seconds.value, TIME_GOAL_S, "s"), (size_row, size.value, SIZE_GOAL_MB, "MB")):
        if value is None:
            row.verdict = "NOT met: no figure"
        elif events < 900_000:
            row.verdict = f"info: {value:.2f} {unit} at {events:,} events (the goal is for 1M)"
        else:
            row.verdict = f"{'met' if value <= goal else 'NOT met'}: {value:.2f} {unit}"
    return [time_row, size_row]
