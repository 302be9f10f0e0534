"""Attack scenarios: planted through the CLI and the control API, each reporting the ids it planted."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import httpx

from openapiopenai.emulator import Emulator
from openapiopenai.emulator._scenarios import SCENARIOS


def test_the_control_api_lists_and_plants_scenarios() -> None:
    with Emulator(events=500, seed=2) as emu:
        url = emu.base_url.removesuffix("/v1") + "/_emulator/scenarios"
        assert set(httpx.get(url, timeout=10).json()) == set(SCENARIOS)
        [planted] = httpx.post(url, json={"name": "credential_stuffing", "at": 1_790_000_000}, timeout=10).json()
        assert planted["name"] == "credential_stuffing" and planted["at"] == 1_790_000_000
        assert len(planted["ids"]) == 8
        stored = [emu.store.raw(i) for i in planted["ids"]]
        assert all('"login.failed"' in raw for raw in stored)
        bad = httpx.post(url, json={"name": "no_such_attack"}, timeout=10)
        assert bad.status_code == 400 and "no scenario" in bad.json()["error"]["message"]
        assert emu.store.count() == 508


def test_the_emulator_command_plants_and_reports_before_serving() -> None:
    exe = shutil.which("openapiopenai", path=os.path.dirname(sys.executable))
    assert exe is not None
    proc = subprocess.Popen([exe, "emulator", "--port", "0", "--events", "300", "--scenario", "mass_archival",
                             "--scenario", "external_invite"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    try:
        assert proc.stdout is not None
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(lines) < 3:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    assert lines[0].startswith("scenario mass_archival at ") and len(lines[0].split(": ")[1].split()) == 4
    assert lines[1].startswith("scenario external_invite at ")
    assert "http://127.0.0.1:" in lines[2]
    bad = subprocess.run([exe, "emulator", "--port", "0", "--scenario", "nope"], capture_output=True, text=True,
                         timeout=60, check=False)
    assert bad.returncode == 2 and "no scenario 'nope'" in bad.stderr and bad.stderr.count("\n") == 1
