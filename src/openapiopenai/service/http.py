"""The service's HTTP endpoint: ``/metrics`` for Prometheus and ``/healthz`` for a load balancer or kubelet."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from openapiopenai.service.health import Health
from openapiopenai.service.metrics import Metrics

__all__ = ["StatusServer"]


class StatusServer:
    """Listens on ``host:port`` in a daemon thread; `close()` stops it."""

    def __init__(self, host: str, port: int, metrics: Metrics, health: Health) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._answer(200, metrics.render(), "text/plain; version=0.0.4; charset=utf-8")
                elif path in ("/healthz", "/health"):
                    ok, reason = health.check()
                    self._answer(200 if ok else 503, (reason + "\n").encode(), "text/plain; charset=utf-8")
                else:
                    self._answer(404, b"not found: try /metrics or /healthz\n", "text/plain; charset=utf-8")

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass   # a scrape every 15 s is not news; the service's own log stays readable

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="service-http", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
