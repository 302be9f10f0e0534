"""The admin key: never shown, never sent in clear text off the machine, TLS verified by default."""

from __future__ import annotations

import asyncio
import logging
import pickle
import socket
import ssl
import traceback

import httpx
import pytest

import openapiopenai
from openapiopenai import (
    ApiClient,
    ApiConnectionError,
    AsyncApiClient,
    AsyncAuditLogsApi,
    AuditLogsApi,
    Configuration,
    UnauthorizedException,
)

from .conftest import KEY, Script, error, ok, page, sync_api

SECRET = "SECRETSECRET"  # the distinctive part of KEY: not even a fragment may leak


def shown(*objects: object) -> str:
    return "\n".join(f"{o!r}\n{o!s}" for o in objects)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_key_not_in_any_repr_or_str() -> None:
    config = Configuration(access_token=KEY)
    client = ApiClient(config)
    async_client = AsyncApiClient(Configuration(access_token=KEY))
    text = shown(config, client, async_client, AuditLogsApi(client), AsyncAuditLogsApi(async_client))
    assert SECRET not in text
    assert "access_token='***'" in repr(config)
    assert config.access_token == KEY  # still usable
    client.close()
    asyncio.run(async_client.close())


def test_key_not_in_a_401() -> None:
    script = Script(error(401, message="Incorrect API key provided: sk-admin-****CRET.", code="invalid_api_key"))
    with pytest.raises(UnauthorizedException) as info:
        sync_api(script).list_audit_logs()
    exc = info.value
    rendered = shown(exc) + "".join(traceback.format_exception(exc)) + repr(exc.headers) + repr(exc.body)
    assert SECRET not in rendered


def test_key_not_in_connection_errors_or_logs_over_real_sockets(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("openapiopenai", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    config = Configuration(host=f"http://127.0.0.1:{closed_port()}/v1", access_token=KEY)
    with ApiClient(config) as client, pytest.raises(ApiConnectionError) as info:
        AuditLogsApi(client).list_audit_logs(limit=5)
    exc = info.value
    assert "ConnectError" in str(exc)
    assert SECRET not in shown(exc) + "".join(traceback.format_exception(exc))
    records = [r for r in caplog.records if r.name.split(".")[0] in ("openapiopenai", "httpx", "httpcore")]
    assert any(r.name == "openapiopenai" and "retrying" in r.getMessage() for r in records)
    for record in records:
        assert SECRET not in record.getMessage()
        assert SECRET not in repr(record.args)


def test_key_not_in_logs_of_retried_responses(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    script = Script(error(503), httpx.ReadError("reset"), error(401))
    with pytest.raises(UnauthorizedException):
        sync_api(script).list_audit_logs(actor_ids=["user-1"])
    assert len(caplog.records) >= 2
    for record in caplog.records:
        assert SECRET not in record.getMessage() and SECRET not in repr(record.args)


@pytest.mark.parametrize("host", ["http://example.com", "http://api.openai.com/v1", "http://10.0.0.1:8080",
                                  "http://0.0.0.0:8000", "http://localhost.evil.com", "http://127.0.0.1.nip.io"])
def test_plain_http_to_another_machine_is_refused(host: str) -> None:
    for cls in (ApiClient, AsyncApiClient):
        with pytest.raises(ValueError, match="refusing to send the admin key over plain http") as info:
            cls(Configuration(host=host, access_token=KEY))
        assert SECRET not in str(info.value)
        cls(Configuration(host=host, access_token=KEY, allow_insecure_http=True))
    ApiClient(Configuration(host=host))  # no key, nothing to protect


def test_env_key_is_protected_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_ADMIN_KEY", KEY)
    with pytest.raises(ValueError, match="plain http"):
        ApiClient(Configuration(host="http://example.com"))


def test_key_set_after_the_client_is_built_is_checked_before_sending() -> None:
    script = Script()
    client = ApiClient(Configuration(host="http://example.com", access_token=None),
                       transport=httpx.MockTransport(script))
    client.configuration.access_token = KEY
    with pytest.raises(ValueError, match="plain http"):
        AuditLogsApi(client).list_audit_logs()
    assert script.requests == []


@pytest.mark.parametrize("host", ["http://127.0.0.1:8080/v1", "http://127.3.2.1", "http://localhost:9/v1",
                                  "http://LOCALHOST", "http://[::1]:8000/v1", "http://app.localhost"])
def test_loopback_over_plain_http_is_allowed(host: str) -> None:
    script = Script(ok(page([])))
    client = ApiClient(Configuration(host=host, access_token=KEY), transport=httpx.MockTransport(script))
    AuditLogsApi(client).list_audit_logs()
    assert script.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_tls_verification_is_on_by_default() -> None:
    with ApiClient(Configuration(access_token=KEY)) as client:
        context = client.http_client._transport._pool._ssl_context  # type: ignore[attr-defined]
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    with ApiClient(Configuration(access_token=KEY, verify_ssl=False)) as client:
        context = client.http_client._transport._pool._ssl_context  # type: ignore[attr-defined]
        assert context.verify_mode == ssl.CERT_NONE
    assert Configuration().verify_ssl is True


def test_default_host_is_https_openai() -> None:
    assert Configuration().host == "https://api.openai.com/v1"


@pytest.mark.parametrize("host", ["ftp://example.com", "api.openai.com/v1", "https://"])
def test_host_must_be_an_http_url(host: str) -> None:
    with pytest.raises(ValueError, match="host"):
        Configuration(host=host)


def test_access_token_falls_back_to_openai_admin_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_ADMIN_KEY", KEY)
    assert Configuration().access_token == KEY
    assert Configuration(access_token="sk-admin-explicit").access_token == "sk-admin-explicit"
    script = Script(ok(page([])))
    client = ApiClient(Configuration(host="https://api.test/v1"), transport=httpx.MockTransport(script))
    AuditLogsApi(client).list_audit_logs()
    assert script.requests[0].headers["authorization"] == f"Bearer {KEY}"
    monkeypatch.delenv("OPENAI_ADMIN_KEY")
    assert Configuration().access_token is None
    assert repr(Configuration()).count("access_token=None") == 1


def test_configuration_still_pickles() -> None:
    # multiprocessing needs it; the key travels only inside the pickle.
    again = pickle.loads(pickle.dumps(Configuration(access_token=KEY, max_retries=4)))
    assert again.access_token == KEY and again.max_retries == 4


def test_user_agent_names_the_package() -> None:
    assert openapiopenai.api_client.USER_AGENT.startswith(f"openapiopenai/{openapiopenai.__version__} (python ")
    assert SECRET not in openapiopenai.api_client.USER_AGENT


def test_plain_http_ignores_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # A proxy named by HTTP_PROXY would receive the key in clear text even for a loopback host.
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example.com:3128")
    plain = openapiopenai.ApiClient(openapiopenai.Configuration(host="http://127.0.0.1:9/v1", access_token=KEY))
    tls = openapiopenai.ApiClient(openapiopenai.Configuration(host="https://api.example.com/v1", access_token=KEY))
    try:
        assert plain.http_client.trust_env is False
        assert tls.http_client.trust_env is True
    finally:
        plain.close()
        tls.close()
