"""Models: unknown event types are carried, nothing the service sends is lost, every type and payload
of the spec parses to its generated class."""

from __future__ import annotations

import gc
import json
import pickle
from typing import Any

import msgspec
import pytest

import openapiopenai
from openapiopenai import models
from openapiopenai.models import EVENT_CLASSES, AuditLog, AuditLogEventType, ListAuditLogsResponse
from openapiopenai.models._schemas import EVENT_TYPES, PAYLOAD_SCHEMAS

from .conftest import Script, event, ok, page, sync_api


def fetch(body: dict[str, Any] | bytes) -> ListAuditLogsResponse:
    return sync_api(Script(ok(body))).list_audit_logs()


# -- unknown is normal -------------------------------------------------------------------------

def test_unknown_event_type_parses_to_plain_audit_log() -> None:
    sent = event(1, type="made.up", **{"made.up": {"whatever": [1, 2]}})
    (e,) = fetch(page([sent])).data
    assert type(e) is AuditLog
    assert e.type == "made.up"
    assert "made.up" == e.type  # noqa: SIM300  (the str on the left is the point)
    assert isinstance(e.type, AuditLogEventType) and isinstance(e.type, str)
    assert e.type.is_known is False
    assert str(e.type) == "made.up" and f"{e.type}" == "made.up"
    assert e.type in {"made.up", "login.failed"}
    assert {e.type, "made.up", AuditLogEventType.LOGIN_FAILED, "login.failed"} == {"made.up", "login.failed"}
    assert e.payload is not None and e.payload.to_dict() == {"whatever": [1, 2]}
    assert e.to_dict() == sent


def test_unknown_type_passes_back_as_a_filter() -> None:
    script = Script(ok(page([event(1, type="made.up")])), ok(page([])))
    api = sync_api(script)
    (e,) = api.list_audit_logs().data
    api.list_audit_logs(event_types=[e.type])
    assert script.queries[1] == "event_types%5B%5D=made.up"


def test_unknown_type_value_is_the_same_object_each_time() -> None:
    assert AuditLogEventType("made.up.again") is AuditLogEventType("made.up.again")
    assert AuditLogEventType("login.failed") is AuditLogEventType.LOGIN_FAILED


def test_known_types_are_known() -> None:
    assert all(t.is_known for t in AuditLogEventType)
    assert AuditLogEventType.LOGIN_FAILED == "login.failed"
    assert hash(AuditLogEventType.LOGIN_FAILED) == hash("login.failed")


def test_known_type_parses_to_its_subclass_with_typed_payload() -> None:
    sent = event(1, type="login.failed", **{"login.failed": {"error_code": "invalid_password",
                                                              "error_message": "nope", "new": 1}})
    (e,) = fetch(page([sent])).data
    assert type(e) is models.LoginFailedEvent and isinstance(e, AuditLog)
    assert e.type is AuditLogEventType.LOGIN_FAILED and e.type.is_known
    assert type(e.payload) is models.LoginFailedPayload
    assert e.payload.error_code == "invalid_password"
    assert e.payload.error_message == "nope"
    assert e.payload.new == 1  # an undeclared payload key still reads as an attribute
    assert e.payload.model_extra == {"new": 1}
    assert e.login_failed == e.payload  # the openapi-generator-style attribute agrees


def test_event_without_its_payload_key() -> None:
    (e,) = fetch(page([event(1, type="project.created")])).data
    assert type(e) is models.ProjectCreatedEvent
    assert e.payload is None


def test_wrongly_typed_field_is_returned_as_is_not_rejected() -> None:
    # A value of an unexpected JSON type must not fail the page.
    sent = event(1, type="login.failed", project="not-an-object", **{"login.failed": {"error_code": 42}})
    (e,) = fetch(page([sent])).data
    assert e.project is None
    assert e.payload.error_code == 42
    assert e.to_dict() == sent


# -- lossless ----------------------------------------------------------------------------------

