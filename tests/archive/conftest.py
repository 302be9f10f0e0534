"""Fixtures for the archive tests.

`fake_service`: a tiny in-memory audit-log service behind ``httpx.MockTransport``, for the sync's guards.

It answers like the live service (newest first by (effective_at, id), `after` cursors, the time and type
filters) and can be told to misbehave in the ways the sync must catch. Requests it does not expect fail
the test.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

import openapiopenai


def make_event(i: int, at: int, event_type: str = "login.succeeded") -> dict[str, Any]:
    return {
        "id": f"audit_log-{i:06d}",
        "type": event_type,
        "effective_at": at,
        "actor": {"type": "session", "session": {"user": {"id": f"user-{i % 3}", "email": f"u{i % 3}@example.com"},
                                                 "ip_address": f"10.0.0.{i % 7}"}},
        event_type: {"id": f"res_{i % 5}"},
    }


class FakeService:
    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = sorted(events, key=lambda e: (e["effective_at"], e["id"]), reverse=True)
        self.requests: list[dict[str, Any]] = []
        self.ignore_time_filter = False
        self.repeat_cursor = False
        self.empty_has_more = False
        self.forgotten: set[str] = set()
        self.shuffle_page = False
        #: Seams for tests that force an interleaving: called in the fetcher's thread before and after
        #: the answer is made.
        self.before_answer: Callable[[httpx.Request], None] | None = None
        self.after_answer: Callable[[httpx.Request, httpx.Response], None] | None = None

    def raw(self, event: dict[str, Any]) -> str:
        # Not the encoder's default spacing, so a re-encoded event would not match byte for byte.
        return json.dumps(event, separators=(", ", ": "))

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.before_answer is not None:
            self.before_answer(request)
        response = self._answer(request)
        if self.after_answer is not None:
            self.after_answer(request, response)
        return response

    def _answer(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/organization/audit_logs", request.url
        params = request.url.params
        q = {"gte": params.get("effective_at[gte]"), "lt": params.get("effective_at[lt]"),
             "after": params.get("after"), "limit": int(params.get("limit", "20")),
             "types": params.get_list("event_types[]")}
        self.requests.append(q)
        selected = self.events
        if not self.ignore_time_filter:
            if q["gte"] is not None:
                selected = [e for e in selected if e["effective_at"] >= int(q["gte"])]
            if q["lt"] is not None:
                selected = [e for e in selected if e["effective_at"] < int(q["lt"])]
        if q["types"]:
            selected = [e for e in selected if e["type"] in q["types"]]
        if q["after"] is not None:
            if q["after"] in self.forgotten:
                body = {"error": {"message": "unknown cursor", "type": "invalid_request_error",
                                  "param": "after", "code": None}}
                return httpx.Response(400, json=body)
            # A cursor is a place in the whole listing, not in this query's answer: the page goes on from
            # the events older than it that match (as the emulator and the live service do). A walk whose
            # slice was cut above its position sends one outside the new range and must get an empty page.
            cursor = next((e for e in self.events if e["id"] == q["after"]), None)
            if cursor is None:
                body = {"error": {"message": f"no event {q['after']}", "type": "invalid_request_error",
                                  "param": "after", "code": None}}
                return httpx.Response(400, json=body)
            at = (cursor["effective_at"], cursor["id"])
            pos = sum(1 for e in selected if (e["effective_at"], e["id"]) >= at)
            if self.repeat_cursor and pos > q["limit"]:
                pos -= q["limit"]   # hands back the previous page again
            selected = selected[pos:]
        page = selected[: q["limit"]]
        has_more = len(selected) > q["limit"]
        if self.empty_has_more and q["after"] is not None:
            page, has_more = [], True
        if self.shuffle_page and len(page) > 1:
            page = list(reversed(page))
        data = ", ".join(self.raw(e) for e in page)
        body = (f'{{"object": "list", "data": [{data}], "first_id": {json.dumps(page[0]["id"] if page else None)}, '
                f'"last_id": {json.dumps(page[-1]["id"] if page else None)}, "has_more": {json.dumps(has_more)}}}')
        return httpx.Response(200, content=body.encode(), headers={"content-type": "application/json"})


FakeFactory = Callable[[list[dict[str, Any]]], tuple[FakeService, openapiopenai.AuditLogsApi]]


@pytest.fixture
def fake_service() -> Iterator[FakeFactory]:
    """``fake_service(events) -> (service, api)``: an API client talking to a fresh FakeService."""
    clients: list[openapiopenai.ApiClient] = []

    def make(events: list[dict[str, Any]]) -> tuple[FakeService, openapiopenai.AuditLogsApi]:
        service = FakeService(events)
        config = openapiopenai.Configuration(host="https://audit.test/v1", access_token="sk-admin-fake",
                                             max_retries=0)
        client = openapiopenai.ApiClient(config, transport=httpx.MockTransport(service.handler))
        clients.append(client)
        return service, openapiopenai.AuditLogsApi(client)

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def event_maker() -> Callable[..., dict[str, Any]]:
    """``event_maker(i, at, type="login.succeeded")``: a complete event with a session actor."""
    return make_event


@pytest.fixture
def api_for() -> Iterator[Callable[..., openapiopenai.AuditLogsApi]]:
    """``api_for(emu, max_retries=2)``: a client for an emulator, closed at teardown."""
    clients: list[openapiopenai.ApiClient] = []

    def make(emu: Any, *, max_retries: int = 2) -> openapiopenai.AuditLogsApi:
        config = openapiopenai.Configuration(host=emu.base_url, access_token=emu.admin_key, max_retries=max_retries)
        client = openapiopenai.ApiClient(config)
        clients.append(client)
        return openapiopenai.AuditLogsApi(client)

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries still happen, but their backoff waits (the client's and the sync's) are cut to at most 0.1 s."""
    import time

    from openapiopenai import api_client
    from openapiopenai.archive import _pacing

    monkeypatch.setattr(api_client, "_sleep", lambda seconds: time.sleep(min(seconds, 0.1)))
    monkeypatch.setattr(_pacing, "_wait", lambda stop, seconds: stop.wait(min(seconds, 0.1)))
