"""The endpoint over real HTTP: the page shape, byte-exact events, query encoding, errors, control API."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from _emulator_helpers import LIST, control_url

from openapiopenai.emulator import Emulator, EventStore, create_app
from openapiopenai.emulator._app import _parse_query


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return dict(body["error"])


def test_page_shape_and_request_id(client: httpx.Client, emulator: Emulator) -> None:
    response = client.get(LIST)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"].startswith("req_")
    body = response.json()
    assert list(body) == ["object", "data", "first_id", "last_id", "has_more"]
    assert body["object"] == "list" and len(body["data"]) == 20 and body["has_more"] is True
    assert body["first_id"] == body["data"][0]["id"] and body["last_id"] == body["data"][-1]["id"]
    assert [e["id"] for e in body["data"]] == [e["id"] for e in emulator.store.all_events()[:20]]


def test_each_event_in_the_body_is_the_stored_text(client: httpx.Client, emulator: Emulator) -> None:
    text = client.get(LIST, params={"limit": 100}).text
    for event in json.loads(text)["data"]:
        raw = emulator.store.raw(event["id"])
        assert raw in text and json.loads(raw) == event


def test_empty_page(client: httpx.Client) -> None:
    body = client.get(LIST, params={"project_ids[]": "proj_none"}).json()
    assert body == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}


def test_bracketed_filters_are_read_and_plain_time_params_ignored(client: httpx.Client, emulator: Emulator) -> None:
    events = emulator.store.all_events()
    mid = events[len(events) // 2]["effective_at"]
    ranged = client.get(LIST, params={"effective_at[gte]": mid, "effective_at[lt]": mid + 3600, "limit": 100}).json()
    assert [e["id"] for e in ranged["data"]] == [
        e["id"] for e in emulator.store.all_events(effective_at={"gte": mid, "lt": mid + 3600})][:100]
    # OpenAPI's default encoding of the `effective_at` object, as generated clients send it: not a filter.
    plain = client.get(LIST, params={"gte": mid, "lt": mid + 3600, "limit": 5}).json()
    assert [e["id"] for e in plain["data"]] == [e["id"] for e in events[:5]]
    projects = sorted({e["project"]["id"] for e in events if "project" in e})[:2]
    both = client.get(LIST, params=[("project_ids[]", p) for p in projects] + [("limit", "100")]).json()
    assert [e["id"] for e in both["data"]] == [e["id"] for e in emulator.store.all_events(project_ids=projects)][:100]


def test_tenant_only(client: httpx.Client, emulator: Emulator) -> None:
    tenant = client.get(LIST, params={"tenant_only": "true", "limit": 100}).json()["data"]
    assert tenant and all(e["type"].startswith("tenant.") or e["type"].startswith("role.") for e in tenant)
    named = client.get(LIST, params={"tenant_only": "true", "event_types[]": tenant[0]["type"]}).json()["data"]
    assert named and {e["type"] for e in named} == {tenant[0]["type"]}
    hidden = client.get(LIST, params={"event_types[]": tenant[0]["type"]}).json()["data"]
    assert hidden == []
    refused = client.get(LIST, params={"tenant_only": "true", "event_types[]": "login.failed"})
    assert refused.status_code == 400 and error_of(refused)["param"] == "event_types[]"


@pytest.mark.parametrize(("params", "param"), [
    ({"limit": "0"}, "limit"),
    ({"limit": "101"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"limit": "1.5"}, "limit"),
    ({"effective_at[gte]": "yesterday"}, "effective_at[gte]"),
    ({"effective_at[lt]": "1.5"}, "effective_at[lt]"),
    ({"after": "audit_log-unknown"}, "after"),
    ({"before": "audit_log-unknown"}, "before"),
    ({"tenant_only": "maybe"}, "tenant_only"),
])
def test_bad_parameters_are_400(client: httpx.Client, params: dict[str, str], param: str) -> None:
    response = client.get(LIST, params=params)
    assert response.status_code == 400
    error = error_of(response)
    assert error["type"] == "invalid_request_error" and error["param"] == param and error["message"]


def test_after_and_before_together_bound_both_sides(client: httpx.Client, emulator: Emulator) -> None:
    events = emulator.store.all_events()
    response = client.get(LIST, params={"after": events[5]["id"], "before": events[9]["id"], "limit": "100"})
    assert response.status_code == 200
    assert [e["id"] for e in response.json()["data"]] == [e["id"] for e in events[6:9]]
    assert response.json()["has_more"] is False


@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer sk-admin-wrong", "Basic sk-admin-test",
                                           "sk-admin-test"])
def test_missing_or_wrong_key_is_401_and_never_echoed(emulator: Emulator, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = httpx.get(emulator.base_url + LIST, headers=headers)
    assert response.status_code == 401 and response.headers["x-request-id"].startswith("req_")
    assert error_of(response)["type"] == "invalid_request_error"
    assert "sk-admin" not in response.text


def test_other_paths_and_methods_are_404_json(client: httpx.Client) -> None:
    for response in (client.get("/organization/users"), client.post(LIST), client.get("/../nothing")):
        assert response.status_code == 404 and "Invalid URL" in error_of(response)["message"]
        assert response.headers["x-request-id"].startswith("req_")


def test_control_insert_with_a_late_event(client: httpx.Client, emulator: Emulator) -> None:
    newest = client.get(LIST, params={"limit": 1}).json()["data"][0]
    response = httpx.post(control_url(emulator, "events"), json=[
        {"type": "login.failed", "effective_at": newest["effective_at"] - 7200},
        {"type": "api_key.created"},
    ])
    assert response.status_code == 200
    late, now = response.json()
    assert late["type"] == "login.failed" and late["effective_at"] == newest["effective_at"] - 7200
    assert late["actor"] and "login.failed" in late and late["id"].startswith("audit_log-")
    # The late event is not on top; it is where its time puts it. The other one is the newest.
    top = client.get(LIST, params={"limit": 1}).json()["data"][0]
    assert top["id"] == now["id"]
    window = client.get(LIST, params={"effective_at[gte]": late["effective_at"],
                                      "effective_at[lte]": late["effective_at"]}).json()["data"]
    assert late["id"] in [e["id"] for e in window]
    assert emulator.store.raw(late["id"]) == json.dumps(late, separators=(",", ":"), ensure_ascii=False)


def test_control_insert_rejects_bad_bodies(emulator: Emulator) -> None:
    url = control_url(emulator, "events")
    assert httpx.post(url, content=b"not json").status_code == 400
    assert httpx.post(url, json=42).status_code == 400
    assert httpx.post(url, json=[{"effective_at": "noon"}]).status_code == 400


def test_control_faults_and_counters(client: httpx.Client, emulator: Emulator) -> None:
    faults = httpx.get(control_url(emulator, "faults")).json()
    assert faults == {"latency_ms": 0.0, "fail_rate": 0.0, "rate_limit": None,
                      "kinds": ["500", "502", "503", "reset", "truncate"], "seed": 0}
    changed = httpx.post(control_url(emulator, "faults"), json={"fail_rate": 1.0, "kinds": ["503"]}).json()
    assert changed["fail_rate"] == 1.0 and changed["kinds"] == ["503"]
    assert client.get(LIST).status_code == 503
    assert httpx.post(control_url(emulator, "faults"), json={"fail_rate": 2}).status_code == 400
    assert httpx.post(control_url(emulator, "faults"), json={"nope": 1}).status_code == 400
    httpx.post(control_url(emulator, "faults"), json={"fail_rate": 0})
    client.get(LIST)
    client.get("/nowhere")
    counters = httpx.get(control_url(emulator, "counters")).json()
    assert counters["requests"] == 3 and counters["by_status"] == {"200": 1, "404": 1, "503": 1}
    assert counters["faults"] == {"503": 1} and counters["events"] == emulator.store.count()
    reset = httpx.post(control_url(emulator, "reset-counters")).json()
    assert reset["requests"] == 0 and reset["by_status"] == {}


async def test_control_api_refuses_other_clients() -> None:
    store = EventStore()
    store.generate(50, seed=1)
    app = create_app(store, admin_key="sk-admin-x")
    remote = httpx.ASGITransport(app=app, client=("203.0.113.5", 40000))
    async with httpx.AsyncClient(transport=remote, base_url="http://emulator") as c:
        for method, name in (("GET", "counters"), ("GET", "faults"), ("POST", "events"), ("POST", "reset-counters")):
            response = await c.request(method, "/_emulator/" + name, json=[])
            assert response.status_code == 403, name
        # The API itself answers anyone with the key.
        ok = await c.get("/v1" + LIST, headers={"Authorization": "Bearer sk-admin-x"})
        assert ok.status_code == 200
    local = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=local, base_url="http://emulator") as c:
        assert (await c.get("/_emulator/counters")).status_code == 200


def test_query_parsing_keeps_repeats_and_ignores_unknowns() -> None:
    parsed = _parse_query([("event_types[]", "a.b"), ("event_types[]", "c.d"), ("gte", "5"), ("x", "y"),
                           ("effective_at[gt]", "-3"), ("limit", "100"), ("tenant_only", "FALSE")])
    assert parsed == {"event_types": ["a.b", "c.d"], "effective_at": {"gt": -3}, "limit": 100,
                      "tenant_only": False}
