"""ECS 9.4.0: every field produced exists in the published `ecs_flat.yml` with a compatible type, or sits
under `openai.audit.*`; the categorisation uses only allowed values, and is pinned per type."""

from __future__ import annotations

import datetime
import ipaddress
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from _event_shapes import DETAILS, EVENTS, UNKNOWN_TYPE, odd_events
from openapiopenai.ecs import DATASET, ECS_VERSION, to_ecs
from openapiopenai.models._schemas import EVENT_TYPES
from openapiopenai.schemas._table import NEWER_TYPES

ECS_FLAT = Path(__file__).parent / f"ecs-{ECS_VERSION}" / "ecs_flat.yml"
CUSTOM = "openai.audit"
# Field types whose value is one JSON object or scalar that the flattening must not descend into.
_LEAF_OBJECTS = {"geo_point", "object", "flattened", "nested"}
_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@pytest.fixture(scope="module")
def ecs() -> dict[str, Any]:
    fields: dict[str, Any] = yaml.load(ECS_FLAT.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    return fields


def _flatten(doc: dict[str, Any], ecs: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        name = prefix + key
        if name == CUSTOM:
            continue
        if isinstance(value, dict) and ecs.get(name, {}).get("type") not in _LEAF_OBJECTS:
            out.update(_flatten(value, ecs, name + "."))
        else:
            out[name] = value
    return out


def _compatible(ecs_type: str, value: Any) -> bool:
    if ecs_type in ("keyword", "constant_keyword", "wildcard", "text", "match_only_text"):
        return isinstance(value, str)
    if ecs_type in ("long", "integer", "short", "byte", "unsigned_long"):
        return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**64
    if ecs_type in ("float", "double", "scaled_float", "half_float"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if ecs_type == "ip":
        try:
            ipaddress.ip_address(value)
        except ValueError:
            return False
        return True
    if ecs_type == "date":
        return isinstance(value, str) and _ISO.match(value) is not None
    if ecs_type == "geo_point":
        return (isinstance(value, dict) and set(value) == {"lat", "lon"} and -90 <= value["lat"] <= 90
                and -180 <= value["lon"] <= 180)
    if ecs_type == "boolean":
        return isinstance(value, bool)
    return False


def _problems(doc: dict[str, Any], ecs: dict[str, Any]) -> list[str]:
    problems = []
    for name, value in _flatten(doc, ecs).items():
        field = ecs.get(name)
        if field is None:
            problems.append(f"{name}: not an ECS field")
            continue
        values = value if isinstance(value, list) else [value]
        if isinstance(value, list) and "array" not in field.get("normalize", []) and len(value) != 1:
            problems.append(f"{name}: a list where ECS has one value")
        problems += [f"{name}: {v!r} is not {field['type']}" for v in values if not _compatible(field["type"], v)]
        allowed = field.get("allowed_values")
        if allowed is not None:
            names = {a["name"] for a in allowed}
            problems += [f"{name}: {v!r} not allowed" for v in values if v not in names]
    categories = {a["name"]: a.get("expected_event_types") for a in ecs["event.category"]["allowed_values"]}
    for category in doc["event"]["category"]:
        expected = categories.get(category) or []
        problems += [f"event.type {t} not expected for {category}" for t in doc["event"]["type"] if t not in expected]
    if not isinstance(doc.get("openai", {}).get("audit"), dict):
        problems.append("no openai.audit")
    return problems


def test_the_checker_can_fail(ecs: dict[str, Any]) -> None:
    doc = to_ecs(EVENTS[0])
    doc["source"] = {"ip": "not an address", "nonsense": 1}
    doc["event"]["category"] = ["authentication"]
    doc["event"]["type"] = ["creation"]
    assert len(_problems(doc, ecs)) == 3


def test_every_emulator_event_maps_to_ecs_fields_of_the_right_type(ecs: dict[str, Any]) -> None:
    for event in EVENTS:
        doc = to_ecs(event)
        assert _problems(doc, ecs) == [], event
        assert doc["event"]["action"] == event["type"] and doc["event"]["id"] == event["id"]
        assert doc["event"]["dataset"] == DATASET and doc["ecs"]["version"] == ECS_VERSION


SESSION = {"type": "session", "session": {
    "user": {"id": "user-1", "email": "a@example.com"}, "ip_address": "10.0.0.1", "user_agent": "curl/8",
    "ja3": "a497151ce4338a12c4418c44d375173e", "ja4": "q13d0313h3_55b375c5d22e_c7319ce65786",
    "ip_address_details": DETAILS}}


def test_a_session_event_fills_the_ecs_fields(ecs: dict[str, Any]) -> None:
    event = {"id": "audit_log-9", "type": "login.failed", "effective_at": 1720804090, "actor": SESSION,
             "project": {"id": "proj_1", "name": "Default"},
             "login.failed": {"error_code": "invalid_credentials", "error_message": "Wrong password."}}
    doc = to_ecs(event)
    assert _problems(doc, ecs) == []
    assert doc["@timestamp"] == "2024-07-12T17:08:10.000Z"
    assert to_ecs({**event, "effective_at": -62135596800 + 500 * 31536000})["@timestamp"].startswith("0500-")
    assert "@timestamp" not in to_ecs({**event, "effective_at": 10**12})
    assert doc["event"]["outcome"] == "failure" and doc["event"]["reason"] == "Wrong password."
    assert doc["error"] == {"code": "invalid_credentials", "message": "Wrong password."}
    assert doc["user"] == {"id": "user-1", "email": "a@example.com"}
    assert doc["source"] == {"ip": "10.0.0.1", "as": {"number": 7922}, "geo": {
        "country_iso_code": "US", "city_name": "San Francisco", "region_name": "California",
        "region_iso_code": "US-CA", "location": {"lat": 37.7749, "lon": -122.4194}}}
    assert doc["user_agent"] == {"original": "curl/8"}
    assert doc["tls"] == {"client": {"ja3": "a497151ce4338a12c4418c44d375173e"}}
    assert doc["cloud"] == {"provider": "openai", "project": {"id": "proj_1", "name": "Default"}}
    audit = doc["openai"]["audit"]
    assert audit["ja4"] == "q13d0313h3_55b375c5d22e_c7319ce65786" and audit["payload"] == event["login.failed"]


def test_a_key_actor_and_its_target() -> None:
    key = {"type": "api_key", "api_key": {"id": "key_1", "type": "user", "user": {"id": "user-2", "email": "b@x.io"}}}
    doc = to_ecs({"id": "a", "type": "api_key.created", "effective_at": 1, "actor": key,
                  "api_key.created": {"id": "key_2", "data": {"scopes": ["api.model.request"]}}})
    assert doc["user"] == {"id": "user-2", "email": "b@x.io"}
    assert doc["openai"]["audit"]["api_key"] == {"id": "key_1", "type": "user"}
    assert doc["openai"]["audit"]["target"] == {"type": "api_key", "id": "key_2"}
    assert doc["openai"]["audit"]["scopes"] == ["api.model.request"]
    assert "source" not in doc


# The categorisation per type, written out by hand: a change to the table must change this on purpose.
PINNED = {
    "login.succeeded": ("authentication", "start", "success"),
    "login.failed": ("authentication", "start", "failure"),
    "logout.succeeded": ("authentication", "end", "success"),
    "logout.failed": ("authentication", "end", "failure"),
    "api_key.created": ("iam", "creation", "success"),
    "api_key.updated": ("iam", "change", "success"),
    "api_key.deleted": ("iam", "deletion", "success"),
    "service_account.created": ("iam", "creation,user", "success"),
    "user.added": ("iam", "creation,user", "success"),
    "user.deleted": ("iam", "deletion,user", "success"),
    "invite.sent": ("iam", "creation,user", "success"),
    "invite.accepted": ("iam", "change,user", "success"),
    "role.assignment.created": ("iam", "creation,admin", "success"),
    "role.created": ("iam", "creation,admin", "success"),
    "group.created": ("iam", "creation,group", "success"),
    "tenant.group.member.added": ("iam", "creation,group", "success"),
    "tenant.policy.attached": ("iam", "change,admin", "success"),
    "scim.enabled": ("iam", "change,admin", "success"),
    "project.created": ("configuration", "creation", "success"),
    "project.archived": ("configuration", "deletion", "success"),
    "rate_limit.updated": ("configuration", "change", "success"),
    "ip_allowlist.config.activated": ("configuration", "change", "success"),
    "certificate.deleted": ("configuration", "deletion", "success"),
    "organization.updated": ("configuration", "change", "success"),
    "external_storage.registered": ("configuration", "creation", "success"),
    "tenant.trusted_access.business_verification.started": ("configuration", "info", "success"),
    UNKNOWN_TYPE: ("api", "info", "unknown"),
    "brand_new.deleted": ("api", "deletion", "unknown"),
    "brand_new.failed": ("api", "info", "failure"),
}


@pytest.mark.parametrize(("event_type", "expected"), list(PINNED.items()))
def test_pinned_categorisation(event_type: str, expected: tuple[str, str, str]) -> None:
    event = to_ecs({"id": "a", "type": event_type, "effective_at": 1})["event"]
    assert (",".join(event["category"]), ",".join(event["type"]), event["outcome"]) == expected
    assert event["kind"] == "event"


def test_every_known_type_is_categorised_with_allowed_values(ecs: dict[str, Any]) -> None:
    for event_type in EVENT_TYPES + NEWER_TYPES:
        assert _problems(to_ecs({"id": "a", "type": event_type, "effective_at": 1}), ecs) == [], event_type


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(odd_events())
def test_any_event_maps_to_ecs_fields(ecs: dict[str, Any], event: dict[str, Any]) -> None:
    assert _problems(to_ecs(event), ecs) == []


@pytest.mark.parametrize("seconds", [0, 59, 86399, 86400, 1_785_715_789, -1, -86401, 253_402_300_799,
                                     253_402_300_800, -62_135_596_801, 10**30])
def test_timestamps_are_iso_utc_within_the_years_ecs_holds(seconds: int) -> None:
    try:
        expected = (datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=seconds)).isoformat() + ".000Z"
    except OverflowError:
        expected = None
    doc = to_ecs({"id": "a", "type": "x.y", "effective_at": seconds})
    assert doc.get("@timestamp") == expected and doc["openai"]["audit"]["effective_at"] == seconds