RICH_EVENT: dict[str, Any] = {
    "id": "audit_log-xyz",
    "type": "api_key.updated",
    "effective_at": 1720804190,
    "brand_new_field": {"nested": [1, 2.5, None, True, "é"]},
    "project": {"id": "proj_1", "name": "Prod", "colour": "blue"},
    "actor": {
        "type": "session",
        "actor_extra": 1,
        "session": {
            "user": {"id": "user-1", "email": "user@example.com", "tz": "Europe/Paris"},
            "ip_address": "127.0.0.1",
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
            "ja3": "a497151ce4338a12c4418c44d375173e",
            "ja4": "q13d0313h3_55b375c5d22e_c7319ce65786",
            "ip_address_details": {"country": "US", "city": "San Francisco", "region": "California",
                                   "region_code": "CA", "asn": "1234", "latitude": "37.77490",
                                   "longitude": "-122.41940", "postal_code": "94103"},
            "session_extra": "kept",
        },
    },
    "api_key.updated": {"id": "key_1", "changes_requested": {"scopes": ["a", "b"], "why": "rotation"},
                        "payload_extra": {"deep": {"er": 1}}},
}

# Pretty-printed with odd spacing, unicode escapes and an escaped slash: nothing a re-encoder would
# reproduce, so only a byte slice of the body can match.
ODD_EVENT_TEXT = (
    '{  "id" :"audit_log-odd",\n\t"type":   "login.failed" ,"effective_at":1700000000,\n'
    '   "actor": {"type":"session", "session": {"user": {"email": "caf\\u00e9@example.com"},'
    ' "ja3" : "x\\/y"}},\n   "login.failed"  : { "error_code" : "\\u2603" , "extra": [ 1 ,2 ] } }'
)


def odd_body(*event_texts: str) -> bytes:
    inner = " ,\n      ".join(event_texts)
    return ('{\n  "object" : "list",\n  "data" : [\n      ' + inner + '\n  ] ,'
            '\n  "first_id": "a", "last_id":"b",\n  "has_more" : false ,'
            '  "envelope_extra": {"x": "\\u00fc"}\n}\n').encode()


