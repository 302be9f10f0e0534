"""An environment proxy never sees the key over plain http, even when the host changes after the
client was built. The proxy is a real listener on loopback that records what reaches it."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

import openapiopenai

KEY = "sk-admin-PROXYTEST-0123456789"


class RecordingProxy:
    """Accepts connections, keeps every byte sent to it, answers 502 (a proxy that cannot forward)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.received = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    self.received += conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingProxy]:
    p = RecordingProxy()
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, p.url)
    yield p
    p.close()


def test_proxy_listener_records_what_a_proxied_client_sends(proxy: RecordingProxy) -> None:
    # The stand-in works: a client that does use the environment's proxy reaches it.
    import httpx

    with httpx.Client(trust_env=True) as client:
        assert client.get("http://127.0.0.1:9/v1/probe").status_code == 502
    assert b"/v1/probe" in proxy.received


def test_host_changed_to_plain_http_after_build_bypasses_the_proxy(proxy: RecordingProxy, make_emulator) -> None:
    emu = make_emulator(events=50, seed=3, admin_key=KEY)
    cfg = openapiopenai.Configuration(host="https://api.openai.com/v1", access_token=KEY, max_retries=0)
    with openapiopenai.ApiClient(cfg) as client:
        cfg.host = emu.base_url  # openapi-generator style: the host set after the client exists
        page = openapiopenai.AuditLogsApi(client).list_audit_logs(limit=5)
    assert len(page.data) == 5
    assert proxy.received == b""
    assert KEY.encode() not in proxy.received


async def test_async_client_too(proxy: RecordingProxy, make_emulator) -> None:
    emu = make_emulator(events=50, seed=3, admin_key=KEY)
    cfg = openapiopenai.Configuration(host="https://api.openai.com/v1", access_token=KEY, max_retries=0)
    async with openapiopenai.AsyncApiClient(cfg) as client:
        cfg.host = emu.base_url
        page = await openapiopenai.AsyncAuditLogsApi(client).list_audit_logs(limit=5)
    assert len(page.data) == 5
    assert proxy.received == b""


def test_changed_to_a_remote_plain_http_host_is_refused(proxy: RecordingProxy) -> None:
    cfg = openapiopenai.Configuration(host="https://api.openai.com/v1", access_token=KEY, max_retries=0)
    with openapiopenai.ApiClient(cfg) as client:
        cfg.host = "http://example.com/v1"
        with pytest.raises(ValueError, match="plain http"):
            openapiopenai.AuditLogsApi(client).list_audit_logs(limit=5)
    assert proxy.received == b""
