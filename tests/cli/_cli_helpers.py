"""Helpers for running the CLI in tests (fixtures live in conftest.py)."""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import IO

from click.testing import Result

#: What the `run`/`run_offline` fixtures are: the CLI's arguments in, click's `Result` out. Here rather than
#: in conftest.py, since `from conftest import` names whichever folder's conftest was imported first.
Run = Callable[..., Result]
#: A recognisable fake key: no test output may ever contain it.
FAKE_KEY = "sk-admin-CLITEST-7f3a9c1e5b2d4068"
#: Loopback with nothing listening (the discard port): a request fails fast with "connection refused".
DEAD_URL = "http://127.0.0.1:9/v1"


def console_script() -> str:
    path = shutil.which("openapiopenai", path=os.path.dirname(sys.executable))
    assert path, "the openapiopenai console script is not installed in this environment"
    return path


def unprivileged() -> list[str]:
    """A command prefix under which file permissions hold, as for a user (root ignores them).

    As root (CI, this machine) the child drops the capabilities that override file modes; the files
    stay root's own, so only their permission bits decide, as they would for their owner.
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to test permissions as root"
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]


def run_script(
    *args: str,
    base_url: str | None = None,
    key: str | None = FAKE_KEY,
    timeout: float = 60,
    prefix: list[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """The installed console script in a subprocess, as a user's shell runs it (stdout is a pipe)."""
    env = script_env(base_url, key)
    proc = subprocess.run(
        [*(prefix or []), console_script(), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
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


def service_raws(emu: object, **filters: object) -> list[str]:
    """Every matching event's JSON text, newest first, read with the library: the reference."""
    return service_raws_at(emu.base_url, emu.admin_key, **filters)  # type: ignore[attr-defined]


def service_raws_at(base_url: str, key: str, **filters: object) -> list[str]:
    import openapiopenai

    config = openapiopenai.Configuration(host=base_url, access_token=key)
    with openapiopenai.ApiClient(config) as client:
        api = openapiopenai.AuditLogsApi(client)
        return [event.raw_json for event in api.iter_audit_logs(**filters, limit=100)]


def archive_raws(path: str) -> list[str]:
    from openapiopenai.archive import Archive

    with Archive(path, create=False, readonly=True) as archive:
        return list(archive.iter_raw(None, newest_first=True))


def _pump(stream: IO[str], sink: queue.Queue[str]) -> None:
    for line in stream:
        sink.put(line)


@contextlib.contextmanager
def background(
    args: list[str], env: dict[str, str]
) -> Iterator[tuple[subprocess.Popen[str], queue.Queue[str], queue.Queue[str]]]:
    """A console-script process with its stdout and stderr lines arriving on queues; always reaped."""
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as proc:
        out: queue.Queue[str] = queue.Queue()
        err: queue.Queue[str] = queue.Queue()
        pumps = [
            threading.Thread(target=_pump, args=(proc.stdout, out)),
            threading.Thread(target=_pump, args=(proc.stderr, err)),
        ]
        for pump in pumps:
            pump.start()
        try:
            yield proc, out, err
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for pump in pumps:
                pump.join(timeout=10)


def script_env(base_url: str | None = None, key: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "NO_COLOR", "FORCE_COLOR"))}
    if base_url:
        env["OPENAI_BASE_URL"] = base_url
    if key:
        env["OPENAI_ADMIN_KEY"] = key
    return env


def run_in_terminal(
    args: list[str], env: dict[str, str], *, columns: int = 80, rows: int = 24, timeout: float = 60
) -> tuple[int, str]:
    """The console script with stdout on a real pseudo-terminal ``columns`` wide, as a person sees it.

    Returns the exit status and what the terminal received (``\r\n`` read back as ``\n``); stderr
    is a pipe, discarded unless the command fails.
    """
    import fcntl
    import pty
    import struct
    import termios
    import time

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {**env, "COLUMNS": "", "LINES": ""}  # the terminal's own size, not an inherited override
    env = {k: v for k, v in env.items() if v}
    with subprocess.Popen(
        [console_script(), *args], stdin=follower, stdout=follower, stderr=subprocess.PIPE, env=env
    ) as proc:
        os.close(follower)
        seen = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the process is done
                break
            if not chunk:
                break
            seen += chunk
        status = proc.wait(timeout=timeout)
        err = proc.stderr.read().decode() if proc.stderr else ""
    os.close(leader)
    assert status == 0 or err, err
    assert FAKE_KEY not in err and FAKE_KEY.encode() not in seen
    return status, seen.decode("utf-8", errors="replace").replace("\r\n", "\n")