def test_a_page_splits_out_its_events_bytes_only_when_its_events_are_asked_for(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Paging by `last_id` reads the envelope and the heads in one pass; the events' exact bytes are
    # split out of the body when `data` is first read, and only then (once).
    from openapiopenai import _event

    body = odd_body(ODD_EVENT_TEXT, json.dumps(RICH_EVENT)).replace(b',  "envelope_extra": {"x": "\\u00fc"}', b"")
    assert b"envelope_extra" not in body  # the spec's envelope only: the one-pass path
    splits: list[int] = []
    split = _event._event_bytes
    monkeypatch.setattr(_event, "_event_bytes", lambda b: splits.append(len(b)) or split(b))
    result = fetch(body)
    assert (result.last_id, result.has_more, splits) == ("b", False, [])
    first, second = result.data
    assert splits == [len(body)]
    assert first.raw_json == ODD_EVENT_TEXT and second.raw_json == json.dumps(RICH_EVENT)
    assert first.id == "audit_log-odd" and second.actor.session.session_extra == "kept"
    assert result.data is result.data and splits == [len(body)]
    assert result.to_dict() == json.loads(body)


def test_extra_fields_everywhere_are_kept_and_readable() -> None:
    body = page([RICH_EVENT], envelope_extra={"k": [1]})
    result = fetch(body)
    (e,) = result.data
    assert e.to_dict() == RICH_EVENT
    assert json.loads(e.to_json()) == RICH_EVENT
    assert result.to_dict() == body
    assert result.envelope_extra == {"k": [1]} and result["envelope_extra"] == {"k": [1]}
    assert result.model_extra == {"envelope_extra": {"k": [1]}}
    session = e.actor.session
    assert session.user_agent == "Mozilla/5.0 (X11; Linux x86_64)"
    assert session.ja3 == "a497151ce4338a12c4418c44d375173e"
    assert session.ja4 == "q13d0313h3_55b375c5d22e_c7319ce65786"
    assert session.ip_address_details.city == "San Francisco"
    assert session.ip_address_details.longitude == "-122.41940"
    assert session.ip_address_details.postal_code == "94103"
    assert session.session_extra == "kept"
    assert session.user.tz == "Europe/Paris"
    assert e.actor.actor_extra == 1
    assert e.project.colour == "blue" and e.project.name == "Prod"
    assert e.brand_new_field == {"nested": [1, 2.5, None, True, "é"]}
    assert e["brand_new_field"] == e.get("brand_new_field") and "brand_new_field" in e
    assert e.payload.changes_requested.scopes == ["a", "b"]
    assert e.payload.changes_requested.why == "rotation"
    assert e.payload.payload_extra == {"deep": {"er": 1}}
    with pytest.raises(AttributeError):
        _ = e.no_such_field


def test_raw_json_is_the_exact_bytes_of_each_event() -> None:
    second = json.dumps(RICH_EVENT, indent=3, ensure_ascii=True)
    body = odd_body(ODD_EVENT_TEXT, second)
    result = fetch(body)
    first_event, second_event = result.data
    assert first_event.raw_json == ODD_EVENT_TEXT
    assert second_event.raw_json == second
    assert first_event.to_json() == ODD_EVENT_TEXT
    assert first_event.to_dict() == json.loads(ODD_EVENT_TEXT)
    assert first_event.payload.error_code == "\u2603"
    assert first_event.actor.session.user.email == "café@example.com"
    assert first_event.actor.session.ja3 == "x/y"
    assert result.to_dict() == json.loads(body)
    assert second_event.to_dict() == RICH_EVENT


def test_to_dict_is_a_copy() -> None:
    (e,) = fetch(page([RICH_EVENT])).data
    d = e.to_dict()
    d["actor"]["session"]["ja3"] = "changed"
    assert e.actor.session.ja3 == "a497151ce4338a12c4418c44d375173e"
    assert e.to_dict() == RICH_EVENT


def test_event_round_trips_through_json_and_dict() -> None:
    (e,) = fetch(page([RICH_EVENT])).data
    again = AuditLog.from_json(e.to_json())
    assert type(again) is models.ApiKeyUpdatedEvent
    assert again.to_dict() == RICH_EVENT and again == e
    from_dict = AuditLog.from_dict(RICH_EVENT)
    assert type(from_dict) is models.ApiKeyUpdatedEvent and from_dict.to_dict() == RICH_EVENT
    assert json.loads(from_dict.raw_json) == RICH_EVENT
    assert pickle.loads(pickle.dumps(e)).to_dict() == RICH_EVENT


# -- an event's parts are typed records, decoded once from its bytes ---------------------------

def test_parts_are_untracked_records_decoded_once() -> None:
    (e,) = fetch(page([RICH_EVENT])).data
    actor = e.actor
    assert isinstance(actor, msgspec.Struct) and isinstance(actor, openapiopenai._model.Model)
    assert e.actor is actor and e.payload is e.payload and e.api_key_updated is e.payload
    # No cycle collector work per record: nothing a record holds points back at it.
    assert not gc.is_tracked(actor) and not gc.is_tracked(actor.session.user)
    assert actor.session.ip_address_details.country == "US"


def test_a_part_that_does_not_fit_its_type_is_built_as_sent() -> None:
    # The typed decode rejects a number where the spec says string; the event still reads, as sent.
    sent = event(1, type="login.failed", actor={"type": "session", "session": {"ip_address": 5, "odd": [1]},
                                               "api_key": "not-an-object"})
    (e,) = fetch(page([sent])).data
    assert e.actor.session.ip_address == 5 and e.actor.session.odd == [1]
    assert e.actor.api_key is None
    assert e.actor.to_dict() == sent["actor"] and e.to_dict() == sent


def test_every_part_of_an_api_key_actor_reads_back_as_sent() -> None:
    # The user sits under the session or under the API key: one schema at two places, the API key's a
    # subclass that knows its own place (so the decode links nothing for it).
    actor = {"type": "api_key", "api_key": {"id": "key_1", "type": "user", "k": 1,
                                            "user": {"id": "user-2", "email": "b@example.com", "u": 2},
                                            "service_account": {"id": "svc_1", "s": 3}}}
    (e,) = fetch(page([event(1, actor=actor, project={"id": "proj_1", "p": 4})])).data
    key = e.actor.api_key
    assert isinstance(key.user, models.AuditLogActorUser) and type(key.user) is models.AuditLogActorApiKeyUser
    assert not type(e)._actor_cls._relinks  # nothing of an actor is away from its class's place
    assert key.user.email == "b@example.com" and key.user.u == 2 and key.user.to_dict() == actor["api_key"]["user"]
    assert key.service_account.s == 3 and key.k == 1 and e.actor.to_dict() == actor
    assert e.project.p == 4 and e.project.to_dict() == {"id": "proj_1", "p": 4}
    (s,) = fetch(page([RICH_EVENT])).data
    assert s.actor.session.user.to_dict() == RICH_EVENT["actor"]["session"]["user"]


def test_records_away_from_their_usual_place_in_both_actor_and_payload_read_back_as_sent() -> None:
    # One event links several parts after its decode: the API key's user and a payload's list items
    # (a known type), or any payload of a type nobody registered (told its key); each reads its own.
    actor = {"type": "api_key", "api_key": {"id": "key_1", "user": {"id": "user-2", "u": 2}}}
    configs = {"configs": [{"id": "c1", "x": 1}, {"id": "c2", "x": 2}]}
    unknown = {"items": [{"a": 1}], "k": 3}
    known, other = fetch(page([event(1, type="ip_allowlist.config.activated", actor=actor,
                                     **{"ip_allowlist.config.activated": configs}),
                               event(2, type="made.up.type", actor=actor, **{"made.up.type": unknown})])).data
    for e in (known, other):
        assert e.actor.api_key.user.u == 2 and e.actor.api_key.user.to_dict() == actor["api_key"]["user"]
    assert [c.to_dict() for c in known.payload.configs] == configs["configs"]
    assert [c.x for c in known.payload.configs] == [1, 2]
    assert other.payload.to_dict() == unknown and other.payload.k == 3


def test_a_key_named_like_the_hidden_link_does_not_break_the_record() -> None:
    sent = event(1, actor={"type": "session", "\u2063src": "junk", "\u2063path": [9],
                           "session": {"\u2063path": ["x"], "ja3": "j"}})
    (e,) = fetch(page([sent])).data
    assert e.actor.to_dict() == sent["actor"] and e.actor.type == "session"
    assert e.actor.session.to_dict() == sent["actor"]["session"] and e.actor.session.ja3 == "j"


def test_constructed_record_holding_a_parsed_one_keeps_its_extras() -> None:
    (e,) = fetch(page([RICH_EVENT])).data
    actor = models.AuditLogActor(type="session", session=e.actor.session)
    assert actor.to_dict() == {"type": "session", "session": RICH_EVENT["actor"]["session"]}
    assert actor.session.session_extra == "kept"
    assert models.AuditLogActorUser(id="u").to_dict() == {"id": "u"}
    assert repr(models.AuditLogActorUser(id="u", email="e")) == "AuditLogActorUser(id='u', email='e')"


def test_records_pickle_and_compare_by_their_json() -> None:
    (e,) = fetch(page([RICH_EVENT])).data
    session = e.actor.session
    again = pickle.loads(pickle.dumps(session))
    assert type(again) is models.AuditLogActorSession and again == session
    assert again.to_dict() == RICH_EVENT["actor"]["session"] and again.user.tz == "Europe/Paris"
    assert session != models.AuditLogActorSession(ja3=session.ja3)
    with pytest.raises(TypeError):
        hash(session)


def test_records_are_read_only_like_what_was_sent() -> None:
    (e,) = fetch(page([RICH_EVENT])).data
    with pytest.raises(AttributeError):
        e.actor.session.ja3 = "changed"  # type: ignore[misc]
    assert e.actor.session.ja3 == "a497151ce4338a12c4418c44d375173e"
    assert e.to_dict() == RICH_EVENT


def test_events_built_from_dicts_read_the_same_typed_parts() -> None:
    result = ListAuditLogsResponse.from_dict(page([RICH_EVENT, event(2)]))
    first, second = result.data
    assert first.actor.session.ip_address_details.postal_code == "94103"
    assert first.payload.changes_requested.to_dict() == RICH_EVENT["api_key.updated"]["changes_requested"]
    assert second.actor.session.user.email == "a@example.com"
    from_dict = AuditLog.from_dict(RICH_EVENT)
    assert from_dict.payload.payload_extra == {"deep": {"er": 1}}


def test_from_dict_does_not_alias_the_callers_dict() -> None:
    source = json.loads(json.dumps(RICH_EVENT))
    e = AuditLog.from_dict(source)
    source["actor"]["type"] = "changed"
    assert e.actor.type == "session"


def test_page_round_trips() -> None:
    body = page([RICH_EVENT, event(2, type="made.up")], has_more=True, envelope_extra=1)
    result = fetch(body)
    assert result.to_dict() == body
    again = ListAuditLogsResponse.from_json(result.to_json())
    assert again.to_dict() == body
    assert [type(x) for x in again.data] == [models.ApiKeyUpdatedEvent, AuditLog]
    assert again.has_more is True and again.first_id == "audit_log-xyz" and again.last_id == "audit_log-2"
    assert ListAuditLogsResponse.from_dict(body).data[0].to_dict() == RICH_EVENT
    assert ListAuditLogsResponse.from_dict(None) is None
    assert pickle.loads(pickle.dumps(result)).to_dict() == body


def test_every_model_class_has_from_dict_and_from_json() -> None:
    classes = [getattr(models, n) for n in dir(models)
               if isinstance(getattr(models, n), type) and issubclass(getattr(models, n), openapiopenai._model.Model)]
    assert len(classes) > 200
    sample = {"id": "x", "type": "login.failed", "effective_at": 1, "unknown": {"a": [1]}}
    for cls in classes:
        a = cls.from_dict(sample)
        b = cls.from_json(json.dumps(sample))
        assert a.to_dict() == sample == b.to_dict(), cls
        assert json.loads(a.to_json()) == sample, cls
        assert cls.__name__ in repr(a) or isinstance(a, AuditLog), cls
        assert cls.from_dict(None) is None and cls.from_json("null") is None
        with pytest.raises(ValueError):
            cls.from_dict([1])
        with pytest.raises(ValueError):
            cls.from_json("{not json")


def test_constructors_build_the_json_the_service_would_send() -> None:
    p = models.ListAuditLogsEffectiveAtParameter(gte=1, lt=2)
    assert p.to_dict() == {"gte": 1, "lt": 2}
    p.gte = None
    p.lte = 5
    assert p.to_dict() == {"lt": 2, "lte": 5}
    e = models.AuditLog(id="audit_log-1", type=AuditLogEventType.LOGIN_FAILED, effective_at=3,
                        actor=models.AuditLogActor(type="session", session=models.AuditLogActorSession(ja3="j")),
                        login_failed=models.LoginFailedPayload(error_code="c"))
    assert e.to_dict() == {"id": "audit_log-1", "type": "login.failed", "effective_at": 3,
                           "actor": {"type": "session", "session": {"ja3": "j"}},
                           "login.failed": {"error_code": "c"}}


def test_readable_repr() -> None:
    (e,) = fetch(page([RICH_EVENT])).data
    text = repr(e)
    assert text.startswith("ApiKeyUpdatedEvent(id='audit_log-xyz', type=")
    assert "effective_at=1720804190" in text and "brand_new_field" in text
    assert repr(fetch(page([])).data) == "[]"
    p = models.ListAuditLogsEffectiveAtParameter(gte=5)
    assert repr(p) == "ListAuditLogsEffectiveAtParameter(gte=5)"
    result = fetch(page([event(1)]))
    assert repr(result).startswith("ListAuditLogsResponse(object='list', data=[LoginFailedEvent(id='audit_log-1'")
    assert "has_more=False" in repr(result)


def test_error_models() -> None:
    body = {"error": {"message": "m", "type": "t", "param": None, "code": "c", "new": 1}}
    err = models.ErrorResponse.from_dict(body)
    assert err.error.message == "m" and err.error.code == "c" and err.error.new == 1
    assert err.to_dict() == body


# -- every event type and every payload of the spec -------------------------------------------

def test_counts_match_the_spec() -> None:
    assert len(AuditLogEventType) == 145 == len(EVENT_TYPES) == len(EVENT_CLASSES)
    assert [t.value for t in AuditLogEventType] == list(EVENT_TYPES)
    assert len(PAYLOAD_SCHEMAS) == 55


@pytest.mark.parametrize("member", list(AuditLogEventType), ids=lambda m: m.value)
def test_every_event_type_parses_to_its_class(member: AuditLogEventType) -> None:
    sent = event(1, type=member.value, **{member.value: {"id": "x", "new_field": True}})
    (e,) = fetch(page([sent])).data
    cls = EVENT_CLASSES[member.value]
    assert type(e) is cls and cls.event_type is member
    assert e.type is member
    assert e.payload is not None and e.payload.id == "x" and e.payload.new_field is True
    assert e.to_dict() == sent


def sample(schema: dict[str, Any], path: str) -> Any:
    """A value for ``schema`` whose leaves differ, so a property read from the wrong key fails."""
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][-1]
    if kind == "object":
        props = schema.get("properties")
        if not props:
            return {"free": path, "n": [1, {"deep": True}]}
        return {k: sample(v, f"{path}.{k}") for k, v in props.items()}
    if kind == "array":
        return [sample(schema.get("items", {"type": "string"}), f"{path}[{i}]") for i in range(2)]
    if kind == "integer":
        return len(path) * 7
    if kind == "boolean":
        return len(path) % 2 == 0
    if kind == "number":
        return len(path) / 4
    return f"<{path}>"


