"""Events for the tests of everything that reads events: the emulator's, and odd ones of any shape."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from openapiopenai.emulator._generator import Generator

__all__ = ["DETAILS", "EVENTS", "UNKNOWN_TYPE", "odd_events"]

DETAILS = {"country": "US", "city": "San Francisco", "region": "California", "region_code": "CA",
           "asn": "7922", "latitude": "37.77490", "longitude": "-122.41940"}
UNKNOWN_TYPE = "brand_new.thing_happened"


def _emulator_events() -> list[dict[str, Any]]:
    generator = Generator(3, newer_types=True)
    events = [e for batch in generator.events(1500) for e in batch]
    events.append(generator.complete({"type": UNKNOWN_TYPE}, now=1_800_000_000))
    return events


#: Every type of the spec, the newer ones the official SDK knows and a made-up one, from the emulator.
EVENTS = _emulator_events()


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8)
_maybe = st.one_of(_json, st.just("absent"))
_str_or_odd = st.one_of(st.text(max_size=4), _json)


@st.composite
def odd_events(draw: st.DrawFn) -> dict[str, Any]:
    """Events of every shape near the real one: parts missing, null, of the wrong type, or extra."""
    user = draw(st.one_of(_json, st.fixed_dictionaries({}, optional={"id": _str_or_odd, "email": _str_or_odd})))
    session = draw(st.one_of(_json, st.fixed_dictionaries({}, optional={
        "user": st.just(user), "ip_address": _str_or_odd, "user_agent": _str_or_odd, "ja3": _str_or_odd, "ja4": _str_or_odd,
        "ip_address_details": st.one_of(_json, st.dictionaries(st.sampled_from(sorted(DETAILS)), _str_or_odd))})))
    api_key = draw(st.one_of(_json, st.fixed_dictionaries({}, optional={
        "id": _str_or_odd, "type": _str_or_odd, "user": st.just(user),
        "service_account": st.one_of(_json, st.fixed_dictionaries({"id": _str_or_odd}))})))
    actor = draw(st.one_of(_json, st.fixed_dictionaries({}, optional={
        "type": st.sampled_from(["session", "api_key", "", "robot"]) | _json,
        "session": st.just(session), "api_key": st.just(api_key)})))
    event_type = draw(st.sampled_from([
        "login.failed", "logout.succeeded", "api_key.created", "user.added", "invite.sent", "role.assignment.created",
        "group.created", "tenant.group.member.added", "actor", "project", "x.y", "id", ""]))
    payload = draw(st.one_of(_json, st.fixed_dictionaries({}, optional={
        "id": _str_or_odd, "name": _str_or_odd, "error_code": _str_or_odd,
        "data": st.one_of(_json, st.fixed_dictionaries({}, optional={"scopes": _json | st.lists(st.text())}))})))
    event: dict[str, Any] = {"id": draw(_str_or_odd), "type": event_type, "effective_at": draw(st.integers() | _json)}
    for key, value in (("actor", actor), ("project", draw(_json | st.fixed_dictionaries({"id": _str_or_odd}))),
                       (event_type, payload)):
        if draw(st.booleans()):
            event[key] = value
    event.update(draw(st.dictionaries(st.text(max_size=6).filter(lambda k: k != "type"), _maybe, max_size=2)))
    return event


