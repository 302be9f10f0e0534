"""SIGTERM in the middle of a sync: exit 0 within 10 s, and the next start ends exact."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from _service_helpers import console_script, wait_until

from openapiopenai.emulator import Emulator

KEY = "sk-admin-SERVICE-STOP-5e2d40687f3a9c1b"


def count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT count(*) FROM audit_logs").fetchone()[0])
    except sqlite3.OperationalError:   # not created yet
        return 0


@pytest.mark.slow
def test_sigterm_mid_sync_exits_0_in_time_and_the_restart_is_exact(tmp_path: Path, start_service: Any) -> None:
    # Slow pages (25 ms each, 100 events a page): the back-fill takes many seconds, so the signal lands mid-walk.
    with Emulator(events=12_000, seed=8, admin_key=KEY, latency_ms=25) as emu:
        db = tmp_path / "acme.sqlite"
        config = tmp_path / "service.toml"
        config.write_text(f"""
[service]
metrics_addr = "127.0.0.1:0"

[[org]]
name = "acme"
base_url = "{emu.base_url}"
admin_key_env = "ACME_KEY"
archive = "{db}"
interval = "5m"
""")
        service = start_service(config, {"ACME_KEY": KEY})
        service.wait_port()
        wait_until("a few pages committed", lambda: count(db) >= 500)
        rc, seconds = service.terminate()
        assert rc == 0 and seconds < 10
        interrupted = count(db)
        assert 500 <= interrupted < 12_000
        assert "cycle stopped after its last commit" in service.log()

        started = time.monotonic()
        again = subprocess.run([console_script(), "run", "--config", str(config), "--once"],
                               env={"ACME_KEY": KEY, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                               timeout=120)
        assert again.returncode == 0, again.stderr
        assert time.monotonic() - started < 120
        assert "resuming an interrupted sync" in again.stderr
        with sqlite3.connect(db) as conn:
            ids = sorted(r[0] for r in conn.execute("SELECT id FROM audit_logs WHERE tenant = 0"))
        assert ids == sorted(e["id"] for e in emu.store.all_events())
        assert KEY not in service.log() + again.stderr + again.stdout
