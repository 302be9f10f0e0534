"""`openapiopenai.anatomy`: one reading of an event, the same from a dict and from bytes, for any shape."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings

from _event_shapes import DETAILS, EVENTS, UNKNOWN_TYPE, odd_events
from openapiopenai import anatomy
from openapiopenai.anatomy import (
    EventFacts,
    facts,
    facts_and_payload_from_json,
    facts_from_json,
    facts_payload_and_sources_from_json,
    index_facts_from_json,
    own_facts_and_sources_from_json,
)
from openapiopenai.archive._rows import event_row as archive_row
from openapiopenai.cli._output import event_row as csv_row
from openapiopenai.emulator._generator import NEWER_TYPES
from openapiopenai.emulator._store import index_row

SESSION = {"type": "session", "session": {
    "user": {"id": "user-1", "email": "a@example.com"}, "ip_address": "10.0.0.1", "user_agent": "curl/8",
    "ja3": "a497151ce4338a12c4418c44d375173e", "ja4": "q13d0313h3_55b375c5d22e_c7319ce65786",
    "ip_address_details": DETAILS}}
KEY_SA = {"type": "api_key", "api_key": {"id": "key_1", "type": "service_account", "service_account": {"id": "svc_1"}}}
KEY_USER = {"type": "api_key", "api_key": {"id": "key_2", "type": "user",
                                           "user": {"id": "user-2", "email": "b@example.com"}}}


def _event(**parts: Any) -> dict[str, Any]:
    event_type = parts.pop("type", "api_key.created")
    return {"id": "audit_log-1", "type": event_type, "effective_at": 1720804090, **parts}


def test_a_session_event_reads_every_fact() -> None:
    f = facts(_event(actor=SESSION, project={"id": "proj_1", "name": "Default"},
                     **{"api_key.created": {"id": "key_9", "data": {"scopes": ["api.model.request"]}}}))
    assert f == EventFacts(
        id="audit_log-1", type="api_key.created", effective_at=1720804090, actor_type="session",
        actor_id="user-1", user_id="user-1", user_email="a@example.com", service_account_id=None,
        api_key_id=None, api_key_type=None, ip_address="10.0.0.1", user_agent="curl/8",
        ja3="a497151ce4338a12c4418c44d375173e", ja4="q13d0313h3_55b375c5d22e_c7319ce65786",
        ip_country="US", ip_city="San Francisco", ip_region="California", ip_region_code="CA", ip_asn="7922",
        ip_latitude="37.77490", ip_longitude="-122.41940", project_id="proj_1", project_name="Default",
        target_id="key_9", target_name=None, target_email=None, subject_user_id=None, role=None,
        resource_id=None, resource_type=None, error_code=None, error_message=None,
        scopes=("api.model.request",))


def test_key_actors_read_the_keys_user_or_service_account() -> None:
    sa = facts(_event(actor=KEY_SA))
    assert (sa.actor_type, sa.actor_id, sa.service_account_id, sa.user_id, sa.api_key_id, sa.api_key_type) == (
        "api_key", "svc_1", "svc_1", None, "key_1", "service_account")
    user = facts(_event(actor=KEY_USER))
    assert (user.actor_id, user.user_id, user.user_email, user.api_key_type, user.ip_address) == (
        "user-2", "user-2", "b@example.com", "user", None)


def test_login_failed_reads_the_error_and_updates_their_scopes() -> None:
    failed = facts(_event(type="login.failed", actor=SESSION,
                          **{"login.failed": {"error_code": "invalid_credentials", "error_message": "No."}}))
    assert (failed.error_code, failed.error_message, failed.target_id) == ("invalid_credentials", "No.", None)
    updated = facts(_event(type="api_key.updated", **{"api_key.updated": {
        "id": "key_1", "changes_requested": {"scopes": ["a", "b"]}}}))
    assert updated.scopes == ("a", "b")
    created = facts(_event(type="project.created", **{"project.created": {"id": "proj_2", "data": {"name": "X"}}}))
    assert (created.target_id, created.target_name) == ("proj_2", "X")
    invite = facts(_event(type="invite.sent", **{"invite.sent": {
        "id": "invite-1", "data": {"email": "c@example.com", "role": "owner"}}}))
    assert (invite.target_id, invite.target_email, invite.role) == ("invite-1", "c@example.com", "owner")
    grant = facts(_event(type="role.assignment.created", **{"role.assignment.created": {
        "id": "ra_1", "principal_id": "user-3", "role_id": "role_1", "resource_id": "proj_1",
        "resource_type": "project"}}))
    assert (grant.subject_user_id, grant.role, grant.resource_id, grant.resource_type) == (
        "user-3", "role_1", "proj_1", "project")


# The three disagreements of the earlier copies, each pinned to the rule that won (module docstring).
def test_a_wrong_type_reads_none() -> None:
    f = facts(_event(actor={"type": "session", "session": {"user": {"id": 7, "email": ["x"]}, "ip_address": 10}},
                     project={"id": 5}, effective_at=True, **{"api_key.created": {"id": 9, "data": {"scopes": "x"}}}))
    assert (f.actor_id, f.user_email, f.ip_address, f.project_id, f.effective_at, f.target_id, f.scopes) == (
        None, None, None, None, None, None, None)


def test_an_empty_string_reads_none() -> None:
    f = facts(_event(actor={"type": "session", "session": {"user": {"id": "", "email": ""}, "ip_address": ""}},
                     project={"id": ""}, **{"api_key.created": {"id": ""}}))
    assert (f.actor_id, f.user_email, f.ip_address, f.project_id, f.target_id) == (None, None, None, None, None)


def test_the_actor_type_decides_which_user_is_read() -> None:
    session_with_key = {"type": "session", "session": {"user": {"id": "user-s"}},
                        "api_key": {"id": "key_x", "user": {"id": "user-k", "email": "k@example.com"}}}
    f = facts(_event(actor=session_with_key))
    assert (f.actor_id, f.user_email, f.api_key_id) == ("user-s", None, None)
    key_with_session = {"type": "api_key", "api_key": {"id": "key_x"},
                        "session": {"user": {"id": "user-s"}, "ip_address": "10.0.0.9"}}
    f = facts(_event(actor=key_with_session))
    assert (f.actor_id, f.ip_address, f.api_key_id) == (None, None, "key_x")
    newer = facts(_event(actor={"type": "robot", "session": {"user": {"id": "user-r"}}}))
    assert (newer.actor_type, newer.actor_id) == ("robot", None)


@pytest.mark.parametrize("event", [None, 7, "x", [], {}, {"type": 7}, {"type": None, "actor": []}])
def test_anything_at_all_reads_without_raising(event: Any) -> None:
    f = facts(event)
    assert f.id is None and f.actor_id is None


def test_the_emulator_covers_every_type() -> None:
    types = {e["type"] for e in EVENTS}
    assert set(NEWER_TYPES) <= types and UNKNOWN_TYPE in types and len(types) >= 150


def test_bytes_and_dicts_read_the_same_for_every_emulator_event(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = [facts(e) for e in EVENTS]

    def no_general_reading(event: Any) -> EventFacts:
        raise AssertionError("an ordinary event takes the fast path")

    monkeypatch.setattr(anatomy, "facts", no_general_reading)
    assert [facts_from_json(msgspec.json.encode(e), e["type"]) for e in EVENTS] == expected


INDEXED = ("id", "type", "effective_at", "actor_type", "actor_id", "user_id", "user_email", "service_account_id",
           "api_key_id", "api_key_type", "ip_address", "project_id", "target_id")


def _indexed(f: EventFacts) -> tuple[Any, ...]:
    return tuple(getattr(f, name) for name in INDEXED)


def test_the_index_path_reads_the_columns_as_facts_does(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = [_indexed(facts(e)) for e in EVENTS]

    def no_general_reading(event: Any) -> EventFacts:
        raise AssertionError("an ordinary event takes the fast path")

    monkeypatch.setattr(anatomy, "facts", no_general_reading)
    got = [index_facts_from_json(msgspec.json.encode(e), e["type"]) for e in EVENTS]
    assert [_indexed(f) for f in got] == expected
    assert all(f.ja4 is None and f.user_agent is None for f in got)   # not read on this path


def test_the_payload_text_comes_with_the_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = [(facts(e), anatomy.payload(e)) for e in EVENTS]

    def no_general_reading(event: Any) -> EventFacts:
        raise AssertionError("an ordinary event takes the fast path")

    monkeypatch.setattr(anatomy, "facts", no_general_reading)
    for (f, body), event in zip(expected, EVENTS, strict=True):
        got, text = facts_and_payload_from_json(json.dumps(event, indent=1), event["type"])
        assert got == f and (None if text is None else json.loads(bytes(text))) == body


def test_the_sources_are_the_actors_and_projects_bytes() -> None:
    """What the exports key their encoded parts by: the exact text the actor's and project's facts came from."""
    actor_facts = EventFacts.__struct_fields__[EventFacts.__struct_fields__.index("actor_type"):
                                                EventFacts.__struct_fields__.index("project_id")]
    seen: dict[bytes, tuple[Any, ...]] = {}
    for event in EVENTS:
        raw = msgspec.json.encode(event)
        f, _, actor, project = facts_payload_and_sources_from_json(raw, event["type"])
        assert f == facts(event)
        assert actor == (msgspec.json.encode(event["actor"]) if "actor" in event else b"")
        assert project == (msgspec.json.encode(event["project"]) if "project" in event else b"")
        assert actor is not None
        read = tuple(getattr(f, name) for name in actor_facts)
        assert seen.setdefault(actor, read) == read   # one actor text, one reading, whatever the rest says
    assert len(actor_facts) == 18 and len(seen) < len(EVENTS) / 10
    odd = {"id": 7, "type": "api_key.created", "effective_at": 1, "actor": KEY_SA}
    f, _, actor, project = facts_payload_and_sources_from_json(json.dumps(odd), "api_key.created")
    assert (f, actor, project) == (facts(odd), None, None)   # read the general way: nothing to key


def _own(f: EventFacts) -> tuple[Any, ...]:
    return tuple(getattr(f, name) for name in anatomy.EventOwnFacts.__struct_fields__)


def _same_as_all_the_facts(raw: str | bytes, event_type: str) -> None:
    """`own_facts_and_sources_from_json` answers as `facts_payload_and_sources_from_json`, with only the
    event's own facts when it gives the actor's and project's bytes."""
    f, body, actor, project = facts_payload_and_sources_from_json(raw, event_type)
    own, own_body, own_actor, own_project = own_facts_and_sources_from_json(raw, event_type)
    assert (own_actor, own_project) == (actor, project)
    assert (None if own_body is None else bytes(own_body)) == (None if body is None else bytes(body))
    if actor is None:
        assert own == f   # read the general way: all the facts
    else:
        assert isinstance(own, anatomy.EventOwnFacts) and msgspec.structs.astuple(own) == _own(f)


