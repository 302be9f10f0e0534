"""OCSF 1.8.0: every event maps to an object its class's published schema accepts, checked offline."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jsonschema_rs
import ocsf_json_schema
import pytest
from hypothesis import HealthCheck, given, settings

from _event_shapes import DETAILS, EVENTS, UNKNOWN_TYPE, odd_events
from openapiopenai.emulator._generator import NEWER_TYPES as EMULATOR_NEWER_TYPES
from openapiopenai.models._schemas import EVENT_TYPES
from openapiopenai.ocsf import OCSF_VERSION, rule_for, to_ocsf
from openapiopenai.schemas._ocsf import CATEGORY_NAMES
from openapiopenai.schemas._table import FAMILIES, NEWER_TYPES, OCSF_CLASSES

Validate = Callable[[dict[str, Any]], list[str]]


@pytest.fixture(scope="module")
def ocsf() -> dict[str, Any]:
    schema: dict[str, Any] = ocsf_json_schema.get_ocsf_schema(version=OCSF_VERSION)
    return schema


@pytest.fixture(scope="module")
def validate(ocsf: dict[str, Any]) -> Validate:
    """The errors the class's 1.8.0 JSON schema (with the cloud profile the objects declare) finds."""
    embedded = ocsf_json_schema.OcsfJsonSchemaEmbedded(ocsf)
    by_uid = {c["uid"]: name for name, c in ocsf["classes"].items()}
    validators: dict[int, Any] = {}

    def errors(obj: dict[str, Any]) -> list[str]:
        uid = obj["class_uid"]
        if uid not in validators:
            schema = embedded.get_class_schema(class_name=by_uid[uid], profiles=obj["metadata"]["profiles"])
            validators[uid] = jsonschema_rs.validator_for(schema)
        return [str(e).split("\n", 1)[0] for e in validators[uid].iter_errors(obj)]

    return errors


def test_the_validator_can_fail(validate: Validate) -> None:
    obj = to_ocsf(EVENTS[0])
    del obj["time"]
    obj["src_endpoint"] = {"ip": "not an address"}
    assert len(validate(obj)) == 2


def test_every_emulator_event_validates_against_its_class(validate: Validate) -> None:
    classes: set[int] = set()
    for event in EVENTS:
        obj = to_ocsf(event, raw_data=True)
        assert validate(obj) == [], event
        classes.add(obj["class_uid"])
    assert classes == {3001, 3002, 3004, 3005, 3006, 6003}


def test_the_table_names_what_the_schema_names(ocsf: dict[str, Any]) -> None:
    for cls in OCSF_CLASSES.values():
        declared = ocsf["classes"][cls.schema_name]
        assert (declared["uid"], declared["caption"]) == (cls.uid, cls.name)
        enum = declared["attributes"]["activity_id"]["enum"]
        assert {int(k): v["caption"] for k, v in enum.items() if int(k) in cls.captions} == cls.captions
        assert set(cls.activities.values()) <= set(cls.captions)
    captions = {c["uid"]: c["caption"] for c in ocsf["categories"]["attributes"].values()}
    assert {uid: captions[uid] for uid in CATEGORY_NAMES} == CATEGORY_NAMES


def test_every_known_type_has_a_family_and_unknown_ones_fall_back() -> None:
    assert NEWER_TYPES == EMULATOR_NEWER_TYPES
    assert [t for t in EVENT_TYPES + NEWER_TYPES if not rule_for(t).listed] == []
    assert {t.rpartition(".")[0] for t in EVENT_TYPES + NEWER_TYPES} == set(FAMILIES)   # no family unused
    unknown = rule_for(UNKNOWN_TYPE)
    assert (unknown.class_uid, unknown.activity_id, unknown.listed) == (6003, 99, False)


@pytest.mark.parametrize(("event_type", "class_uid", "activity_id"), [
    ("login.succeeded", 3002, 1), ("login.failed", 3002, 1), ("logout.succeeded", 3002, 2),
    ("user.added", 3001, 1), ("user.deleted", 3001, 6), ("invite.sent", 3001, 1), ("invite.accepted", 3001, 2),
    ("role.assignment.created", 3005, 1), ("role.assignment.deleted", 3005, 2),
    ("group.created", 3006, 6), ("group.deleted", 3006, 5), ("tenant.group.member.added", 3006, 3),
    ("tenant.group.member.removed", 3006, 4),
    ("api_key.created", 3004, 1), ("api_key.updated", 3004, 3), ("api_key.deleted", 3004, 4),
    ("service_account.created", 3004, 1), ("project.archived", 3004, 11), ("scim.enabled", 3004, 8),
    ("certificates.activated", 3004, 10), ("tunnel.created", 3004, 1), ("ip_allowlist.deleted", 3004, 4),
    ("workload_identity_provider.created", 3004, 1), ("rate_limit.updated", 3004, 3),
    ("external_storage.registered", 3004, 1), ("tenant.trusted_access.application.submitted", 3004, 99),
    (UNKNOWN_TYPE, 6003, 99), ("brand_new.created", 6003, 1),
])
def test_pinned_classes_and_activities(event_type: str, class_uid: int, activity_id: int) -> None:
    obj = to_ocsf({"id": "audit_log-1", "type": event_type, "effective_at": 1})
    assert (obj["class_uid"], obj["activity_id"], obj["type_uid"]) == (class_uid, activity_id,
                                                                      class_uid * 100 + activity_id)
    assert obj["category_uid"] == class_uid // 1000


