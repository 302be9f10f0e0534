"""Row 10: ``openapiopenai audit-logs export`` of a whole archive to JSON lines: raw, OCSF and ECS.

The archive is made once by a real ``audit-logs sync`` of an emulator (full mode keeps it under
``bench/.work``, like row 5's emulator database), then each round exports it three ways, the schemas
alternated, each a fresh CLI process writing a file. The raw export copies the stored text; the other two
map every event. Goal: mapping costs at most 3x the raw export's time (the sub-rows' ratios).
"""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bench._paths import ADMIN_KEY, WORK
from bench._plan import Plan
from bench._procs import Measured, cli, emulator, run_measured
from bench._stats import Budget, median, rotated
from bench._table import Cell, Row

__all__ = ["export_rows"]

MAPPING_COST_GOAL = 3.0
NO_EXPORT = "n/a: no archive export"
SCHEMAS = ("raw", "ocsf", "ecs")
_EXPORTED = re.compile(r"exported ([\d,]+) events")


def _count(archive: Path) -> int:
    conn = sqlite3.connect(f"file:{archive}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM audit_logs").fetchone()[0])
    finally:
        conn.close()


def _archive(plan: Plan, stack: ExitStack) -> tuple[Path | None, str]:
    """The archive to export (synced now, or kept from an earlier full run), or why there is none."""
    n = plan.export_events
    if plan.keep_sync_db:
        archive = WORK / f"archive-{n}-seed1.sqlite"
        if archive.exists():
            return archive, ""
        emulator_db: Path | None = WORK / f"emulator-{n}-seed1.sqlite"   # row 5's, when it ran first
    else:
        archive = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="export-", dir=WORK))) / "a.sqlite"
        emulator_db = None
    partial = archive.with_name(archive.name + ".partial")
    partial.unlink(missing_ok=True)
    with emulator(n, db=emulator_db) as base_url:
        run = run_measured([*cli(), "audit-logs", "sync", "--db", str(partial), "--base-url", base_url,
                            "--admin-key", ADMIN_KEY])
    if run.returncode != 0:
        return None, f"n/a: the sync for it failed: {(run.stderr.strip().splitlines() or ['?'])[-1][:100]}"
    os.replace(partial, archive)   # a kept archive is whole, or absent
    return archive, ""


def _export(archive: Path, schema: str, folder: Path) -> tuple[Measured, int]:
    out = folder / f"{schema}.jsonl"
    run = run_measured([*cli(), "audit-logs", "export", "--db", str(archive), "--out", str(out),
                        "--schema", schema])
    match = _EXPORTED.search(run.stderr)
    out.unlink(missing_ok=True)
    return run, int(match[1].replace(",", "")) if run.returncode == 0 and match else -1


def export_rows(plan: Plan, budget: Budget) -> list[Row]:
    runs: dict[str, list[Measured]] = {s: [] for s in SCHEMAS}
    with ExitStack() as stack:
        WORK.mkdir(parents=True, exist_ok=True)
        archive, why = _archive(plan, stack)
        events = _count(archive) if archive is not None else 0
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="exports-", dir=WORK)))
        if archive is not None:
            for i in budget.rounds(plan.export_rounds):
                for schema in rotated(list(SCHEMAS), i):
                    run, exported = _export(archive, schema, folder)
                    if exported != events:
                        why = f"n/a: {schema} export: exit {run.returncode}, exported {exported} of {events}"
                        break
                    runs[schema].append(run)
                if why:
                    break
    cells = {s: Cell(None, why) if why else Cell(median([events / r.seconds for r in runs[s]]), "", len(runs[s]))
             for s in SCHEMAS}
    others = {"generated": Cell(None, NO_EXPORT), "sdk": Cell(None, NO_EXPORT), "floor": Cell(None, NO_EXPORT)}
    raw = Row("10", f"`audit-logs export --db` of a {events:,}-event archive (a sync of a "
                   f"{plan.export_events:,}-event emulator) to JSON lines, `--schema raw`", "events/s",
              higher_is_better=True, cells={"ours": cells["raw"], **others}, goal="—", verdict="—")
    rows = [raw]
    for key, schema, name in (("10a", "ocsf", "OCSF 1.8.0"), ("10b", "ecs", "ECS 9.4.0")):
        row = Row(key, f"same, `--schema {schema}` ({name}; ratio: its time relative to raw)", "events/s",
                  higher_is_better=True, cells={"ours": cells[schema], **others}, reference=cells["raw"].value,
                  goal=f"<= {MAPPING_COST_GOAL:.0f}x the raw export's time")
        mapped, plain = cells[schema].value, cells["raw"].value
        if mapped and plain:
            cost = plain / mapped
            row.verdict = f"{'met' if cost <= MAPPING_COST_GOAL else 'NOT met'}: {cost:.2f}x"
        else:
            row.verdict = "NOT met: no figure"
        rows.append(row)
    return rows
