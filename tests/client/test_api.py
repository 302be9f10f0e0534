"""The API classes over a mocked transport: the three call shapes, sync and async, and async pagination."""

from __future__ import annotations

import httpx
import pytest

import openapiopenai
from openapiopenai import ApiResponse, AsyncAuditLogsApi, AuditLogsApi, PaginationError, ServiceException
from openapiopenai.models import ListAuditLogsResponse, LoginFailedEvent

from .conftest import HOST, KEY, Script, async_api, error, event, ok, page, sync_api


def test_list_with_http_info() -> None:
    body = page([event(1)])
    script = Script(ok(body, **{"x-request-id": "req_9"}))
    info = sync_api(script).list_audit_logs_with_http_info(limit=1)
    assert isinstance(info, ApiResponse)
    assert info.status_code == 200
    assert info.headers["X-Request-Id"] == "req_9" and info.request_id == "req_9"
    assert isinstance(info.data, ListAuditLogsResponse) and info.data.to_dict() == body
    assert info.raw_data == ok(body).content


def test_without_preload_content_is_the_raw_response_unchecked() -> None:
    script = Script(error(404, message="nope"))
    response = sync_api(script).list_audit_logs_without_preload_content(project_ids=["p"])
    assert isinstance(response, httpx.Response)
    assert response.status_code == 404 and response.json()["error"]["message"] == "nope"
    assert script.queries == ["project_ids%5B%5D=p"]


def test_api_rejects_the_wrong_client_kind() -> None:
    with pytest.raises(TypeError):
        AuditLogsApi(openapiopenai.AsyncApiClient(openapiopenai.Configuration(host=HOST, access_token=KEY)))
    with pytest.raises(TypeError):
        AsyncAuditLogsApi(openapiopenai.ApiClient(openapiopenai.Configuration(host=HOST, access_token=KEY)))


def test_given_http_client_is_used_and_not_closed() -> None:
    script = Script(ok(page([])))
    http = httpx.Client(transport=httpx.MockTransport(script))
    with openapiopenai.ApiClient(openapiopenai.Configuration(host=HOST, access_token=KEY),
                                 http_client=http) as client:
        assert client.http_client is http
        AuditLogsApi(client).list_audit_logs()
    assert not http.is_closed and len(script.requests) == 1
    http.close()


def test_owned_client_is_closed_on_exit() -> None:
    client = openapiopenai.ApiClient(openapiopenai.Configuration(host=HOST, access_token=KEY))
    with client:
        pass
    assert client.http_client.is_closed


# -- async -------------------------------------------------------------------------------------

async def test_async_list_and_the_call_shapes() -> None:
    body = page([event(1)])
    script = Script(ok(body), ok(body, **{"x-request-id": "req_a"}), ok(body))
    api = async_api(script)
    async with api.api_client:
        result = await api.list_audit_logs(event_types=["login.failed"], limit=5)
        assert type(result.data[0]) is LoginFailedEvent and result.to_dict() == body
        info = await api.list_audit_logs_with_http_info()
        assert info.status_code == 200 and info.request_id == "req_a" and info.data.to_dict() == body
        raw = await api.list_audit_logs_without_preload_content()
        assert isinstance(raw, httpx.Response) and raw.json() == body
    assert script.queries == ["event_types%5B%5D=login.failed&limit=5", "", ""]
    assert script.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert api.api_client.http_client.is_closed


async def test_async_iter_audit_logs_older() -> None:
    script = Script(ok(page([event(3), event(2)], has_more=True)), ok(page([event(1)])))
    api = async_api(script)
    it = api.iter_audit_logs(limit=2)
    assert script.requests == []  # lazy
    got = [e.id async for e in it]
    assert got == ["audit_log-3", "audit_log-2", "audit_log-1"]
    assert script.queries == ["limit=2", "limit=2&after=audit_log-2"]


async def test_async_iter_audit_logs_newer() -> None:
    script = Script(ok(page([event(3), event(2)], has_more=True)), ok(page([event(5), event(4)])))
    api = async_api(script)
    got = [e.id async for e in api.iter_audit_logs(before="audit_log-1", direction="newer", limit=2)]
    assert got == ["audit_log-2", "audit_log-3", "audit_log-4", "audit_log-5"]
    assert script.queries == ["limit=2&before=audit_log-1", "limit=2&before=audit_log-3"]


async def test_async_iter_pages_and_loop_protection() -> None:
    script = Script(ok(page([event(2)], has_more=True)), ok(page([event(2)], has_more=True)))
    pages = []
    with pytest.raises(PaginationError):
        async for p in async_api(script).iter_pages():
            pages.append(p)
    assert [p.last_id for p in pages] == ["audit_log-2", "audit_log-2"]


async def test_async_bad_arguments_raise_before_sending() -> None:
    script = Script()
    api = async_api(script)
    with pytest.raises(ValueError):
        await api.list_audit_logs(limit=0)
    with pytest.raises(ValueError):
        api.iter_audit_logs(effective_at={"gt": 1, "gte": 1})
    with pytest.raises(ValueError):
        api.iter_pages(direction="newer")
    with pytest.raises(ValueError):
        api.iter_audit_logs(before="audit_log-1")
    assert script.requests == []


async def test_async_errors_and_retries(sleeps: list[float]) -> None:
    script = Script(error(500), error(500), error(500, **{"x-request-id": "req_x"}))
    with pytest.raises(ServiceException) as info:
        await async_api(script).list_audit_logs()
    assert info.value.request_id == "req_x" and sleeps == [0.5, 1.0]


async def test_async_handler_coroutine_transport() -> None:
    # An async MockTransport handler (the shape an ASGI-backed test double has).
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok(page([event(7)]))

    client = openapiopenai.AsyncApiClient(openapiopenai.Configuration(host=HOST, access_token=KEY),
                                          transport=httpx.MockTransport(handler))
    async with client:
        result = await AsyncAuditLogsApi(client).list_audit_logs()
    assert result.data[0].id == "audit_log-7" and len(seen) == 1
