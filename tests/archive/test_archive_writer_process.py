"""The writer process (`_writer_process`) as a user meets it: the CLI's sync hands its commits to it on a
long walk, a kill -9 of that process stops the sync with one line and exit 1, and the next sync resumes
to exactly the service's events. A short sync starts no process at all.

The kills at chosen instants inside the writer process are in `test_archive_crash` (via `sync_child`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from openapiopenai.archive import Archive, Filters
from openapiopenai.archive._schema import missing_indexes

#: Bounds on the polls below (no sleeps on a happy path: each loop ends as soon as its state is seen).
_POLL_S = 0.01
_WITHIN_S = 60.0


def _cli() -> list[str]:
    script = shutil.which("openapiopenai", path=os.path.dirname(sys.executable))
    assert script, "the openapiopenai console script is not installed in this environment"
    return [script]


def _sync(db: Path, emu: Any, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    # A session of its own, so a Ctrl-C can go to its whole process group, as a terminal sends it.
    return subprocess.Popen([*_cli(), "audit-logs", "sync", "--db", str(db), "--base-url", emu.base_url,
                             "--admin-key", emu.admin_key, "--workers", "1", *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):   # the thread ended meanwhile
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _writer_of(pid: int) -> int | None:
    """The sync's writer process, if it has one now."""
    for child in _children(pid):
        try:
            if b"_writer_process" in Path(f"/proc/{child}/cmdline").read_bytes():
                return child
        except OSError:
            pass
    return None


def _archived(db: Path) -> int:
    try:
        with Archive(db, readonly=True) as archive:
            return archive.count()
    except Exception:   # not created yet, or mid-creation: the poll looks again
        return 0


def _writer_at_work(proc: subprocess.Popen[str], db: Path) -> int:
    """The sync's writer process, once it has committed some pages of its own (so a kill falls mid-work)."""
    deadline = time.monotonic() + _WITHIN_S
    writer = None
    while writer is None and proc.poll() is None and time.monotonic() < deadline:
        writer = _writer_of(proc.pid)
        time.sleep(_POLL_S)
    assert writer is not None, "the sync never started its writer process"
    start = _archived(db)
    while _archived(db) <= start + 1000 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(_POLL_S)
    assert proc.poll() is None, "the walk ended before the writer was seen at work"
    return writer


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1]
    except OSError:
        return True
    return state == "Z"   # exited, not yet reaped by its parent's parent


def _resumes_exact(db: Path, emu: Any) -> None:
    again = _sync(db, emu)
    _, err = again.communicate(timeout=_WITHIN_S * 2)
    assert again.returncode == 0, err
    expected = emu.store.all_events(effective_at={"lt": int(time.time()) + 1})
    with Archive(db, readonly=True) as archive:
        rows = [(r["id"], r["raw"]) for r in archive.iter_rows(Filters())]
        assert [i for i, _ in rows] == [e["id"] for e in expected]
        assert all(raw == emu.store.raw(i) for i, raw in rows)
        [state] = archive.sync_state()
        assert not state["run_active"]
        assert missing_indexes(archive.connection) == []


def test_a_killed_writer_process_stops_the_sync_with_one_line_and_the_next_sync_resumes_exact(
        tmp_path: Path, make_emulator: Any) -> None:
    # 40,000 events at 3 ms a page: past the 100 pages a sync commits before handing over (10,000
    # events), the walk has seconds left for the kill to interrupt.
    emu = make_emulator(events=40000, seed=31, latency_ms=3)
    db = tmp_path / "a.sqlite"
    proc = _sync(db, emu)
    os.kill(_writer_at_work(proc, db), signal.SIGKILL)
    out, err = proc.communicate(timeout=_WITHIN_S)
    assert proc.returncode == 1, err
    [line] = err.strip().splitlines()
    assert line.startswith("error: sync stopped: ") and "writer process was killed (signal 9)" in line, line
    assert "everything committed before is kept" in line and "Traceback" not in err
    assert emu.admin_key not in out + err
    assert 0 < _archived(db) < 39000
    _resumes_exact(db, emu)


def test_ctrl_c_while_the_writer_process_commits_exits_130_and_takes_the_writer_along(
        tmp_path: Path, make_emulator: Any) -> None:
    # The terminal's SIGINT reaches both processes; the writer ignores it, the sync stops and closes it.
    emu = make_emulator(events=40000, seed=33, latency_ms=3)
    db = tmp_path / "a.sqlite"
    proc = _sync(db, emu)
    writer = _writer_at_work(proc, db)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=_WITHIN_S)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert _gone(writer)
    assert 0 < _archived(db) < 39000
    _resumes_exact(db, emu)


def test_a_short_sync_starts_no_writer_process(tmp_path: Path, make_emulator: Any) -> None:
    # 3,000 events are 30 pages: below the hand-over, so the commits stay in the sync's process.
    emu = make_emulator(events=3000, seed=32, latency_ms=20)
    db = tmp_path / "a.sqlite"
    proc = _sync(db, emu)
    seen: set[int] = set()
    deadline = time.monotonic() + _WITHIN_S
    while proc.poll() is None and time.monotonic() < deadline:
        writer = _writer_of(proc.pid)
        if writer is not None:
            seen.add(writer)
        time.sleep(_POLL_S)
    _, err = proc.communicate(timeout=_WITHIN_S)
    assert proc.returncode == 0, err
    assert not seen
    assert _archived(db) == len(emu.store.all_events(effective_at={"lt": int(time.time()) + 1}))
