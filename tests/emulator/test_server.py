"""Running the emulator: in a background thread (`Emulator`) and in the foreground (`serve`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from _emulator_helpers import LIST

from openapiopenai.emulator import Emulator, serve
from openapiopenai.emulator._store import EventStore


def test_start_serves_at_once_and_stop_is_clean() -> None:
    # How fast a start is belongs in the benchmarks; timed here it failed whenever CI was busy.
    emu = Emulator(events=20_000, seed=1).start()
    try:
        assert emu.base_url.startswith("http://127.0.0.1:") and emu.base_url.endswith("/v1")
        assert httpx.get(emu.base_url + LIST, headers={"Authorization": f"Bearer {emu.admin_key}"}).status_code == 200
        url = emu.base_url
    finally:
        emu.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + LIST)
    with pytest.raises(RuntimeError):
        _ = emu.base_url


def test_two_emulators_get_their_own_ports() -> None:
    with Emulator(events=10) as one, Emulator(events=10) as two:
        assert one.base_url != two.base_url


def test_non_loopback_hosts_are_refused() -> None:
    with pytest.raises(ValueError, match="non-loopback"):
        Emulator(events=10, host="0.0.0.0").start()
    with pytest.raises(ValueError, match="non-loopback"):
        serve(host="0.0.0.0", port=0, events=10)


def test_a_db_file_is_generated_once_then_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = str(tmp_path / "emu.sqlite")
    with Emulator(events=300, seed=3, db=db) as first:
        ids = [e["id"] for e in first.store.all_events()]
    def no_generation(*args: object, **kwargs: object) -> None:
        raise AssertionError("the store regenerated events although its file had them")

    monkeypatch.setattr(EventStore, "generate", no_generation)
    with Emulator(events=999_999, seed=99, db=db) as again:
        assert [e["id"] for e in again.store.all_events()] == ids


def test_serve_prints_the_base_url_once_listening(tmp_path: Path) -> None:
    code = "from openapiopenai.emulator import serve; serve(port=0, events=200, admin_key='sk-admin-cli')"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        response = httpx.get(url + LIST, headers={"Authorization": "Bearer sk-admin-cli"}, timeout=10)
        assert response.status_code == 200 and len(response.json()["data"]) == 20
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)  # also closes the pipes
