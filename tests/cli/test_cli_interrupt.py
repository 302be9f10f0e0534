"""Ctrl-C: one exit status for every command, 130 (128 + SIGINT, what a shell reports for it)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from _cli_helpers import FAKE_KEY, background, console_script, script_env

pytestmark = pytest.mark.usefixtures("needs_emulator")


def _wait_for_requests(emu, at_least: int) -> None:
    deadline = time.monotonic() + 30
    while emu.counters()["requests"] < at_least:
        assert time.monotonic() < deadline, "the command never reached the service"
        time.sleep(0.01)


@pytest.mark.parametrize(
    "command",
    [
        ["audit-logs", "sync", "--db", "{db}"],
        ["audit-logs", "export", "--out", "{out}"],
        ["audit-logs", "list", "--all", "--format", "jsonl"],
        ["audit-logs", "tail", "--interval", "0.1s"],
    ],
    ids=lambda c: c[1],
)
def test_ctrl_c_exits_130_with_one_line(make_emulator, tmp_path: Path, command: list[str]) -> None:
    # Slow pages, so the command is still working when the signal comes.
    emu = make_emulator(events=3000, seed=4, admin_key=FAKE_KEY, latency_ms=40)
    args = [a.format(db=tmp_path / "a.sqlite", out=tmp_path / "x.jsonl") for a in command]
    with background([console_script(), *args], script_env(emu.base_url, FAKE_KEY)) as (proc, _out, err):
        _wait_for_requests(emu, 2)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    stderr = "".join(err.queue)
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert not (tmp_path / "x.jsonl").exists()  # an interrupted export leaves no file