def test_the_own_facts_are_those_of_all_the_facts() -> None:
    assert len(anatomy.EventOwnFacts.__struct_fields__) == 13
    for event in EVENTS:
        _same_as_all_the_facts(json.dumps(event, indent=1), event["type"])
    # An actor or a project of an odd shape sends the event the general way, as it does there.
    for odd in ({"id": "a", "type": "api_key.created", "actor": {"type": 7}},
                {"id": "a", "type": "api_key.created", "project": {"id": 7}},
                {"id": 7, "type": "api_key.created", "effective_at": 1, "actor": KEY_SA}):
        raw = json.dumps(odd)
        _same_as_all_the_facts(raw, "api_key.created")
        assert own_facts_and_sources_from_json(raw, "api_key.created")[2] is None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(odd_events())
def test_any_shape_has_the_same_own_facts(event: dict[str, Any]) -> None:
    _same_as_all_the_facts(json.dumps(event), event["type"])


def test_agrees_with_the_emulators_own_reading() -> None:
    """The emulator's index is an independent oracle; the library must agree with it on every event."""
    for event in EVENTS:
        _, _, _, _, project_id, user_id, sa_id, key_id, email, resource_id, _ = index_row(event, b"")
        f = facts(event)
        assert (f.project_id, f.user_id, f.service_account_id, f.api_key_id, f.user_email, f.target_id) == (
            project_id, user_id, sa_id, key_id, email, resource_id), event


