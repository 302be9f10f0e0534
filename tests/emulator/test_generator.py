"""Generated data: every type of the spec, valid against its AuditLog schema, realistic, reproducible."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from openapiopenai.emulator import DEFAULT_END, NEWER_TYPES, EventStore, Generator
from openapiopenai.models._schemas import EVENT_TYPES, PAYLOAD_SCHEMAS


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    return [e for batch in Generator(1).events(3000) for e in batch]


def test_every_spec_type_appears_and_logins_dominate(events: list[dict[str, Any]]) -> None:
    counts = Counter(e["type"] for e in events)
    assert set(counts) == set(EVENT_TYPES) and len(EVENT_TYPES) == 145
    assert counts.most_common(1)[0][0] == "login.succeeded"
    assert counts["api_key.created"] > counts["group.deleted"]


def test_every_event_validates_against_the_spec(events: list[dict[str, Any]],
                                                 validate_audit_log: Callable[[Any], None]) -> None:
    for event in events:
        validate_audit_log(event)


def test_the_validator_does_reject(validate_audit_log: Callable[[Any], None]) -> None:
    import jsonschema_rs

    with pytest.raises(jsonschema_rs.ValidationError):
        validate_audit_log({"id": "audit_log-x", "type": "not.a.type", "effective_at": 1})
    with pytest.raises(jsonschema_rs.ValidationError):
        validate_audit_log({"id": "audit_log-x", "type": "login.failed", "effective_at": "1"})


def test_payloads_follow_their_schema_and_ids_point_at_resources(events: list[dict[str, Any]]) -> None:
    for event in events:
        payload = event[event["type"]]
        schema = PAYLOAD_SCHEMAS.get(event["type"])
        assert isinstance(payload, dict)
        if schema is None or "id" in schema.get("properties", {}):
            assert isinstance(payload["id"], str) and payload["id"]
    by_type = {e["type"]: e[e["type"]] for e in events}
    assert by_type["api_key.deleted"]["id"].startswith("key_")
    assert by_type["project.archived"]["id"].startswith("proj_")
    assert "__" in by_type["role.bound_to_resource"]["id"]
    assert by_type["login.failed"].keys() <= {"error_code", "error_message"}


def test_some_events_carry_fields_the_spec_does_not_declare(events: list[dict[str, Any]]) -> None:
    extra = [e for e in events if e["type"] == "login.succeeded" and "auth_method" in e["login.succeeded"]]
    assert extra
    sessions = [e["actor"]["session"] for e in events if e["actor"]["type"] == "session"]
    details = sessions[0]["ip_address_details"]
    assert {"user_agent", "ja3", "ja4", "ip_address_details"} <= set(sessions[0])
    assert set(details) == {"country", "city", "region", "region_code", "asn", "latitude", "longitude"}
    assert all(isinstance(v, str) for v in details.values())


def test_actors_projects_and_time_span(events: list[dict[str, Any]]) -> None:
    kinds = Counter((e["actor"]["type"], e["actor"].get("api_key", {}).get("type")) for e in events)
    assert kinds[("session", None)] and kinds[("api_key", "user")] and kinds[("api_key", "service_account")]
    assert all(e["actor"]["type"] == "session" for e in events if e["type"].startswith(("login.", "logout.")))
    assert all("project" in e for e in events if e["type"].startswith(("api_key.", "project.")))
    assert all("project" not in e for e in events if e["type"].startswith("tenant."))
    project_events = [e for e in events if e["type"].startswith("project.")]
    assert all(e["project"]["id"] == e[e["type"]]["id"] for e in project_events)
    seconds = [e["effective_at"] for e in events]
    assert max(seconds) <= DEFAULT_END and min(seconds) >= DEFAULT_END - 90 * 86_400
    assert len({e["id"] for e in events}) == len(events)


def test_newer_types_only_on_request() -> None:
    newer = [e for batch in Generator(1, newer_types=True).events(2000) for e in batch]
    assert {e["type"] for e in newer} >= set(NEWER_TYPES)
    plain = [e for batch in Generator(1).events(2000) for e in batch]
    assert not {e["type"] for e in plain} & set(NEWER_TYPES)


def test_end_and_days_shape_the_span() -> None:
    store = EventStore()
    store.generate(500, seed=9, days=1, end=1_700_000_000)
    seconds = [e["effective_at"] for e in store.all_events() + store.all_events(tenant_only=True)]
    assert min(seconds) >= 1_700_000_000 - 86_400 and max(seconds) <= 1_700_000_000


def test_generation_is_reproducible_even_after_inserts() -> None:
    first = EventStore()
    first.generate(300, seed=6)
    first.insert([{"type": "login.failed"}])
    second = EventStore()
    second.generate(300, seed=6)
    ids = [e["id"] for e in second.all_events()]
    assert [e["id"] for e in first.all_events() if e["id"] in set(ids)] == ids


def test_created_resources_are_new_and_deleted_ones_existed(events: list[dict[str, Any]]) -> None:
    """An archive of the emulator reads like an organisation's history: each `api_key.created` brings a
    new key into being (not one key created seventy times), and a deleted pooled resource is not
    deleted again."""
    oldest_first = sorted(events, key=lambda e: (e["effective_at"], e["id"]))
    created = [e["api_key.created"]["id"] for e in oldest_first if e["type"] == "api_key.created"]
    assert len(created) > 20
    assert len(set(created)) == len(created)
    created_at = {e["api_key.created"]["id"]: e["effective_at"] for e in oldest_first if e["type"] == "api_key.created"}
    deletes = [e["api_key.deleted"]["id"] for e in oldest_first if e["type"] == "api_key.deleted"]
    retired_minted = [k for k in deletes if k in created_at]
    assert retired_minted, "some deletes retire keys that events created"
    assert len(set(retired_minted)) == len(retired_minted), "a created key is deleted at most once"
