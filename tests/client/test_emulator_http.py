"""The client against the project's emulator over real HTTP: filters the service actually reads,
pagination both ways, byte-exact events, the three call shapes, errors, async."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import openapiopenai
from openapiopenai import (
    ApiException,
    AsyncApiClient,
    AsyncAuditLogsApi,
    AuditLogsApi,
    Configuration,
    UnauthorizedException,
)
from openapiopenai.models import AuditLog, LoginFailedEvent

PROJECT = "proj_clienttests"
BASE_TS = 1_990_000_000  # later than anything generated, so these events are the newest


def ours(i: int, **extra: Any) -> dict[str, Any]:
    kind = ["login.failed", "project.updated", "api_key.created"][i % 3]
    user = {"id": f"user-ct{i % 4}", "email": f"ct{i % 4}@example.com"}
    return {
        "id": f"audit_log-ct{i:03d}",
        "type": kind,
        # Pairs of events share a second, so the id tie-break of the listing order is exercised.
        "effective_at": BASE_TS + i // 2,
        "project": {"id": PROJECT, "name": "Client tests"},
        "actor": {"type": "session", "session": {"user": user, "ip_address": "127.0.0.1", "ja3": f"ja3-{i}"}},
        kind: {"id": f"res_ct{i % 5}"},
        **extra,
    }


N = 23


@pytest.fixture
def seeded(emulator: Any) -> Any:
    emulator.insert_events([ours(i) for i in range(N)])
    return emulator


@pytest.fixture
def api(seeded: Any) -> Any:
    config = Configuration(host=seeded.base_url, access_token=seeded.admin_key)
    with openapiopenai.ApiClient(config) as client:
        yield AuditLogsApi(client)


def expected(emulator: Any, **filters: Any) -> list[str]:
    return [e["id"] for e in emulator.store.all_events(**filters)]


def test_older_walk_matches_the_store(seeded: Any, api: AuditLogsApi) -> None:
    got = [e.id for e in api.iter_audit_logs(project_ids=[PROJECT], limit=5)]
    want = expected(seeded, project_ids=[PROJECT])
    assert len(want) == N and got == want


def test_events_are_byte_exact_over_http(seeded: Any, api: AuditLogsApi) -> None:
    for event in api.iter_audit_logs(project_ids=[PROJECT], limit=10):
        assert event.raw_json == seeded.store.raw(event.id)
        assert event.actor.session.ja3 == f"ja3-{int(event.id[-3:])}"


def test_newer_walk_yields_oldest_first(seeded: Any, api: AuditLogsApi) -> None:
    want = expected(seeded, project_ids=[PROJECT])  # newest first
    oldest = want[-1]
    got = [e.id for e in api.iter_audit_logs(project_ids=[PROJECT], before=oldest, direction="newer", limit=4)]
    assert got == list(reversed(want[:-1]))


def test_iter_pages_over_http(api: AuditLogsApi) -> None:
    pages = list(api.iter_pages(project_ids=[PROJECT], limit=5))
    assert [len(p.data) for p in pages] == [5, 5, 5, 5, 3]
    assert [p.has_more for p in pages] == [True, True, True, True, False]
    assert all(p.first_id == p.data[0].id and p.last_id == p.data[-1].id for p in pages)


@pytest.mark.parametrize(("name", "values"), [
    ("event_types", ["login.failed", "api_key.created"]),
    ("actor_ids", ["user-ct1", "user-ct2"]),
    ("actor_emails", ["ct3@example.com"]),
    ("resource_ids", ["res_ct0", "res_ct4"]),
])
def test_each_list_filter_is_read_by_the_service(seeded: Any, api: AuditLogsApi, name: str,
                                                 values: list[str]) -> None:
    got = [e.id for e in api.iter_audit_logs(project_ids=[PROJECT], limit=100, **{name: values})]
    want = expected(seeded, project_ids=[PROJECT], **{name: values})
    assert got == want
    assert 0 < len(got) < N  # the filter really narrowed the page: it was not silently dropped


@pytest.mark.parametrize("bounds", [{"gte": BASE_TS + 3}, {"gt": BASE_TS + 3}, {"lt": BASE_TS + 5},
                                    {"lte": BASE_TS + 5}, {"gte": BASE_TS + 2, "lt": BASE_TS + 6}])
def test_time_filter_is_read_by_the_service(seeded: Any, api: AuditLogsApi, bounds: dict[str, int]) -> None:
    got = [e.id for e in api.iter_audit_logs(project_ids=[PROJECT], effective_at=bounds)]
    want = expected(seeded, project_ids=[PROJECT], effective_at=bounds)
    assert got == want and 0 < len(got) < N


def test_unknown_type_and_extra_fields_over_http(seeded: Any, api: AuditLogsApi) -> None:
    sent = {"id": "audit_log-ctnew", "type": "made.up.http", "effective_at": BASE_TS + 100,
            "project": {"id": PROJECT}, "brand_new": {"k": [1, "é"]},
            "made.up.http": {"what": "ever"}}
    seeded.insert_events([sent])
    (event,) = api.list_audit_logs(project_ids=[PROJECT], limit=1).data
    assert type(event) is AuditLog and event.type == "made.up.http" and not event.type.is_known
    assert event.brand_new == {"k": [1, "é"]}
    assert event.to_dict()["brand_new"] == sent["brand_new"]
    again = api.list_audit_logs(event_types=[event.type]).data
    assert [e.id for e in again] == ["audit_log-ctnew"]


def test_with_http_info_and_without_preload_content_over_http(seeded: Any, api: AuditLogsApi) -> None:
    info = api.list_audit_logs_with_http_info(project_ids=[PROJECT], limit=3)
    assert info.status_code == 200
    assert info.headers["content-type"].startswith("application/json")
    assert [e.id for e in info.data.data] == expected(seeded, project_ids=[PROJECT])[:3]
    assert info.data.to_dict() == httpx.Response(200, content=info.raw_data).json()
    raw = api.list_audit_logs_without_preload_content(project_ids=[PROJECT], limit=3)
    assert isinstance(raw, httpx.Response) and raw.status_code == 200
    assert raw.content == info.raw_data


def test_wrong_key_is_unauthorized(seeded: Any) -> None:
    config = Configuration(host=seeded.base_url, access_token="sk-admin-wrong")
    with openapiopenai.ApiClient(config) as client, pytest.raises(UnauthorizedException) as info:
        AuditLogsApi(client).list_audit_logs()
    assert info.value.status == 401 and info.value.message


def test_unknown_cursor_is_an_api_error(api: AuditLogsApi) -> None:
    with pytest.raises(ApiException) as info:
        api.list_audit_logs(after="audit_log-doesnotexist")
    assert info.value.status is not None and 400 <= info.value.status < 500


async def test_async_over_http(seeded: Any) -> None:
    want = expected(seeded, project_ids=[PROJECT])
    config = Configuration(host=seeded.base_url, access_token=seeded.admin_key)
    async with AsyncApiClient(config) as client:
        api = AsyncAuditLogsApi(client)
        first = await api.list_audit_logs(project_ids=[PROJECT], limit=2)
        assert [e.id for e in first.data] == want[:2]
        assert type(first.data[0]) in (LoginFailedEvent, *openapiopenai.EVENT_CLASSES.values())
        older = [e.id async for e in api.iter_audit_logs(project_ids=[PROJECT], limit=6)]
        assert older == want
        newer = [e.id async for e in api.iter_audit_logs(project_ids=[PROJECT], before=want[-1],
                                                          direction="newer", limit=6)]
        assert newer == list(reversed(want[:-1]))
        pages = [p async for p in api.iter_pages(project_ids=[PROJECT], limit=10)]
        assert [len(p.data) for p in pages] == [10, 10, 3]
        info = await api.list_audit_logs_with_http_info(project_ids=[PROJECT], limit=1)
        assert info.status_code == 200 and info.data.data[0].id == want[0]


# -- faults the live service shows, injected by the emulator --------------------------------------

@pytest.mark.parametrize(("kind", "cls"), [
    ("500", openapiopenai.ServiceException), ("502", openapiopenai.ServiceException),
    ("503", openapiopenai.ServiceException), ("reset", openapiopenai.ApiConnectionError),
    ("truncate", (openapiopenai.ApiConnectionError, openapiopenai.ApiResponseValidationError)),
])
def test_every_fault_is_retried_then_raised(seeded: Any, api: AuditLogsApi, sleeps: list[float], kind: str,
                                           cls: Any) -> None:
    seeded.set_faults(fail_rate=1.0, kinds=[kind], seed=1)
    with pytest.raises(cls):
        api.list_audit_logs(project_ids=[PROJECT])
    assert sleeps == [0.5, 1.0]  # three attempts


def test_walk_is_exact_through_random_faults(seeded: Any, sleeps: list[float]) -> None:
    seeded.set_faults(fail_rate=0.4, seed=7)
    config = Configuration(host=seeded.base_url, access_token=seeded.admin_key, max_retries=20)
    with openapiopenai.ApiClient(config) as client:
        got = [e.raw_json for e in AuditLogsApi(client).iter_audit_logs(project_ids=[PROJECT], limit=4)]
    want = expected(seeded, project_ids=[PROJECT])
    assert got == [seeded.store.raw(i) for i in want]
    assert len(sleeps) > 0  # faults really happened and were retried


def test_rate_limit_retry_after_is_honoured(seeded: Any, api: AuditLogsApi, sleeps: list[float]) -> None:
    seeded.set_faults(rate_limit=0.5)  # one request, then a token every two seconds
    api.list_audit_logs(limit=1)
    with pytest.raises(openapiopenai.RateLimitException) as info:
        api.list_audit_logs(limit=1)
    assert info.value.retry_after is not None and 1 <= info.value.retry_after <= 2
    assert len(sleeps) == 2 and all(1 <= s <= 2 for s in sleeps)  # the server's delay, not our backoff
