"""The chaos run shared by the network sinks: `audit-logs ship` as a user runs it (a subprocess), SIGKILLed
at random instants while the sink is disturbed (restarted, busy, dropping connections), then run once more
to completion. The caller checks what the sink holds."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ChaosRun:
    seed: int
    kills: int = 0
    disturbances: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    """stdout + stderr of every run, for the secrets check."""


def ship_command(db: Path, url: str, *extra: str) -> list[str]:
    script = shutil.which("openapiopenai", path=os.path.dirname(sys.executable))
    assert script is not None
    return [script, "audit-logs", "ship", "--db", str(db), "--to", url, "--schema", "raw", "--batch", "20",
            "--give-up-after", "60s", *extra]


def run_chaos(db: Path, url: str, env: dict[str, str], disturb: Callable[[random.Random], str], *,
              settle: Callable[[], None] = lambda: None, runs: int = 5) -> ChaosRun:
    """`runs` killed runs (each disturbed with probability 0.6), then, once `settle` has ended the faults
    still queued (a sink unreachable at start is exit 1 by design), one run to completion (asserted)."""
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    chaos = ChaosRun(seed)
    command = ship_command(db, url)
    for _ in range(runs):
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                stdin=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.0))
        if rng.random() < 0.6:
            chaos.disturbances.append(disturb(rng))
            time.sleep(rng.uniform(0.0, 0.4))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            chaos.kills += 1
        out, err = proc.communicate(timeout=90)
        chaos.outputs.append(out + err)
    settle()
    final = subprocess.run(command, capture_output=True, text=True, timeout=180, env=env,
                           stdin=subprocess.DEVNULL)
    chaos.outputs.append(final.stdout + final.stderr)
    assert final.returncode == 0, f"seed {seed}: {final.stderr}"
    assert chaos.kills + len(chaos.disturbances) >= 3, f"seed {seed}: too little chaos to mean anything"
    return chaos


def child_env(**secrets: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TEST_"))}
    env.update(secrets)
    return env


def archived(db: Path) -> dict[str, str]:
    """id -> raw of every archived event, read with plain sqlite3."""
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {str(i): str(r) for i, r in conn.execute("SELECT id, raw FROM audit_logs")}
    finally:
        conn.close()
