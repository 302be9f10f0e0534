"""The sync's own reading of a page (`_page.read_page`): exact bytes, and every bad answer the exception
the public client gives for it, so the shared retry budget treats it as before."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import openapiopenai
from openapiopenai.archive import Archive, sync_archive
from openapiopenai.archive import _sync as sync_module
from openapiopenai.archive._page import EventHead, read_page
from openapiopenai.exceptions import (
    ApiException,
    ApiResponseValidationError,
    RateLimitException,
    ServiceException,
)

Answer = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def api_answering() -> Iterator[Callable[[Answer], openapiopenai.AuditLogsApi]]:
    clients: list[openapiopenai.ApiClient] = []

    def make(answer: Answer) -> openapiopenai.AuditLogsApi:
        config = openapiopenai.Configuration(host="https://audit.test/v1", access_token="sk-admin-fake")
        client = openapiopenai.ApiClient(config, transport=httpx.MockTransport(answer))
        clients.append(client)
        return openapiopenai.AuditLogsApi(client)

    yield make
    for client in clients:
        client.close()


def _body(text: str, status: int = 200, **headers: str) -> Answer:
    return lambda request: httpx.Response(status, content=text.encode(), headers=headers)


EVENT = '{"id" : "audit_log-1",  "type":"login.succeeded","effective_at":  7, "note": "caf\\u00e9 \u00e9"}'


def test_a_page_keeps_each_event_s_exact_bytes(api_answering: Any) -> None:
    # An envelope key newer than the spec is no business of the archive's; a missing has_more means no more.
    api = api_answering(_body(f'{{"data": [ {EVENT} ,{EVENT.replace("-1", "-2")}], "brand_new": 1}}'))
    page = read_page(api, limit=2)
    assert [bytes(r).decode() for r in page.raws] == [EVENT, EVENT.replace("-1", "-2")]
    assert page.heads == [EventHead("audit_log-1", "login.succeeded", 7), EventHead("audit_log-2", "login.succeeded", 7)]
    assert page.has_more is False
    assert read_page(api_answering(_body('{"data": [], "has_more": true}')), limit=2).has_more is True


@pytest.mark.parametrize(("body", "says"), [
    ('{"data": [{"id": "a", "type": "t", "eff', "unreadable response body"),                # cut short
    ("<html>bad gateway</html>", "unreadable response body"),
    ('{"object": "list"}', "not an audit-log page"),                                        # no data
    ('{"data": [{"id": "a", "type": "t"}], "has_more": false}', "not an audit-log page"),   # no effective_at
    ('{"data": [{"id": "a", "type": "t", "effective_at": true}]}', "not an audit-log page"),
    ('{"data": [{"id": 5, "type": "t", "effective_at": 1}]}', "not an audit-log page"),
])
def test_a_body_that_is_no_page_is_a_validation_error(api_answering: Any, body: str, says: str) -> None:
    with pytest.raises(ApiResponseValidationError, match=says) as caught:
        read_page(api_answering(_body(body)), limit=2)
    assert caught.value.status == 200


def test_error_statuses_are_the_client_s_exceptions(api_answering: Any) -> None:
    error = json.dumps({"error": {"message": "slow down", "type": "rate_limit", "param": None, "code": None}})
    with pytest.raises(RateLimitException, match="slow down") as limited:
        read_page(api_answering(_body(error, 429, **{"retry-after": "3"})), limit=2)
    assert limited.value.retry_after == 3
    with pytest.raises(ServiceException):
        read_page(api_answering(_body("oops", 503)), limit=2)
    with pytest.raises(ApiException) as bad:
        read_page(api_answering(_body('{"error": {"message": "no"}}', 400)), limit=2)
    assert bad.value.status == 400


def test_read_page_sends_no_retry_of_its_own(api_answering: Any) -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(503, content=b"busy")

    with pytest.raises(ServiceException):
        read_page(api_answering(answer), limit=2, effective_at={"lt": 10})
    assert len(sent) == 1   # the sync's shared budget (`_pacing`) decides about retrying
    assert sent[0].url.params["effective_at[lt]"] == "10"


def test_a_sync_rides_out_bodies_cut_short(tmp_path: Path, api_answering: Any,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("openapiopenai.archive._pacing._wait", lambda stop, seconds: stop.is_set())
    events = [{"id": f"audit_log-{i}", "type": "login.succeeded", "effective_at": 100 - i} for i in range(5)]
    calls = [0]

    def answer(request: httpx.Request) -> httpx.Response:
        calls[0] += 1
        body = json.dumps({"object": "list", "data": events, "has_more": False}).encode()
        return httpx.Response(200, content=body[:40] if calls[0] % 2 else body)   # every other one truncated

    with Archive(tmp_path / "a.sqlite") as archive:
        result = sync_archive(api_answering(answer), archive, clock=lambda: 1000)
        assert (result.inserted, result.retries) == (5, 1)
        assert [r["raw"] for r in archive.iter_rows()] == [json.dumps(e) for e in events]


def test_a_walk_hands_the_gil_over_promptly_and_then_restores_it(tmp_path: Path, fake_service: Any,
                                                                 event_maker: Any) -> None:
    _, api = fake_service([event_maker(i, 1000 + i) for i in range(30)])
    before = sys.getswitchinterval()
    seen: list[float] = []
    with Archive(tmp_path / "a.sqlite") as archive:
        sync_archive(api, archive, page_size=10, clock=lambda: 5000, progress=lambda n: seen.append(sys.getswitchinterval()))
    assert seen and set(seen) == {min(before, sync_module._SWITCH_INTERVAL_S)}
    assert sys.getswitchinterval() == before
