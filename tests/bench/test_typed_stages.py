"""The instruction-count stages of row 1b (`python -m bench.typed_stages`) do the work they are named for.

Cachegrind itself is not run here (minutes, and valgrind is a tool, not a dependency): the tool's
``--check`` runs every stage once on a real page and checks that ours reads the same values as the
floor, so that its ratio compares like with like. Run as a user runs it (this folder's package shadows
the top-level ``bench``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from openapiopenai.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-admin-stages"


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with Emulator(events=300, seed=5, admin_key=KEY) as emu:
        response = httpx.get(emu.base_url + "/organization/audit_logs", params={"limit": 100},
                             headers={"Authorization": f"Bearer {KEY}"}, timeout=30)
    response.raise_for_status()
    path = tmp_path_factory.mktemp("stages") / "page.json"
    path.write_bytes(response.content)
    return path


def _check(page: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench.typed_stages", "--check", str(page)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)


def test_every_stage_runs_and_ours_reads_what_the_floor_reads(page_file: Path) -> None:
    proc = _check(page_file)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok: 100 events read alike"


def test_a_page_read_differently_fails_the_check(page_file: Path, tmp_path: Path) -> None:
    # An event whose type is named like a body key ("actor") has no typed payload in ours (None), while the
    # floor's `e.get(e["type"])` reads the actor's dict: the two read different values, and the check says so.
    body = json.loads(page_file.read_bytes())
    next(e for e in body["data"] if e.get("actor"))["type"] = "actor"
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps(body), encoding="utf-8")
    proc = _check(odd)
    assert proc.returncode != 0 and "ours and the floor read different values" in proc.stderr
