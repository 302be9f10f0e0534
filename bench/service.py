"""Row 13: the CPU a service cycle costs per organisation when nothing is new (``openapiopenai run``).

One organisation with both partitions, the shipped detections at ``high`` and a file sink, against the
emulator in a process of its own (its CPU is not ours). After a first cycle has back-filled, shipped and
taken the detection position, each further cycle finds nothing new: two syncs that only re-read the
lookback window, a detection pass with no new rows, a ship with nothing to send. The figure is this
process's CPU time (every thread: ``time.process_time``) per cycle, the median over rounds; the goal,
0.2 s, is what a hundred organisations every five minutes can spend without noticing (7% of one core).
No contender runs such a cycle.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from bench._paths import ADMIN_KEY
from bench._plan import Plan
from bench._procs import emulator
from bench._stats import Budget, median
from bench._table import Cell, Row

__all__ = ["service_rows"]

NONE = "n/a: no such service"
GOAL_S = 0.2
EVENTS = 2_000


def _cycle_cpu(base_url: str, folder: Path, rounds: int, budget: Budget) -> tuple[list[float], str]:
    from openapiopenai.service.config import parse_config
    from openapiopenai.service.cycle import OrgCycle
    from openapiopenai.service.metrics import Metrics

    os.environ["BENCH_SERVICE_KEY"] = ADMIN_KEY
    logging.getLogger("openapiopenai").setLevel(logging.ERROR)   # the first cycle's matches are not news here
    org = parse_config(f"""
[[org]]
name = "bench"
base_url = "{base_url}"
admin_key_env = "BENCH_SERVICE_KEY"
archive = "{folder / 'bench.sqlite'}"
tenant = true
[org.detect]
min_level = "high"
[[org.sink]]
to = "file://{folder / 'shipped'}"
""").orgs[0]
    cycle = OrgCycle(org, Metrics(), threading.Event())
    first = cycle.run()
    if not first.ok:
        return [], f"n/a: the first cycle failed: {first.errors[:1]}"
    cycle.run()   # warm: the rules compiled, the lookback window read once
    cpu: list[float] = []
    for _ in budget.rounds(rounds):
        started = time.process_time()
        report = cycle.run()
        cpu.append(time.process_time() - started)
        if not report.ok or sum(report.inserted.values()) or report.delivered:
            return [], f"n/a: an idle cycle did work or failed: {report}"
    return cpu, ""


def service_rows(plan: Plan, budget: Budget) -> list[Row]:
    rounds = 5 if plan.name == "quick" else 20
    folder = Path(tempfile.mkdtemp(prefix="bench-service-"))
    try:
        with emulator(EVENTS, seed=3) as base_url:
            cpu, why = _cycle_cpu(base_url, folder, rounds, budget)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    cell = Cell(median(cpu), "", len(cpu)) if cpu else Cell(None, why)
    row = Row("13", f"`openapiopenai run`: CPU of one cycle with nothing new, per organisation (both partitions, "
                    f"detections, a file sink; {EVENTS:,}-event emulator)", "s",
              cells={"ours": cell, "generated": Cell(None, NONE), "sdk": Cell(None, NONE), "floor": Cell(None, NONE)})
    row.goal = f"<= {GOAL_S:g} s CPU"
    row.verdict = (f"{'met' if cell.value <= GOAL_S else 'NOT met'}: {cell.value:.3f} s"
                   if cell.value is not None else "NOT met: no figure")
    return [row]
