"""Rows 11-11b: the detection rules on an archive (``audit-logs detect``), as a user runs them.

The archive is built straight from the emulator's generator (this row measures detection, not sync):
``plan.detect_events`` events of organisation 7, kept under ``bench/.work`` in full mode and never
written there: the rows run on a fresh copy of it. Row 11a is the cold case, the archive's first
``detect`` (whole CLI process): the rules read ``audit_logs`` itself (`rules._source`), so nothing is
built first, and the copy is fresh so no earlier run's converted rules are cached in it; row 11 is then
the warm case, every shipped rule over every event of the same copy, run again; row 11b is
``detect --new`` after ``plan.detect_new_events`` more events were archived. No contender runs Sigma
rules on this log.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import msgspec

from bench._paths import WORK, current_schema, settled_copy
from bench._plan import Plan
from bench._procs import Measured, cli, run_measured
from bench._stats import Budget, median
from bench._table import Cell, Row

__all__ = ["detect_rows"]

NONE = "n/a: no Sigma rules for this log"
ALL_RULES_GOAL_S = 10.0
NEW_GOAL_S = 1.0


def _build(path: Path, n: int, seed: int = 7) -> None:
    from openapiopenai.archive import Archive
    from openapiopenai.archive._rows import event_row, insert_rows
    from openapiopenai.emulator._generator import Generator

    encode = msgspec.json.Encoder().encode
    partial = path.with_suffix(".partial")
    with Archive(partial) as archive:
        conn = archive.connection
        for batch in Generator(seed).events(n):
            conn.execute("BEGIN")
            insert_rows(conn, [event_row(e, encode(e).decode(), tenant=False) for e in batch])
            conn.execute("COMMIT")
    partial.rename(path)


def _append(path: Path, n: int, round_no: int) -> None:
    """``n`` more events, as a later sync would add them (new ids, after the newest event)."""
    from openapiopenai.archive import Archive
    from openapiopenai.archive._rows import event_row, insert_rows
    from openapiopenai.emulator._generator import Generator

    encode = msgspec.json.Encoder().encode
    with Archive(path) as archive:
        conn = archive.connection
        newest = int(conn.execute("SELECT max(effective_at) FROM audit_logs").fetchone()[0])
        events = [e for batch in Generator(1000 + round_no).events(n, days=0.01, end=newest + 3600) for e in batch]
        conn.execute("BEGIN")
        insert_rows(conn, [event_row(e | {"id": f"{e['id']}-new{round_no}"},
                                     encode(e | {"id": f"{e['id']}-new{round_no}"}).decode(), tenant=False)
                           for e in events])
        conn.execute("COMMIT")


def _detect(path: Path, *extra: str) -> Measured:
    return run_measured([*cli(), "audit-logs", "detect", "--db", str(path), "--format", "jsonl", *extra])


def _cell(runs: list[Measured]) -> Cell:
    bad = [r for r in runs if r.returncode != 0]
    if bad:
        tail = (bad[0].stderr.strip().splitlines() or ["?"])[-1][:120]
        return Cell(None, f"n/a: exit {bad[0].returncode}: {tail}")
    return Cell(median([r.seconds for r in runs]), "", len(runs))


def _row(key: str, title: str, cell: Cell, goal_s: float | None) -> Row:
    row = Row(key, title, "s", cells={"ours": cell, "generated": Cell(None, NONE), "sdk": Cell(None, NONE),
                                      "floor": Cell(None, NONE)})
    if goal_s is not None:
        row.goal = f"<= {goal_s:g} s"
        row.verdict = (f"{'met' if cell.value <= goal_s else 'NOT met'}: {cell.value:.2f} s"
                       if cell.value is not None else "NOT met: no figure")
    return row


def detect_rows(plan: Plan, budget: Budget) -> list[Row]:
    n, new = plan.detect_events, plan.detect_new_events
    work = Path(tempfile.mkdtemp(prefix="bench-detect-"))
    try:
        source = WORK / f"detect-{n}-seed7.sqlite" if plan.keep_sync_db else work / "source.sqlite"
        if not source.exists():
            source.parent.mkdir(parents=True, exist_ok=True)
            _build(source, n)
        current_schema(source)
        db = work / "audit.sqlite"
        settled_copy(source, db)   # a fresh copy: its first detect is the cold case
        cold = _detect(db)
        runs = [_detect(db) for _ in budget.rounds(plan.detect_rounds)] if cold.returncode == 0 else [cold]
        first_new = _detect(db, "--new")   # takes the position: everything so far has been seen
        news: list[Measured] = []
        if first_new.returncode == 0:
            for i in budget.rounds(plan.detect_rounds):
                _append(db, new, i)
                news.append(_detect(db, "--new"))
        else:
            news = [first_new]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return [
        _row("11", f"`audit-logs detect`: every shipped rule over a {n:,}-event archive (whole CLI process),"
             " warm: run before on the same copy", _cell(runs), ALL_RULES_GOAL_S),
        _row("11a", "same, cold: the archive's first `detect` (a fresh copy; the rules read `audit_logs`"
             " itself, nothing is built first)", _cell([cold]), ALL_RULES_GOAL_S),
        _row("11b", f"`audit-logs detect --new` after {new:,} more events were archived", _cell(news), NEW_GOAL_S),
    ]
