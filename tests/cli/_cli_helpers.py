"""Helpers for running the CLI in tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

#: A recognisable fake key: no test output may ever contain it.
FAKE_KEY = "sk-admin-CLITEST-7f3a9c1e5b2d4068"
#: Loopback with nothing listening (the discard port): a request fails fast with "connection refused".
DEAD_URL = "http://127.0.0.1:9/v1"


def console_script() -> str:
    path = shutil.which("openapiopenai", path=os.path.dirname(sys.executable))
    assert path, "the openapiopenai console script is not installed in this environment"
    return path


def run_script(
    *args: str, base_url: str | None = None, key: str | None = FAKE_KEY, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """The installed console script in a subprocess, as a user's shell runs it (stdout is a pipe)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "NO_COLOR", "FORCE_COLOR"))}
    if base_url:
        env["OPENAI_BASE_URL"] = base_url
    if key:
        env["OPENAI_ADMIN_KEY"] = key
    proc = subprocess.run(
        [console_script(), *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    assert FAKE_KEY not in proc.stdout and FAKE_KEY not in proc.stderr
    return proc


def assert_one_line_error(stderr: str, exit_code: int, expected: int, *needles: str) -> None:
    assert exit_code == expected, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def file_state(path: str) -> tuple[bytes, int]:
    """Bytes and mtime: what 'left untouched' means."""
    with open(path, "rb") as fh:
        return fh.read(), os.stat(path).st_mtime_ns