def attr(key: str) -> str:
    import keyword
    import re

    name = re.sub(r"[^0-9A-Za-z_]", "_", key)
    return name + "_" if keyword.iskeyword(name) or name[:1].isdigit() else name


def read_back(model: Any, schema: dict[str, Any], sent: Any, where: str) -> None:
    """Every declared property reads back what was sent, as a model for objects and lists of them."""
    for key, sub in schema.get("properties", {}).items():
        value = getattr(model, attr(key))
        if sub.get("type") == "object" and sub.get("properties"):
            assert isinstance(value, openapiopenai._model.Model), f"{where}.{key}"
            assert value.to_dict() == sent[key], f"{where}.{key}"
            read_back(value, sub, sent[key], f"{where}.{key}")
        elif sub.get("type") == "array" and sub.get("items", {}).get("type") == "object":
            assert [v.to_dict() for v in value] == sent[key], f"{where}.{key}"
            for i, (item, item_sent) in enumerate(zip(value, sent[key], strict=True)):
                read_back(item, sub["items"], item_sent, f"{where}.{key}[{i}]")
        else:
            assert value == sent[key], f"{where}.{key}"


@pytest.mark.parametrize("event_type", list(PAYLOAD_SCHEMAS))
def test_every_payload_reads_back_what_was_sent(event_type: str) -> None:
    schema = PAYLOAD_SCHEMAS[event_type]
    payload = sample(schema, event_type)
    sent = event(1, type=event_type, **{event_type: payload})
    (e,) = fetch(page([sent])).data
    assert type(e.payload).__name__ != "AuditLogPayload", "a detailed payload must get its own class"
    assert e.payload.to_dict() == payload
    read_back(e.payload, schema, payload, event_type)
    # The per-type attribute of AuditLog (the official SDK's shape) agrees with .payload.
    assert getattr(e, attr(event_type)) == e.payload
    assert e.to_dict() == sent


