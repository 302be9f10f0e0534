"""The direct path (``_transport.DirectTransport`` and its async twin) over real loopback sockets.

A client ``ApiClient`` or ``AsyncApiClient`` builds itself sends on httpcore's pool without the httpx
client's layers; these tests hold it to what the httpx client does: the same bytes on the wire, the same
response (decoded, ``request`` and ``elapsed`` set where the response leaves the library), the same
errors, one kept-alive connection, and settings changed after the client was built still obeyed.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from openapiopenai import (
    ApiClient,
    ApiConnectionError,
    ApiTimeoutError,
    AsyncApiClient,
    AsyncAuditLogsApi,
    AuditLogsApi,
    Configuration,
    ServiceException,
    api_client,
)

KEY = "sk-admin-DIRECT-0123456789"
BODY = json.dumps({"object": "list", "data": [{"id": "audit_log-d1", "type": "login.failed",
                                                "effective_at": 1_700_000_000}],
                   "first_id": "audit_log-d1", "last_id": "audit_log-d1", "has_more": False}).encode()


def answer(body: bytes = BODY, *headers: str) -> bytes:
    head = ["HTTP/1.1 200 OK", "content-type: application/json", f"content-length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class Recorder:
    """A keep-alive HTTP/1.1 listener on loopback: records each request head, answers each with ``reply``
    (or with nothing at all when ``reply`` is None, to let a read time out)."""

    def __init__(self, reply: bytes | None = None) -> None:
        self.reply = answer() if reply is None else reply
        self.silent = reply == b""
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self.heads: list[bytes] = []
        self.connections = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        buffer = b""
        with conn:
            while not self._stop.is_set():
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                buffer += data
                while b"\r\n\r\n" in buffer:
                    head, buffer = buffer.split(b"\r\n\r\n", 1)
                    self.heads.append(head)
                    if not self.silent:
                        conn.sendall(self.reply)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    r = Recorder()
    yield r
    r.close()


def own_api(url: str, **cfg: object) -> AuditLogsApi:
    return AuditLogsApi(ApiClient(Configuration(host=url, access_token=KEY, **cfg)))  # type: ignore[arg-type]


FILTERS = dict(effective_at={"gte": 1_600_000_000, "lt": 1_800_000_000}, project_ids=["proj_1", "p 2"],
               event_types=["login.failed", "api_key.created"], actor_ids=["user-1"], actor_emails=["a+b@x.com"],
               resource_ids=["res/1"], tenant_only=True, limit=7, after="audit_log-abc")


def test_direct_path_sends_the_bytes_httpx_client_sends(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    # The reference: the same call through an httpx.Client of the same settings (a client the caller
    # hands in always goes through httpx.Client).
    config = Configuration(host=recorder.url, access_token=KEY, default_headers={"OpenAI-Organization": "org-1"})
    handed = httpx.Client(trust_env=False, follow_redirects=False)
    with ApiClient(config, http_client=handed) as client:
        AuditLogsApi(client).list_audit_logs(**FILTERS, _headers={"X-Trace": "t1"})  # type: ignore[arg-type]
    handed.close()
    # Ours, with httpx.Client.send unable to send: the request must not go through it.
    def no_send(*args: object, **kwargs: object) -> None:
        raise AssertionError("the direct path went through httpx.Client.send")

    with monkeypatch.context() as m:
        m.setattr(httpx.Client, "send", no_send)
        with ApiClient(config) as client:
            AuditLogsApi(client).list_audit_logs(**FILTERS, _headers={"X-Trace": "t1"})  # type: ignore[arg-type]
    reference, direct = recorder.heads
    assert direct == reference
    assert b"\r\nAuthorization: Bearer " + KEY.encode() + b"\r\n" in direct
    assert direct.startswith(b"GET /v1/organization/audit_logs?effective_at%5Bgte%5D=1600000000&")
    assert b"\r\nX-Trace: t1" in direct and b"\r\nOpenAI-Organization: org-1" in direct


def test_one_connection_is_kept_alive_across_calls(recorder: Recorder) -> None:
    api = own_api(recorder.url)
    with api.api_client:
        for _ in range(5):
            assert api.list_audit_logs(limit=1).data[0].id == "audit_log-d1"
    assert len(recorder.heads) == 5
    assert recorder.connections == 1


def test_settings_changed_after_the_client_is_built_are_sent(recorder: Recorder) -> None:
    other = Recorder()
    try:
        api = own_api(recorder.url)
        with api.api_client as client:
            api.list_audit_logs()
            client.configuration.access_token = "sk-admin-ROTATED"
            client.set_default_header("X-Extra", "1")
            api.list_audit_logs()
            client.configuration.host = other.url
            api.list_audit_logs()
        first, second = recorder.heads
        assert b"Bearer " + KEY.encode() in first and b"X-Extra" not in first
        assert b"Bearer sk-admin-ROTATED" in second and b"\r\nX-Extra: 1" in second
        (third,) = other.heads
        assert b"\r\nHost: " + other.url.split("/")[2].encode() + b"\r\n" in third
        assert b"Bearer sk-admin-ROTATED" in third
    finally:
        other.close()


def test_gzip_body_is_decoded() -> None:
    squeezed = gzip.compress(BODY)
    server = Recorder(answer(squeezed, "content-encoding: gzip"))
    try:
        api = own_api(server.url)
        with api.api_client:
            info = api.list_audit_logs_with_http_info()
        assert info.data.data[0].id == "audit_log-d1"
        assert info.raw_data == BODY
        assert b"\r\nAccept-Encoding: gzip" in server.heads[0]
    finally:
        server.close()


def test_raw_response_is_a_complete_httpx_response(recorder: Recorder) -> None:
    api = own_api(recorder.url)
    with api.api_client:
        response = api.list_audit_logs_without_preload_content(limit=3)
    assert response.is_closed and response.content == BODY
    assert response.request.url == httpx.URL(recorder.url + "/organization/audit_logs?limit=3")
    assert response.request.headers["authorization"] == f"Bearer {KEY}"
    assert response.raise_for_status() is response
    assert response.elapsed.total_seconds() > 0
    assert response.http_version == "HTTP/1.1" and response.reason_phrase == "OK"


def test_refused_connection_is_an_api_connection_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    api = own_api(f"http://127.0.0.1:{port}/v1", max_retries=0)
    with api.api_client, pytest.raises(ApiConnectionError, match="ConnectError") as info:
        api.list_audit_logs()
    assert KEY not in str(info.value)


def test_silent_server_is_a_timeout(sleeps: list[float]) -> None:
    server = Recorder(b"")
    try:
        api = own_api(server.url, max_retries=1)
        with api.api_client, pytest.raises(ApiTimeoutError, match="ReadTimeout"):
            api.list_audit_logs(_request_timeout=0.2)
        assert len(server.heads) == 2 and len(sleeps) == 1  # retried once, then raised
    finally:
        server.close()


def test_closed_client_refuses_as_httpx_does(recorder: Recorder) -> None:
    api = own_api(recorder.url)
    api.api_client.close()
    with pytest.raises(RuntimeError, match="closed"):
        api.list_audit_logs()
    assert recorder.heads == []


def test_a_configured_proxy_is_used_not_bypassed(recorder: Recorder) -> None:
    # Configuration(proxy=...) is the caller's explicit choice: the request goes to it, in proxy form.
    api = own_api("http://127.0.0.1:9/v1", proxy=recorder.url.rsplit("/", 1)[0])
    with api.api_client:
        api.list_audit_logs(limit=2)
    assert recorder.heads[0].startswith(b"GET http://127.0.0.1:9/v1/organization/audit_logs?limit=2 HTTP/1.1")


def test_environment_proxy_still_carries_https(monkeypatch: pytest.MonkeyPatch, recorder: Recorder) -> None:
    # With HTTPS_PROXY set, an https host goes through httpx.Client and so through the proxy (a tunnel).
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", recorder.url.rsplit("/", 1)[0])
    monkeypatch.setenv("https_proxy", recorder.url.rsplit("/", 1)[0])
    client = ApiClient(Configuration(host="https://api.test/v1", access_token=KEY, max_retries=0))
    with client:
        assert client._direct is None
        with pytest.raises(ApiConnectionError):
            AuditLogsApi(client).list_audit_logs()  # the recorder answers the CONNECT with a page, not a tunnel
    assert recorder.heads[0].startswith(b"CONNECT api.test:443 HTTP/1.1")
    assert KEY.encode() not in recorder.heads[0]


def test_retry_log_names_the_path_only(caplog: pytest.LogCaptureFixture) -> None:
    server = Recorder(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
    try:
        api = own_api(server.url, max_retries=1)
        with api.api_client, caplog.at_level("INFO", logger=api_client.log.name), pytest.raises(ServiceException):
            api.list_audit_logs(after="audit_log-x")
        (line,) = [r.getMessage() for r in caplog.records if r.name == api_client.log.name]
        assert "GET /v1/organization/audit_logs in" in line and "audit_log-x" not in line and KEY not in line
    finally:
        server.close()


def test_threads_share_one_client(recorder: Recorder) -> None:
    # The archive's sync calls one client from several threads: the pool hands each its own connection.
    api = own_api(recorder.url)
    errors: list[BaseException] = []

    def walk() -> None:
        try:
            for _ in range(5):
                assert api.list_audit_logs(limit=1).data[0].id == "audit_log-d1"
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=walk) for _ in range(4)]
    with api.api_client:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert errors == [] and not any(t.is_alive() for t in threads)
    assert len(recorder.heads) == 20
    assert 1 <= recorder.connections <= 4


# -- the async twin ----------------------------------------------------------------------------------

async def test_async_direct_path_sends_the_bytes_httpx_sends(recorder: Recorder,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    config = Configuration(host=recorder.url, access_token=KEY, default_headers={"OpenAI-Organization": "org-1"})
    handed = httpx.AsyncClient(trust_env=False, follow_redirects=False)
    async with AsyncApiClient(config, http_client=handed) as client:
        await AsyncAuditLogsApi(client).list_audit_logs(**FILTERS, _headers={"X-Trace": "t1"})  # type: ignore[arg-type]
    await handed.aclose()

    async def no_send(*args: object, **kwargs: object) -> None:
        raise AssertionError("the direct path went through httpx.AsyncClient.send")

    with monkeypatch.context() as m:
        m.setattr(httpx.AsyncClient, "send", no_send)
        async with AsyncApiClient(config) as client:
            api = AsyncAuditLogsApi(client)
            await api.list_audit_logs(**FILTERS, _headers={"X-Trace": "t1"})  # type: ignore[arg-type]
            raw = await api.list_audit_logs_without_preload_content(limit=3)
    reference, direct, _ = recorder.heads
    assert direct == reference
    assert raw.is_closed and raw.content == BODY and raw.raise_for_status() is raw
    assert raw.request.url == httpx.URL(recorder.url + "/organization/audit_logs?limit=3")
    assert recorder.connections == 2  # the handed-in client's, then one kept alive for both of ours


async def test_async_gzip_refused_and_silent(sleeps: list[float]) -> None:
    squeezed = Recorder(answer(gzip.compress(BODY), "content-encoding: gzip"))
    silent = Recorder(b"")
    with socket.create_server(("127.0.0.1", 0)) as sock:
        refused = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    try:
        async with AsyncApiClient(Configuration(host=squeezed.url, access_token=KEY)) as client:
            info = await AsyncAuditLogsApi(client).list_audit_logs_with_http_info()
        assert info.raw_data == BODY and info.data.data[0].id == "audit_log-d1"
        async with AsyncApiClient(Configuration(host=refused, access_token=KEY, max_retries=0)) as client:
            with pytest.raises(ApiConnectionError, match="ConnectError"):
                await AsyncAuditLogsApi(client).list_audit_logs()
        async with AsyncApiClient(Configuration(host=silent.url, access_token=KEY, max_retries=0)) as client:
            with pytest.raises(ApiTimeoutError, match="ReadTimeout"):
                await AsyncAuditLogsApi(client).list_audit_logs(_request_timeout=0.2)
    finally:
        squeezed.close()
        silent.close()