SESSION = {"type": "session", "session": {
    "user": {"id": "user-1", "email": "a@example.com"}, "ip_address": "10.0.0.1", "user_agent": "curl/8",
    "ja3": "a497151ce4338a12c4418c44d375173e", "ja4": "q13d0313h3_55b375c5d22e_c7319ce65786",
    "ip_address_details": DETAILS}}


def test_a_failed_login_is_a_failure_with_the_services_error(validate: Validate) -> None:
    event = {"id": "audit_log-9", "type": "login.failed", "effective_at": 1720804090, "actor": SESSION,
             "login.failed": {"error_code": "invalid_credentials", "error_message": "The password is wrong."}}
    obj = to_ocsf(event)
    assert validate(obj) == []
    assert (obj["status_id"], obj["status"], obj["status_code"], obj["status_detail"]) == (
        2, "Failure", "invalid_credentials", "The password is wrong.")
    assert obj["time"] == 1720804090000 and obj["metadata"]["logged_time"] == 1720804090000
    assert obj["metadata"]["uid"] == "audit_log-9" and obj["metadata"]["version"] == "1.8.0"
    assert obj["metadata"]["product"]["vendor_name"] == "OpenAI"
    assert obj["user"] == {"uid": "user-1", "email_addr": "a@example.com", "type_id": 1, "type": "User"}
    assert obj["src_endpoint"] == {
        "ip": "10.0.0.1", "autonomous_system": {"number": 7922},
        "location": {"country": "US", "city": "San Francisco", "region": "California",
                     "lat": 37.7749, "long": -122.4194}}
    assert obj["http_request"] == {"user_agent": "curl/8"}
    assert obj["unmapped"]["ja3"] == SESSION["session"]["ja3"] and obj["unmapped"]["ja4"].startswith("q13d")
    assert to_ocsf({**event, "type": "login.succeeded"})["status_id"] == 1


def test_key_actors_name_the_owner_or_service_account_and_the_key() -> None:
    key = {"type": "api_key", "api_key": {"id": "key_1", "type": "service_account", "service_account": {"id": "svc_1"}}}
    obj = to_ocsf({"id": "a", "type": "api_key.created", "effective_at": 1, "actor": key,
                   "project": {"id": "proj_1", "name": "Default"},
                   "api_key.created": {"id": "key_2", "data": {"scopes": ["api.model.request"]}}})
    assert obj["actor"] == {"user": {"uid": "svc_1", "type_id": 4, "type": "Service", "credential_uid": "key_1"}}
    assert obj["cloud"] == {"provider": "OpenAI", "project_uid": "proj_1"}
    assert obj["entity"] == {"uid": "key_2", "name": "api_key", "type": "api_key", "type_id": 99}
    assert obj["unmapped"]["payload"] == {"id": "key_2", "data": {"scopes": ["api.model.request"]}}
    assert obj["src_endpoint"] == {"name": "unknown"}   # an api-key action carries no source address


def test_raw_data_on_request() -> None:
    event = {"id": "a", "type": "x.y", "effective_at": 1}
    assert "raw_data" not in to_ocsf(event)
    assert json.loads(to_ocsf(event, raw_data=True)["raw_data"]) == event
    assert to_ocsf(event, raw_data='{"exact": "text"}')["raw_data"] == '{"exact": "text"}'


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(odd_events())
def test_any_event_maps_to_a_valid_object(validate: Validate, event: dict[str, Any]) -> None:
    assert validate(to_ocsf(event, raw_data=True)) == []


def test_each_result_is_the_callers_own() -> None:
    first = to_ocsf(EVENTS[0])
    first["metadata"]["product"]["name"] = "changed"
    first["metadata"]["profiles"].append("host")
    second = to_ocsf(EVENTS[0])
    assert second["metadata"]["product"]["name"] == "Audit Logs" and second["metadata"]["profiles"] == ["cloud"]


def test_a_parsed_event_maps_like_its_dict() -> None:
    from openapiopenai._parse import parse_page
    from openapiopenai.ecs import to_ecs
    from openapiopenai.models.list_audit_logs_response import ListAuditLogsResponse

    body = json.dumps({"object": "list", "data": EVENTS[:200], "has_more": False}).encode()
    models = list(parse_page(body, ListAuditLogsResponse).data or [])
    assert [to_ocsf(m, raw_data=True) for m in models] == [
        to_ocsf(e, raw_data=m.raw_json) for e, m in zip(EVENTS[:200], models, strict=True)]
    assert [to_ecs(m) for m in models] == [to_ecs(e) for e in EVENTS[:200]]
