"""Subprocesses: servers the benchmark talks to, and measured client runs.

Servers run in their own processes so they never compete with a client for its GIL. A measured run is
a fresh process per contender so its peak RSS is its own. That peak is read from ``VmHWM`` in
``/proc/<pid>/status`` while it runs, not from ``ru_maxrss``: Linux carries the high-water mark across
``exec``, so a child's ``ru_maxrss`` starts at the size of this (large, SDK-importing) parent.
Every process started here is stopped here, by its pid.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._paths import ADMIN_KEY, ROOT

__all__ = ["Measured", "emulator", "fixed_server", "run_measured"]

_URL = re.compile(r"http://127\.0\.0\.1:\d+/v1")


def child_env(extra_path: Path | None = None) -> dict[str, str]:
    """The environment every child gets: no inherited OpenAI settings, and the same ``PYTHONPATH``
    for all contenders (the generated client's folder when there is one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    paths = [str(ROOT)] + ([str(extra_path)] if extra_path else [])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["NO_COLOR"] = "1"
    return env


def cli() -> list[str]:
    """The project's console script, as a user runs it (the venv's own, whatever PATH says)."""
    script = Path(sys.executable).with_name("openapiopenai")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from openapiopenai.cli import main; main()"]


def _stop(proc: subprocess.Popen[Any], grace: float = 10.0, *, asked: bool = False) -> None:
    """Stop a server we started: give it ``grace`` seconds if it was already asked to stop (stdin
    closed), then SIGINT, then SIGKILL."""
    if asked:
        with suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # uvicorn and our servers shut down cleanly on SIGINT
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _read_line_matching(proc: subprocess.Popen[str], pattern: re.Pattern[str], timeout: float) -> str:
    """Read the child's output until a line matches; keep draining it afterwards so a chatty server
    (access logs) never blocks on a full pipe."""
    found: list[str] = []
    seen: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if not ready.is_set():
                seen.append(line)
                match = pattern.search(line)
                if match:
                    found.append(match.group(0))
                    ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    ready.wait(timeout)
    if not found:
        _stop(proc, grace=2)
        tail = "".join(seen[-5:]).strip()
        raise RuntimeError(f"server did not announce itself within {timeout:.0f}s: {tail[-300:]}")
    return found[0]


@contextmanager
def fixed_server(body: bytes) -> Iterator[str]:
    """Base URL (``.../v1``) of a loopback server answering every request with ``body``."""
    with tempfile.NamedTemporaryFile(prefix="page-", suffix=".json") as f:
        f.write(body)
        f.flush()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench._fixed_server", f.name],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=child_env(),
        )
        # The server has read the file once it prints its port.
        port = _read_line_matching(proc, re.compile(r"^\d+"), 30)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        if proc.stdin:
            proc.stdin.close()  # the server's signal to stop
        _stop(proc, asked=True)


@contextmanager
def emulator(events: int, *, seed: int = 1, db: Path | None = None, latency_ms: int = 0,
             newer_types: bool = False, startup_timeout: float = 600) -> Iterator[str]:
    """Base URL of the project's emulator, started with its own CLI in a subprocess."""
    cmd = [*cli(), "emulator", "--port", "0", "--events", str(events),
           "--seed", str(seed), "--admin-key", ADMIN_KEY, "--latency-ms", str(latency_ms)]
    if db is not None:
        cmd += ["--db", str(db)]
    if newer_types:
        cmd.append("--newer-types")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=ROOT, env=child_env())
    try:
        yield _read_line_matching(proc, _URL, startup_timeout)
    finally:
        _stop(proc)


@dataclass
class Measured:
    seconds: float
    """Wall time of the whole process."""
    max_rss_mb: float
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        lines = self.stdout.strip().splitlines()
        return json.loads(lines[-1]) if lines else None


def run_measured(cmd: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 900,
                 cwd: Path = ROOT, with_children: bool = False) -> Measured:
    """Run a process to completion; its own peak RSS comes from ``wait4`` (Linux reports KiB).

    `with_children`: the peak is the largest sum of the resident sets of the process and every process
    under it, seen at one poll (a sync with a writer process of its own: both count)."""
    start = time.perf_counter()
    proc = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                            env=env if env is not None else child_env())
    peak = _PeakRss(proc.pid, with_children=with_children)
    stdout, stderr = _communicate(proc, timeout)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    rss_mb = peak.stop() or usage.ru_maxrss / 1024  # ru_maxrss only where /proc is missing
    return Measured(seconds, rss_mb, proc.returncode, stdout.decode(errors="replace"), stderr.decode(errors="replace"))


def _status_kib(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    """`pid` and every process under it, as /proc says now (bounded: a process tree is finite)."""
    found, todo = [], [pid]
    while todo and len(found) < 1000:
        p = todo.pop()
        found.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            with suppress(OSError, ValueError):
                todo += [int(c) for c in (task / "children").read_text().split()]
    return found


class _PeakRss:
    """Polls a process's ``VmHWM`` (its peak resident set since exec) until it exits.

    The mark only grows, so the last value read before exit is the peak, short of what was added in
    the last poll interval."""

    INTERVAL_S = 0.01

    def __init__(self, pid: int, *, with_children: bool = False) -> None:
        self._pid = pid
        self._path = f"/proc/{pid}/status"
        self._with_children = with_children
        self._kib = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _read(self) -> int | None:
        try:
            with open(self._path, encoding="ascii") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except (OSError, ValueError):
            return None
        return None  # a zombie has no memory map left to report

    def _poll(self) -> None:
        while not self._done.is_set():
            kib = self._read()
            if kib is None:
                if self._kib:
                    return
            else:
                self._kib = max(self._kib, kib)
                if self._with_children:
                    self._kib = max(self._kib, sum(_status_kib(p, "VmRSS:") for p in _descendants(self._pid)))
            self._done.wait(self.INTERVAL_S)

    def stop(self) -> float:
        self._done.set()
        self._thread.join()
        return self._kib / 1024


def _communicate(proc: subprocess.Popen[bytes], timeout: float) -> tuple[bytes, bytes]:
    # Read both pipes to EOF without reaping the child (communicate() would wait() and lose its rusage).
    chunks: dict[str, list[bytes]] = {"out": [], "err": []}

    def drain(name: str, stream: Any) -> None:
        for block in iter(lambda: stream.read(65536), b""):
            chunks[name].append(block)

    threads = [threading.Thread(target=drain, args=("out", proc.stdout), daemon=True),
               threading.Thread(target=drain, args=("err", proc.stderr), daemon=True)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in threads):
        proc.kill()
        for t in threads:
            t.join()
    return b"".join(chunks["out"]), b"".join(chunks["err"])
