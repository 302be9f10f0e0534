"""Helpers for the client tests: a scripted ``httpx.MockTransport`` and a recorded sleep.

The handler serves the responses it was given, in order, and fails the test on any request it did not
expect (githubkit's habit): a test that sends one request too many, or one at all when it should have
raised first, fails loudly instead of passing by accident.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

import openapiopenai
from openapiopenai import _retry, api_client

KEY = "sk-admin-SECRETSECRET"
HOST = "https://api.test/v1"
PATH = "/v1/organization/audit_logs"

Step = httpx.Response | BaseException | Callable[[httpx.Request], "httpx.Response | BaseException"]


class Script:
    """A MockTransport handler that serves ``steps`` in order and raises on any further request."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.steps:
            raise AssertionError(f"unexpected request: {request.method} {request.url}")
        step = self.steps.pop(0)
        if callable(step) and not isinstance(step, BaseException):
            step = step(request)
        if isinstance(step, BaseException):
            raise step
        return step

    @property
    def queries(self) -> list[str]:
        return [r.url.query.decode() for r in self.requests]

    def done(self) -> bool:
        return not self.steps


def event(i: int | str = 1, type: str = "login.failed", effective_at: int = 1_700_000_000, **extra: Any) -> dict[str, Any]:
    return {"id": f"audit_log-{i}", "type": type, "effective_at": effective_at,
            "actor": {"type": "session", "session": {"user": {"id": "user-1", "email": "a@example.com"},
                                                     "ip_address": "10.0.0.1"}},
            **extra}


def page(events: list[dict[str, Any]], has_more: bool = False, **extra: Any) -> dict[str, Any]:
    return {"object": "list", "data": events,
            "first_id": events[0]["id"] if events else None,
            "last_id": events[-1]["id"] if events else None,
            "has_more": has_more, **extra}


def ok(body: dict[str, Any] | bytes, status: int = 200, **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers={"content-type": "application/json", **headers})


def error(status: int, message: str = "boom", type: str = "invalid_request_error", code: str | None = "bad",
          param: str | None = None, **headers: str) -> httpx.Response:
    body = {"error": {"message": message, "type": type, "param": param, "code": code}}
    return ok(body, status, **headers)


def config(**kw: Any) -> openapiopenai.Configuration:
    kw.setdefault("host", HOST)
    kw.setdefault("access_token", KEY)
    return openapiopenai.Configuration(**kw)


def sync_api(script: Script, **cfg: Any) -> openapiopenai.AuditLogsApi:
    client = openapiopenai.ApiClient(config(**cfg), transport=httpx.MockTransport(script))
    return openapiopenai.AuditLogsApi(client)


def async_api(script: Script, **cfg: Any) -> openapiopenai.AsyncAuditLogsApi:
    client = openapiopenai.AsyncApiClient(config(**cfg), transport=httpx.MockTransport(script))
    return openapiopenai.AsyncAuditLogsApi(client)


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """Every wait the client asks for, in order; nothing in these tests really sleeps.

    Jitter is pinned to the identity so delays are exact; the jitter test patches it back.
    """
    waits: list[float] = []

    async def async_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(api_client, "_sleep", waits.append)
    monkeypatch.setattr(api_client, "_async_sleep", async_sleep)
    monkeypatch.setattr(_retry, "add_jitter", lambda delay: delay)
    yield waits

