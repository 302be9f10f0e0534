"""Helpers for running ``openapiopenai run`` as a user does (fixtures live in conftest.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def console_script() -> str:
    path = shutil.which("openapiopenai", path=os.path.dirname(sys.executable))
    assert path, "the openapiopenai console script is not installed in this environment"
    return path


#: Every wait in these tests is bounded by this; a healthy run needs a fraction of it.
WAIT_S = 60.0


def wait_until(what: str, check: Callable[[], Any], timeout: float = WAIT_S) -> Any:
    """Poll ``check`` (a subprocess's progress cannot be awaited otherwise) until truthy, bounded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Webhook:
    """A webhook receiver on loopback recording each JSON body; ``fail`` makes it answer 503."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.fail = False
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 503 if hook.fail else 204
                if not hook.fail:
                    hook.bodies.append(json.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/secret-token-in-path"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class RunningService:
    """``openapiopenai run`` in a subprocess, its stderr in a file, its metrics port read from its log."""

    def __init__(self, config: Path, env: dict[str, str], *args: str) -> None:
        self.log_path = config.with_suffix(f".{time.monotonic_ns()}.log")
        self._log = open(self.log_path, "w")  # noqa: SIM115 (open for the life of the process, closed in close())
        self.proc = subprocess.Popen([console_script(), "run", "--config", str(config), *args],
                                     env={**os.environ, **env}, stdout=self._log, stderr=subprocess.STDOUT, text=True)
        self.port: int | None = None

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_port(self) -> int:
        def found() -> int | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"the service exited {self.proc.returncode}: {self.log()}")
            match = re.search(r"serving http://127\.0\.0\.1:(\d+)/metrics", self.log())
            return int(match.group(1)) if match else None

        self.port = wait_until("the metrics port", found)
        return self.port

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def metrics(self) -> dict[str, float]:
        """Each sample as ``name{labels}`` -> value (labels in the order the client writes them)."""
        _, text = self.get("/metrics")
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    def value(self, name: str, **labels: str) -> float | None:
        wanted = [f'{k}="{v}"' for k, v in labels.items()]
        for sample, value in self.metrics().items():
            base, _, rest = sample.partition("{")
            if base == name and all(w in rest for w in wanted):
                return value
        return None

    def terminate(self, timeout: float = 10.0) -> tuple[int, float]:
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"not stopped within {timeout}s: {self.log()[-3000:]}") from None
        return self.proc.returncode, time.monotonic() - started

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