def test_is_known_stays_false_after_many_unknown_types() -> None:
    # In a subprocess: it fills the (bounded) cache of unknown values for the whole interpreter.
    import subprocess
    import sys

    code = ("from openapiopenai.models import AuditLogEventType as T\n"
            "for i in range(10_050): T(f'x.{i}')\n"
            "assert T('another.new').is_known is False and T('x.3').is_known is False\n"
            "assert T('login.failed').is_known is True\n"
            "assert T('another.new') == 'another.new'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_records_decoded_in_threads_at_once_each_read_their_own_event() -> None:
    # A record's `_src` is filled by the decode from a context variable: threads decoding at the same
    # time (switching as often as the interpreter allows) must each get their own event's bytes.
    import sys
    import threading

    from openapiopenai._parse import parse_page

    def body(n: int) -> bytes:
        actor = {"type": "session", "thread": n,
                 "session": {"user": {"id": f"user-{n}", "t": n}, "ip_address": "10.0.0.1", "t": n}}
        return json.dumps(page([event(f"{n}-{i}", actor=actor, project={"id": "p", "t": n}) for i in range(20)]),
                          ).encode()

    bodies = [body(n) for n in range(4)]
    wrong: list[str] = []
    start = threading.Barrier(len(bodies))

    def work(n: int) -> None:
        start.wait(timeout=30)
        for _ in range(100):
            for e in parse_page(bodies[n], ListAuditLogsResponse).data:
                session = e.actor.session
                seen = (e.actor.thread, session.t, session.user.t, e.project.t, session.user.to_dict()["t"])
                if seen != (n,) * 5:
                    wrong.append(f"thread {n} read {seen}")

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work, args=(n,)) for n in range(len(bodies))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        sys.setswitchinterval(interval)
    assert not any(t.is_alive() for t in threads)
    assert wrong == []


