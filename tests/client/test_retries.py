"""Retries: what is retried, how long the client waits (the sleep is recorded, never taken), and what
is raised when the attempts run out. Every case runs through the sync and the async client."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from typing import Any

import httpx
import pytest

from openapiopenai import (
    ApiConnectionError,
    ApiException,
    ApiResponseValidationError,
    ApiTimeoutError,
    BadRequestException,
    ConflictException,
    ForbiddenException,
    NotFoundException,
    RateLimitException,
    ServiceException,
    UnauthorizedException,
    UnprocessableEntityException,
    _retry,
)
from openapiopenai._constants import (
    DEFAULT_MAX_RETRIES,
    INITIAL_RETRY_DELAY,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
)
from openapiopenai._retry import add_jitter as real_add_jitter
from openapiopenai._retry import parse_retry_after

from .conftest import Script, async_api, error, event, ok, page, sync_api

GOOD = page([event(1)])
MODES = ["sync", "async"]


def call(mode: str, script: Script, method: str = "list_audit_logs", cfg: dict[str, Any] | None = None,
         **kwargs: Any) -> Any:
    cfg = cfg or {}
    if mode == "sync":
        api = sync_api(script, **cfg)
        with api.api_client:
            return getattr(api, method)(**kwargs)

    async def run() -> Any:
        aapi = async_api(script, **cfg)
        async with aapi.api_client:
            return await getattr(aapi, method)(**kwargs)

    return asyncio.run(run())


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_defaults_are_the_documented_ones() -> None:
    assert (DEFAULT_MAX_RETRIES, INITIAL_RETRY_DELAY, MAX_RETRY_DELAY, MAX_RETRY_AFTER) == (2, 0.5, 8.0, 60.0)


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_retryable_status_is_retried_then_succeeds(mode: str, status: int, sleeps: list[float]) -> None:
    script = Script(error(status), error(status), ok(GOOD))
    result = call(mode, script)
    assert [e.id for e in result.data] == ["audit_log-1"]
    assert len(script.requests) == 3 and script.done()
    assert sleeps == [0.5, 1.0]
    # The same request every time (same query, same key).
    assert len({(str(r.url), r.headers["authorization"]) for r in script.requests}) == 1


@pytest.mark.parametrize(("status", "cls"), [
    (408, ApiException), (409, ConflictException), (429, RateLimitException),
    (500, ServiceException), (502, ServiceException), (503, ServiceException), (504, ServiceException),
])
def test_retries_exhausted_raise_the_status_class(mode: str, status: int, cls: type[ApiException],
                                                  sleeps: list[float]) -> None:
    script = Script(error(status), error(status), error(status, message="last one", **{"x-request-id": "req_3"}))
    with pytest.raises(cls) as info:
        call(mode, script)
    assert type(info.value) is cls
    assert info.value.status == status and info.value.message == "last one" and info.value.request_id == "req_3"
    assert len(script.requests) == 3 and sleeps == [0.5, 1.0]


@pytest.mark.parametrize(("status", "cls"), [
    (400, BadRequestException), (401, UnauthorizedException), (403, ForbiddenException),
    (404, NotFoundException), (422, UnprocessableEntityException),
])
def test_client_errors_are_not_retried(mode: str, status: int, cls: type[ApiException], sleeps: list[float]) -> None:
    script = Script(error(status))
    with pytest.raises(cls):
        call(mode, script)
    assert len(script.requests) == 1 and sleeps == []


def test_retry_after_seconds_is_honoured(mode: str, sleeps: list[float]) -> None:
    script = Script(error(429, **{"retry-after": "3"}), error(503, **{"retry-after": "0.25"}), ok(GOOD))
    call(mode, script)
    assert sleeps == [3.0, 0.25]


def test_retry_after_http_date_is_honoured(mode: str, sleeps: list[float]) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    script = Script(error(429, **{"retry-after": when}), ok(GOOD))
    call(mode, script)
    (delay,) = sleeps
    assert 28.0 < delay <= 30.0


@pytest.mark.parametrize("value", ["3600", str(MAX_RETRY_AFTER + 1), "soon", "-5x"])
def test_retry_after_over_the_cap_or_garbled_falls_back_to_backoff(mode: str, value: str,
                                                                     sleeps: list[float]) -> None:
    script = Script(error(429, **{"retry-after": value}), error(429, **{"retry-after": value}), ok(GOOD))
    call(mode, script)
    assert sleeps == [0.5, 1.0]


def test_retry_after_at_the_cap_is_honoured(mode: str, sleeps: list[float]) -> None:
    script = Script(error(429, **{"retry-after": "60"}), ok(GOOD))
    call(mode, script)
    assert sleeps == [60.0]


def test_parse_retry_after() -> None:
    assert parse_retry_after(None) is None and parse_retry_after("") is None and parse_retry_after("x") is None
    assert parse_retry_after(" 7 ") == 7.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0


def test_backoff_doubles_and_caps(mode: str, sleeps: list[float]) -> None:
    script = Script(*[error(500)] * 7, ok(GOOD))
    call(mode, script, cfg={"max_retries": 7})
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert len(script.requests) == 8


def test_jitter_shortens_the_backoff_by_at_most_a_quarter(monkeypatch: pytest.MonkeyPatch, mode: str,
                                                          sleeps: list[float]) -> None:
    monkeypatch.setattr(_retry, "add_jitter", real_add_jitter)
    draws = iter([1.0, 0.0, 0.5])
    monkeypatch.setattr(_retry.random, "random", lambda: next(draws))
    script = Script(error(500), error(500), error(500), ok(GOOD))
    call(mode, script, cfg={"max_retries": 3})
    assert sleeps == [0.375, 1.0, 1.75]


def test_jitter_is_not_applied_to_retry_after(monkeypatch: pytest.MonkeyPatch, sleeps: list[float]) -> None:
    monkeypatch.setattr(_retry, "add_jitter", lambda d: pytest.fail("jitter on a server-directed delay"))
    call("sync", Script(error(429, **{"retry-after": "2"}), ok(GOOD)))
    assert sleeps == [2.0]


@pytest.mark.parametrize("exc", [httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError,
                                 httpx.WriteError, httpx.PoolTimeout])
def test_transport_failures_are_retried(mode: str, exc: type[Exception], sleeps: list[float]) -> None:
    script = Script(exc("failure"), exc("failure"), ok(GOOD))
    assert call(mode, script).data[0].id == "audit_log-1"
    assert len(script.requests) == 3 and sleeps == [0.5, 1.0]


@pytest.mark.parametrize("exc", [httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError])
def test_transport_failures_exhausted_raise_api_connection_error(mode: str, exc: type[Exception]) -> None:
    script = Script(*[exc("connection reset by peer")] * 3)
    with pytest.raises(ApiConnectionError) as info:
        call(mode, script)
    assert type(info.value) is ApiConnectionError
    assert exc.__name__ in str(info.value) and "connection reset by peer" in str(info.value)
    assert info.value.status is None
    assert len(script.requests) == 3


@pytest.mark.parametrize("exc", [httpx.ConnectTimeout, httpx.ReadTimeout])
def test_timeouts_are_retried_then_raise_api_timeout_error(mode: str, exc: type[Exception],
                                                           sleeps: list[float]) -> None:
    script = Script(*[exc("timed out")] * 3)
    with pytest.raises(ApiTimeoutError) as info:
        call(mode, script)
    assert isinstance(info.value, ApiConnectionError)
    assert len(script.requests) == 3 and sleeps == [0.5, 1.0]
    script = Script(exc("timed out"), ok(GOOD))
    assert call(mode, script).data


BODY = ok(GOOD).content


@pytest.mark.parametrize("body", [BODY[: len(BODY) // 2], b"<html>502 Bad Gateway</html>", b"",
                                  BODY.replace(b'"id"', b'"id', 1)],
                         ids=["truncated", "html", "empty", "garbled event"])
def test_unreadable_body_is_retried_then_raises_validation_error(mode: str, body: bytes,
                                                                 sleeps: list[float]) -> None:
    script = Script(*[ok(body)] * 3)
    with pytest.raises(ApiResponseValidationError) as info:
        call(mode, script)
    assert info.value.status == 200 and "unreadable" in str(info.value)
    assert len(script.requests) == 3 and sleeps == [0.5, 1.0]
    script = Script(ok(body), ok(GOOD))
    assert call(mode, script).data[0].id == "audit_log-1"


def test_garbled_compressed_body_is_retried_and_stays_in_the_tree(mode: str, sleeps: list[float]) -> None:
    # httpx raises DecodingError (not a TransportError) for a body that fails to decompress.
    def garbled(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-encoding": "gzip"}, stream=httpx.ByteStream(b"not gzip at all"))

    script = Script(garbled, garbled, garbled)
    with pytest.raises(ApiConnectionError):
        call(mode, script)
    assert len(script.requests) == 3
    script = Script(garbled, ok(GOOD))
    assert call(mode, script).data


@pytest.mark.parametrize("body", [b'{"object": "list"}', b'{"data": 5}', b"[]", b'{"data": [1]}',
                                  b'{"data": [{"id": 1, "type": "x", "effective_at": 1}]}'],
                         ids=["no data", "data not list", "not object", "event not object", "id not string"])
def test_valid_json_of_the_wrong_shape_is_not_retried(mode: str, body: bytes, sleeps: list[float]) -> None:
    script = Script(ok(body))
    with pytest.raises(ApiResponseValidationError):
        call(mode, script)
    assert len(script.requests) == 1 and sleeps == []


def test_max_retries_zero_disables(mode: str, sleeps: list[float]) -> None:
    script = Script(error(503))
    with pytest.raises(ServiceException):
        call(mode, script, cfg={"max_retries": 0})
    script = Script(httpx.ConnectError("refused"))
    with pytest.raises(ApiConnectionError):
        call(mode, script, _max_retries=0)
    script = Script(ok(b"{"))
    with pytest.raises(ApiResponseValidationError):
        call(mode, script, cfg={"retries": 0})
    assert sleeps == []


def test_per_call_max_retries_overrides_configuration(mode: str, sleeps: list[float]) -> None:
    script = Script(error(500), error(500), error(500), error(500), ok(GOOD))
    call(mode, script, cfg={"max_retries": 0}, _max_retries=4)
    assert len(script.requests) == 5 and sleeps == [0.5, 1.0, 2.0, 4.0]


@pytest.mark.parametrize("method", ["list_audit_logs_with_http_info", "list_audit_logs_without_preload_content"])
def test_every_method_retries(mode: str, method: str) -> None:
    script = Script(error(502), httpx.ReadError("reset"), ok(GOOD))
    result = call(mode, script, method=method)
    assert result.status_code == 200
    assert len(script.requests) == 3


def test_without_preload_content_returns_the_last_error_response(mode: str) -> None:
    script = Script(error(500), error(500), error(500, message="final"))
    response = call(mode, script, method="list_audit_logs_without_preload_content")
    assert isinstance(response, httpx.Response)
    assert response.status_code == 500 and b"final" in response.content


def test_pagination_retries_each_page(sleeps: list[float]) -> None:
    script = Script(ok(page([event(2)], has_more=True)), error(503), ok(page([event(1)])))
    got = [e.id for e in sync_api(script).iter_audit_logs()]
    assert got == ["audit_log-2", "audit_log-1"]
    assert script.queries[1] == script.queries[2] == "limit=100&after=audit_log-2"
    assert sleeps == [0.5]


def test_retries_are_logged_without_query_or_key(mode: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    call(mode, Script(error(503), ok(GOOD)), actor_emails=["private@example.com"])
    (line,) = [r.getMessage() for r in caplog.records if r.name == "openapiopenai"]
    assert line == "retrying GET /v1/organization/audit_logs in 0.50s (HTTP 503; retry 1 of 2)"
