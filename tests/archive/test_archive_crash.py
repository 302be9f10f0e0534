"""Kill -9 a sync at many points, with faults and late events in between; the end result is still exact.

Each run is a real process (`sync_child.py`) syncing over HTTP from the emulator in this process. Runs
die by SIGKILL: right after a committed page, in the middle of a page's transaction (events written,
slice position not yet), or at a random instant chosen by this test. The same kills are made of a walk
whose commits are made by its writer process (`_writer_process`), in that process where the instant
is the writer's; and that process is killed alone, right after a COMMIT the sync has not heard of. After every death the archive must
be consistent (each stored event byte-identical to the service's, each saved cursor's event present);
after the last, uninterrupted run it must hold exactly the service's events.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from openapiopenai.archive import Archive, Filters
from openapiopenai.archive._schema import SECONDARY_INDEXES, missing_indexes

CHILD = Path(__file__).with_name("sync_child.py")


@dataclass
class Kill:
    """How one run ends: after `pages` committed pages, mid-transaction, or at `delay` seconds."""

    pages: int = 0
    mid_transaction: bool = False
    delay: float = 0.0
    workers: int = 1
    in_index_build: bool = False
    writer_process: bool = False
    """The walk commits through its writer process from the first page (one worker only)."""
    writer_dies_after: int = 0
    """Kill the writer process alone right after its K-th COMMIT: the sync must stop with one line."""


def run_child(db: Path, emu: Any, kill: Kill | None, *, page_size: int = 10, max_retries: int = 2,
              lookback: int = 900, workers: int | None = None) -> tuple[int, str]:
    args = [sys.executable, str(CHILD), str(db), emu.base_url, "--page-size", str(page_size),
            "--max-retries", str(max_retries), "--lookback", str(lookback),
            "--workers", str(workers or (kill.workers if kill else 1))]
    if kill and kill.pages:
        args += ["--kill-after-pages", str(kill.pages)]
        if kill.mid_transaction:
            args.append("--kill-before-commit")
    if kill and kill.in_index_build:
        args.append("--kill-in-index-build")
    if kill and (kill.writer_process or kill.writer_dies_after):
        args.append("--writer-process")
    if kill and kill.writer_dies_after:
        args += ["--kill-writer-after-commits", str(kill.writer_dies_after)]
    env = {**os.environ, "OPENAI_ADMIN_KEY": emu.admin_key}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if kill and kill.delay:
        try:
            proc.wait(timeout=kill.delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    in_writer = kill is not None and (kill.writer_dies_after > 0 or (
        kill.writer_process and (kill.mid_transaction or kill.in_index_build)))
    if in_writer and proc.returncode == 1:
        # The writer process died at the instant, the sync outlived it: it says so in one line.
        [line] = err.strip().splitlines()
        assert "writer process was killed (signal 9); everything committed before is kept" in line, line
        return -signal.SIGKILL, out   # for the sequence, a run that died
    assert proc.returncode in (0, -signal.SIGKILL), err[-2000:]
    assert emu.admin_key not in out + err
    return proc.returncode, out


def check_consistent(db: Path, emu: Any, late: set[str] | frozenset[str] = frozenset()) -> int:
    """What a killed run left is sound: identical raw texts, every saved cursor's event is there, and
    every event of the walk in progress is either archived or still owed by an open slice (except
    `late` ones, added after the walk may have passed their time: the next run's lookback owes them)."""
    with Archive(db) as archive:
        conn = archive.connection
        have = set()
        for event_id, raw in conn.execute("SELECT id, raw FROM audit_logs"):
            assert raw == emu.store.raw(event_id)
            have.add(event_id)
        for (cursor_id,) in conn.execute("SELECT cursor_id FROM sync_slices"):
            if cursor_id is not None:
                assert archive.get_raw(cursor_id) is not None, "a cursor was saved without its page"
        run = conn.execute("SELECT run_active, run_from, run_upper FROM sync_state").fetchone()
        if run is not None and run[0]:
            slices = [dict(r) for r in conn.execute("SELECT * FROM sync_slices WHERE done = 0")]
            span = {"lt": run[2], **({} if run[1] is None else {"gte": run[1]})}
            for e in emu.store.all_events(effective_at=span):
                at = e["effective_at"]
                assert e["id"] in have or e["id"] in late or any(
                    (s["lo"] is None or s["lo"] <= at) and at < s["hi"]
                    and (s["cursor_id"] is None or (at, e["id"]) < (s["cursor_at"], s["cursor_id"]))
                    for s in slices), f"event {e['id']} at {at} is neither archived nor owed by an open slice"
        return archive.count()


def check_exact(db: Path, emu: Any, upper: int) -> None:
    expected = emu.store.all_events(effective_at={"lt": upper})
    with Archive(db, readonly=True) as archive:
        rows = [(r["id"], r["raw"]) for r in archive.iter_rows(Filters(until=upper))]
        assert len(rows) == len(expected), f"{len(rows)} archived, {len(expected)} on the service"
        assert [i for i, _ in rows] == [e["id"] for e in expected]
        assert all(raw == emu.store.raw(i) for i, raw in rows)
        [state] = archive.sync_state()
        assert not state["run_active"] and state["high_water"] == upper
        assert missing_indexes(archive.connection) == []


def insert_late(emu: Any, rng: random.Random, n: int) -> set[str]:
    """New events, and events stamped up to 10 minutes in the past (inside the default lookback)."""
    now = int(time.time())
    added = emu.insert_events([{"type": rng.choice(["login.failed", "api_key.created", "project.updated"]),
                                "effective_at": now - rng.randint(5, 600)} for _ in range(n)])
    added += emu.insert_events([{"type": "login.succeeded", "effective_at": now} for _ in range(n)])
    return {e["id"] for e in added}


def crash_sequence(tmp_path: Path, emu: Any, kills: list[Kill], rng: random.Random, *,
                   max_retries: int = 2, fault_cycle: list[dict[str, Any]] | None = None) -> int:
    db = tmp_path / "crash.sqlite"
    killed = 0
    late: set[str] = set()
    for i, kill in enumerate(kills):
        if fault_cycle:
            emu.set_faults(**fault_cycle[i % len(fault_cycle)])
        code, _ = run_child(db, emu, kill, max_retries=max_retries)
        killed += code == -signal.SIGKILL
        if db.exists():
            check_consistent(db, emu, late)
        if i % 3 == 1:
            late |= insert_late(emu, rng, 3)
    emu.set_faults(fail_rate=0.0, rate_limit=None, latency_ms=0)
    time.sleep(1.0)  # the final run's upper bound then lies past every inserted event
    code, out = run_child(db, emu, None, max_retries=max_retries)
    assert code == 0
    result = json.loads(out.strip().splitlines()[-1])
    check_exact(db, emu, result["upper_bound"])
    return killed


@pytest.mark.slow
def test_sigkill_at_many_points(tmp_path: Path, make_emulator: Any) -> None:
    # Pages of 10 with 10 ms of latency: the back-fill (~820 pages) takes at least 8 s however fast the
    # machine, more than the timed kills below can use up (8 x 0.8 s, one worker), so every kill
    # interrupts real work on any machine, and each run resumes what the previous one left.
    emu = make_emulator(events=9000, seed=21, latency_ms=10)
    rng = random.Random(21)
    kills = [
        Kill(pages=1), Kill(pages=4), Kill(pages=2, mid_transaction=True), Kill(pages=9),
        Kill(pages=3, workers=3), Kill(pages=6, mid_transaction=True, workers=3), Kill(pages=12, workers=2),
        Kill(pages=1, mid_transaction=True),
        *(Kill(delay=rng.uniform(0.55, 0.8)) for _ in range(8)),
    ]
    killed = crash_sequence(tmp_path, emu, kills, rng)
    assert killed >= 15


@pytest.mark.slow
def test_sigkill_multi_worker_runs_at_random_instants(tmp_path: Path, make_emulator: Any) -> None:
    # Several fetchers, so slices are split while pages are in flight, killed wherever the instant
    # falls: between a split and the pages after it, mid group commit, in the probe for the oldest
    # event. ~1,200 pages at 20 ms of latency keep even four workers busy past every kill (8 x 0.9 s).
    emu = make_emulator(events=13000, seed=24, latency_ms=20)
    rng = random.Random(24)
    kills = [Kill(delay=rng.uniform(0.5, 0.9), workers=rng.choice([2, 3, 4, 8])) for _ in range(8)]
    killed = crash_sequence(tmp_path, emu, kills, rng)
    assert killed >= 7


@pytest.mark.slow
def test_sigkill_with_the_writer_process_at_many_points(tmp_path: Path, make_emulator: Any) -> None:
    # As `test_sigkill_at_many_points`, the commits made by the writer process: the sync killed right
    # after a committed page (its writer must follow it), the writer killed mid-transaction, the writer
    # alone killed right after a COMMIT the sync has not been told of, and the sync at random instants.
    emu = make_emulator(events=9000, seed=25, latency_ms=10)
    rng = random.Random(25)
    kills = [
        Kill(pages=1, writer_process=True), Kill(pages=5, writer_process=True),
        Kill(pages=2, mid_transaction=True, writer_process=True), Kill(writer_dies_after=1),
        Kill(writer_dies_after=4), Kill(pages=7, mid_transaction=True, writer_process=True),
        Kill(writer_dies_after=9),
        *(Kill(delay=rng.uniform(0.55, 0.8), writer_process=True) for _ in range(6)),
    ]
    killed = crash_sequence(tmp_path, emu, kills, rng)
    assert killed >= 12


@pytest.mark.parametrize("writer_process", [False, True], ids=["in-process", "writer-process"])
def test_sigkill_while_building_the_indexes(tmp_path: Path, make_emulator: Any, writer_process: bool) -> None:
    # The back-fill walked without its lookup indexes; the run dies in the transaction that completes
    # the walk and builds them. Neither the completion nor any index survives, and the next run does both.
    emu = make_emulator(events=800, seed=23)
    db = tmp_path / "crash.sqlite"
    code, _ = run_child(db, emu, Kill(in_index_build=True, writer_process=writer_process), page_size=100)
    assert code == -signal.SIGKILL
    n = check_consistent(db, emu)
    with Archive(db, readonly=True) as archive:
        [state] = archive.sync_state()
        assert state["run_active"] and state["run_slices"] == state["run_slices_done"] and n == state["run_fetched"]
        assert sorted(missing_indexes(archive.connection)) == sorted(SECONDARY_INDEXES)
    code, out = run_child(db, emu, None, page_size=100)
    assert code == 0
    result = json.loads(out.strip().splitlines()[-1])
    assert result["resumed"] and result["inserted"] == 0
    check_exact(db, emu, result["upper_bound"])


@pytest.mark.slow
def test_sigkill_under_faults_and_rate_limits(tmp_path: Path, make_emulator: Any) -> None:
    # As above: ~1,090 pages at 10 ms of latency outlast the timed kills (10 x 0.9 s, one worker).
    emu = make_emulator(events=12000, seed=22, latency_ms=10)
    rng = random.Random(22)
    kills = [
        Kill(pages=2), Kill(pages=5, mid_transaction=True), Kill(pages=7, workers=4),
        Kill(pages=3, mid_transaction=True, workers=2),
        *(Kill(delay=rng.uniform(0.5, 0.9)) for _ in range(10)),
    ]
    faults = [{"fail_rate": 0.25, "rate_limit": None}, {"fail_rate": 0.1, "rate_limit": 150.0},
              {"fail_rate": 0.0, "rate_limit": 60.0}]
    killed = crash_sequence(tmp_path, emu, kills, rng, max_retries=15, fault_cycle=faults)
    assert killed >= 12