def test_the_archive_and_the_csv_read_the_same_columns() -> None:
    for event in EVENTS[:300]:
        row = dict(zip(("id", "effective_at", "type", "tenant", "actor_type", "actor_id", "actor_email",
                        "api_key_id", "project_id", "ip_address", "resource_id", "raw"),
                       archive_row(event, "", tenant=False), strict=True))
        cells = csv_row(event)
        assert {k: row[k] for k in cells if k != "user_agent"} == {k: v for k, v in cells.items() if k != "user_agent"}


def test_bad_json_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not a JSON event"):
        facts_from_json(b"[1, 2]", "login.failed")
    with pytest.raises(ValueError, match="not a JSON event"):
        facts_from_json(b"{", "login.failed")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(odd_events())
def test_any_shape_reads_the_same_both_ways(event: dict[str, Any]) -> None:
    expected = facts(event)
    raw = json.dumps(event)
    assert facts_from_json(raw.encode(), event["type"]) == expected
    got, text = facts_and_payload_from_json(raw, event["type"])
    assert got == expected
    assert _indexed(index_facts_from_json(raw, event["type"])) == _indexed(expected)
    assert (None if text is None else json.loads(bytes(text))) == anatomy.payload(event)
    assert facts(json.loads(raw)) == expected


def test_the_public_names_are_pinned() -> None:
    assert sorted(anatomy.__all__) == ["EventFacts", "EventOwnFacts", "SupportsGet", "facts",
                                       "facts_and_payload_from_json", "facts_from_json",
                                       "facts_payload_and_sources_from_json", "index_facts_from_json",
                                       "own_facts_and_sources_from_json", "payload"]
    assert anatomy.payload(_event(**{"api_key.created": {"id": "k"}})) == {"id": "k"}
    assert anatomy.payload(_event(type="", **{"": {"id": "k"}})) is None
