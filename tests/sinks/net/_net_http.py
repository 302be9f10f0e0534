"""A threaded HTTP(S) server on a free loopback port, the base of the network sinks' stand-ins.

`http.server` rather than an ASGI app because a stand-in must be able to misbehave below HTTP: drop a
connection without answering (what a crashed node or a proxy's idle timeout does), and stop and start again
on the same port (a restarted cluster). Each stand-in subclass answers `handle(request)`; `script()` queues
faults for the next requests to a path.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

#: A scripted fault: close the connection without an answer.
DROP = "drop"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Lower-cased names."""
    body: bytes


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, value: Any, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(value).encode(), {"Content-Type": "application/json", **(headers or {})})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the clients' connection pools expect
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the test output is for failures

    def _serve(self) -> None:
        standin = self.server.standin
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Request(self.command, parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)),
                          {k.lower(): v for k, v in self.headers.items()}, body)
        answer = standin._answer(request)
        if answer == DROP:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        assert isinstance(answer, Response)
        self.send_response(answer.status)
        for name, value in {**standin.common_headers, **answer.headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.lock:
            self.server.connections.discard(self.connection)
        super().finish()

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], standin: StandIn) -> None:
        self.standin = standin
        self.lock = threading.Lock()
        self.connections: set[socket.socket] = set()
        super().__init__(address, _Handler)


class StandIn:
    """Subclasses implement `handle`; `url` is ``http(s)://127.0.0.1:PORT``. Use as a context manager."""

    #: Headers on every answer (the product header of Elasticsearch, for one).
    common_headers: dict[str, str] = {}  # noqa: RUF012 - overridden per class, never mutated

    def __init__(self, *, tls: Any = None) -> None:
        """`tls`: a `trustme.CA` whose leaf certificate for 127.0.0.1 the server presents."""
        self._tls = tls
        self._lock = threading.Lock()
        self._scripts: dict[str, deque[Response | str]] = {}
        self.requests: list[Request] = []
        self.latency = 0.0
        self.port = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- what subclasses answer ---------------------------------------------------------------------------
    def handle(self, request: Request) -> Response | str:
        raise NotImplementedError

    def script(self, path: str, *answers: Response | str) -> None:
        """Answer the next requests to `path` with `answers` (a `Response` or `DROP`), in order."""
        with self._lock:
            self._scripts.setdefault(path, deque()).extend(answers)

    def clear_scripts(self) -> None:
        with self._lock:
            self._scripts.clear()

    def _answer(self, request: Request) -> Response | str:
        if self.latency:
            time.sleep(self.latency)  # a slower server, so that a chaos test's kills land mid-run
        with self._lock:
            self.requests.append(request)
            queued = self._scripts.get(request.path)
            if queued:
                return queued.popleft()
            return self.handle(request)

    # -- running ------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> StandIn:
        server = _Server(("127.0.0.1", self.port), self)
        if self._tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._tls.issue_cert("127.0.0.1", "localhost").configure_cert(context)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening (connections are refused until `start()`, which reuses the port)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            # An outage ends the kept-alive connections too, as a stopped process would.
            with self._server.lock:
                for connection in list(self._server.connections):
                    with contextlib.suppress(OSError):
                        connection.shutdown(socket.SHUT_RDWR)
            if self._thread is not None:
                self._thread.join(5)
            self._server = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