# -- a parsed page builds its events when they are first asked for ------------------------------------

def test_a_page_read_whole_before_its_events_keeps_every_event() -> None:
    sent = page([event(1), event(2, type="made.up", **{"made.up": {"k": 1}})], has_more=True)
    first = fetch(sent)
    # The page's events are built on first use: the whole page, asked for first, still has them all.
    assert first.to_dict() == sent and first["data"] == sent["data"]
    assert [e.id for e in first.data] == ["audit_log-1", "audit_log-2"]
    second = fetch(sent)
    events = second.data
    assert second.data is events  # built once
    assert [type(e) for e in events] == [models.LoginFailedEvent, AuditLog]
    assert second.has_more is True and second.last_id == "audit_log-2" and second.to_dict() == sent
    assert pickle.loads(pickle.dumps(fetch(sent))).to_dict() == sent


def test_head_fields_of_an_event_built_from_a_dict() -> None:
    # `id` and `effective_at` read the parsed head in C; an event built from a dict has no head and
    # reads them from its dict, as before (a missing one is a KeyError, not an attribute error).
    e = AuditLog.from_dict(event(7, effective_at=5))
    assert e is not None and (e.id, e.effective_at, e.type) == ("audit_log-7", 5, "login.failed")
    bare = AuditLog(type="login.failed")
    with pytest.raises(KeyError):
        _ = bare.id
    with pytest.raises(KeyError):
        _ = bare.effective_at
    assert bare.actor is None and bare.to_dict() == {"type": "login.failed"}
    state = pickle.loads(pickle.dumps(fetch(page([event(8)])).data[0]))
    assert (state.id, state.effective_at) == ("audit_log-8", 1_700_000_000)
