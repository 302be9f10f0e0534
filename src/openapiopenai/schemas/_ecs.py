"""An audit-log event as an Elastic Common Schema 9.4.0 document.

The categorisation (``event.kind/category/type/outcome``) comes from the mapping table; the fields ECS
defines are filled from the event's facts; everything ECS has no field for (JA4, the api key, the
target, the whole payload) sits under the one custom namespace ``openai.audit``, so nothing is lost
and nothing collides with a future ECS field.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, NamedTuple

import msgspec

from openapiopenai.anatomy import EventFacts, EventOwnFacts, SupportsGet, facts, facts_from_json, payload
from openapiopenai.schemas._table import ECS_VERSION, rule_for
from openapiopenai.schemas._values import ip_address, number

__all__ = ["DATASET", "build_ecs", "encode_ecs_into", "to_ecs"]

DATASET = "openai.audit"
_EPOCH = datetime.datetime(1970, 1, 1)   # naive UTC: isoformat() then has no offset to strip
_ECS = {"version": ECS_VERSION}


# The time of day as text, in two tables (a minute's and a second's), so an export of a million events
# formats no number: `_timestamp` is one lookup per part.
_MINUTES = tuple(f"T{hour:02}:{minute:02}:" for hour in range(24) for minute in range(60))
_SECONDS = tuple(f"{second:02}.000Z" for second in range(60))


def _timestamp(seconds: int) -> str | None:
    global _last
    last = _last
    if seconds == last[0]:   # an export's events come in time order, about half of them in a taken second
        return last[1]
    day, second = divmod(seconds, 86400)
    date = _dates.get(day) or _date(day)
    if date is None:
        return None
    minute, second = divmod(second, 60)
    text = date + _MINUTES[minute] + _SECONDS[second]
    _last = (seconds, text)   # one assignment: a thread reading it sees a pair that belongs together
    return text


#: The last second `_timestamp` formatted, and its text.
_last: tuple[int | None, str | None] = (None, None)


_MAX_DATES = 4096   # an export spans few days; past this many a day is worked out each time
_dates: dict[int, str] = {}


def _date(day: int) -> str | None:
    """Day ``day`` after 1970-01-01 (an export's events fall on few days, so each is worked out once)."""
    try:
        # isoformat pads the year to four digits (strftime's %Y does not everywhere).
        date = (_EPOCH + datetime.timedelta(days=day)).date().isoformat()
    except OverflowError:   # beyond year 9999: no date ECS can hold; the seconds stay in openai.audit
        return None
    if len(_dates) < _MAX_DATES:
        _dates[day] = date
    return date


def _put(obj: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        obj[key] = value


def _source(ip: str | None, country: str | None, city: str | None, region: str | None, region_code: str | None,
            latitude: str | None, longitude: str | None, asn: str | None) -> dict[str, Any]:
    source: dict[str, Any] = {}
    _put(source, "ip", ip_address(ip))
    geo: dict[str, Any] = {}
    _put(geo, "country_iso_code", country)
    _put(geo, "city_name", city)
    _put(geo, "region_name", region)
    if country is not None and region_code is not None:
        geo["region_iso_code"] = f"{country}-{region_code}"
    lat, lon = number(latitude, float), number(longitude, float)
    if lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180:
        geo["location"] = {"lat": lat, "lon": lon}
    if geo:
        source["geo"] = geo
    if (as_number := number(asn, int)) is not None and 0 <= as_number < 2**32:
        source["as"] = {"number": as_number}
    return source


# A document is made of parts, each read from one part of the event, as in `_ocsf`: the actor's and the
# project's are built and encoded once per distinct actor or project by the export; the rest (id, time,
# target, payload) is a tree of structs that msgspec encodes in one call, and that `build_ecs` turns into
# the very same dicts, so the two ways cannot differ. `user` and `openai.audit` take keys from the actor
# too, so the actor's part is its top-level keys and the values it gives those two objects.

class _Fields(msgspec.Struct, omit_defaults=True, gc=False):
    """An object of the document: its fields in ECS's order, a None field left out (as `_put` does)."""


class _Ref(_Fields):
    id: str | None = None


class _ApiKey(_Fields):
    id: str | None = None
    type: str | None = None


class _Named(_Fields):   # `group`, `openai.audit.target`
    type: str | None = None
    id: str | None = None
    name: str | None = None


class _Error(_Fields):
    code: str | None = None
    message: str | None = None


class _Person(_Fields):   # `user.target`
    id: str | None = None
    email: str | None = None


class _User(_Fields):
    id: str | None = None
    email: str | None = None
    target: _Person | None = None


class _Event(_Fields):
    kind: str | None = None
    category: list[str] | None = None
    type: list[str] | None = None
    outcome: str | None = None
    module: str | None = None
    dataset: str | None = None
    action: str | None = None
    id: str | None = None
    reason: str | None = None


class _Audit(_Fields):
    # From the actor (`ActorFields`), then from the event.
    actor_type: str | None = None
    api_key: _ApiKey | None = None
    service_account: _Ref | None = None
    ja4: str | None = None
    ip_address: str | None = None
    effective_at: int | None = None
    type: str | None = None
    target: _Named | None = None
    scopes: list[str] | None = None
    payload: Any = None


class _Custom(_Fields):
    audit: _Audit | None = None


class _Rest(_Fields):
    """The document after the actor's and the project's top-level keys."""

    timestamp: str | None = msgspec.field(default=None, name="@timestamp")
    event: _Event | None = None
    error: _Error | None = None
    group: _Named | None = None
    user: _User | None = None
    openai: _Custom | None = None


#: What the actor gives `user` (id, email) and `openai.audit` (actor_type .. ip_address), in that order.
ActorFields = tuple[Any, ...]


class _Kind(NamedTuple):
    """What the type alone decides, worked out once per type."""

    category: list[str]
    """The categorisation lists are shared by every event of the type: an encoder only reads them."""
    types: list[str]
    outcome: str
    account_change: bool
    group: bool
    entity: str
    target_is_user: bool


_MAX_KINDS = 1024
_kinds: dict[str | None, _Kind] = {}


def _kind(event_type: str | None) -> _Kind:
    kind = _kinds.get(event_type)
    if kind is None:
        rule = rule_for(event_type or "")
        kind = _Kind(list(rule.ecs_category), list(rule.ecs_type), rule.outcome,
                     rule.schema_name == "account_change", rule.schema_name == "group_management", rule.entity,
                     rule.entity == "user")
        if len(_kinds) < _MAX_KINDS:
            _kinds[event_type] = kind
    return kind


def _actor_part(f: EventFacts) -> tuple[dict[str, Any], ActorFields]:
    """From the actor's facts only."""
    top: dict[str, Any] = {}
    ip = ip_address(f.ip_address)
    if any((f.ip_address, f.ip_country, f.ip_city, f.ip_region, f.ip_region_code, f.ip_latitude, f.ip_longitude,
            f.ip_asn)):
        source = _source(f.ip_address, f.ip_country, f.ip_city, f.ip_region, f.ip_region_code, f.ip_latitude,
                         f.ip_longitude, f.ip_asn)
        if source:
            top["source"] = source
    if f.user_agent is not None:
        top["user_agent"] = {"original": f.user_agent}
    if f.ja3 is not None:
        top["tls"] = {"client": {"ja3": f.ja3}}
    related: dict[str, Any] = {}
    if ip is not None:
        related["ip"] = [ip]
    users = [u for u in (f.actor_id, f.user_email) if u is not None]
    if users:
        related["user"] = users
    if related:
        top["related"] = related
    api_key = None if f.api_key_id is None and f.api_key_type is None else _ApiKey(f.api_key_id, f.api_key_type)
    account = None if f.service_account_id is None else _Ref(f.service_account_id)
    # An address ECS's `ip` type would not take stays in openai.audit.
    return top, (f.actor_id, f.user_email, f.actor_type, api_key, account, f.ja4, None if ip else f.ip_address)


def _project_part(f: EventFacts) -> dict[str, Any]:
    cloud: dict[str, Any] = {"provider": "openai"}
    if f.project_id is not None or f.project_name is not None:
        project: dict[str, Any] = {}
        _put(project, "id", f.project_id)
        _put(project, "name", f.project_name)
        cloud["project"] = project
    return {"cloud": cloud}


def _rest(kind: _Kind, f: EventFacts | EventOwnFacts, actor: ActorFields, body: Any) -> _Rest:
    """From the event's id, time, target and payload (``body``, carried to ``openai.audit.payload`` as is)."""
    error = None if f.error_code is None and f.error_message is None else _Error(f.error_code, f.error_message)
    target = None
    if kind.account_change:
        target_id = f.target_id if kind.target_is_user else f.subject_user_id
        if target_id is not None or f.target_email is not None:
            target = _Person(target_id, f.target_email)
    group = _Named(None, f.target_id, f.target_name) if kind.group and (f.target_id or f.target_name) else None
    user_id, user_email, actor_type, api_key, account, ja4, odd_ip = actor
    user = None if user_id is None and user_email is None and target is None else _User(user_id, user_email, target)
    audit = _Audit(actor_type, api_key, account, ja4, odd_ip, f.effective_at, f.type,
                   _Named(kind.entity, f.target_id, f.target_name), None if f.scopes is None else list(f.scopes),
                   body)
    event = _Event("event", kind.category, kind.types, kind.outcome, "openai", DATASET, f.type, f.id, f.error_message)
    return _Rest(None if f.effective_at is None else _timestamp(f.effective_at), event, error, group, user,
                 _Custom(audit))


def build_ecs(f: EventFacts, body: Any) -> dict[str, Any]:
    """The ECS document from an event's facts and its payload, carried to ``openai.audit.payload`` as is
    (a dict, or its JSON text as a ``msgspec.Raw``). Every part is a fresh object."""
    top, actor = _actor_part(f)
    doc: dict[str, Any] = {"ecs": dict(_ECS), **top, **_project_part(f)}
    rest: dict[str, Any] = msgspec.to_builtins(_rest(_kind(f.type), f, actor, None))
    if body is not None:   # the last key of openai.audit; to_builtins would not take a msgspec.Raw
        rest["openai"]["audit"]["payload"] = body
    doc.update(rest)
    return doc


# -- the export's way: the same parts, the actor's and project's encoded once each -----------------

_encode = msgspec.json.encode
_encode_into = msgspec.json.Encoder().encode_into
_HEAD = b"{" + _encode({"ecs": _ECS})[1:-1] + b","
_COMMA = ord(",")
#: Distinct actors and projects kept encoded; past this many a new one is encoded each time it recurs.
_MAX_CACHED = 8192
#: The actor's top-level keys as JSON members ready to splice (``"k":v,...,`` or nothing), and its fields.
Encoded = tuple[bytes, ActorFields]
_actor_parts: dict[bytes, Encoded] = {}
_project_parts: dict[bytes, bytes] = {}


def _members(top: dict[str, Any]) -> bytes:
    return _encode(top)[1:-1] + b"," if top else b""


def _encoded_actor(f: EventFacts) -> Encoded:
    top, fields = _actor_part(f)
    return _members(top), fields


def _all_facts(f: EventFacts | EventOwnFacts, raw: str | bytes) -> EventFacts:
    """All the facts, for an actor or a project met for the first time (``f`` only the event's own: read
    from ``raw``, the event's text, as `anatomy.own_facts_and_sources_from_json` says they are)."""
    return f if isinstance(f, EventFacts) else facts_from_json(raw, f.type or "")


def encode_ecs_into(line: bytearray, f: EventFacts | EventOwnFacts, body: Any, actor_key: bytes | None,
                    project_key: bytes | None, raw: str | bytes) -> int:
    """Append ``build_ecs(facts, body)`` as JSON to ``line``, the actor's and project's parts taken from
    the encoded ones kept for ``actor_key`` / ``project_key`` (the exact bytes they were read from; None:
    not kept), where ``f`` is all the facts or the event's own (`anatomy.own_facts_and_sources_from_json`)
    and ``raw`` the event's text. Returns where the rest (id, time, target, payload: the only text copied
    from the event) begins."""
    actor = None if actor_key is None else _actor_parts.get(actor_key)
    if actor is None:
        actor = _encoded_actor(_all_facts(f, raw))
        if actor_key is not None and len(_actor_parts) < _MAX_CACHED:
            _actor_parts[actor_key] = actor
    project = None if project_key is None else _project_parts.get(project_key)
    if project is None:
        project = _members(_project_part(_all_facts(f, raw)))
        if project_key is not None and len(_project_parts) < _MAX_CACHED:
            _project_parts[project_key] = project
    line += _HEAD
    line += actor[0]
    line += project
    # The rest is one object: written over the last comma (its "{"), which is then put back.
    at = len(line) - 1
    _encode_into(_rest(_kinds.get(f.type) or _kind(f.type), f, actor[1], body), line, at)
    line[at] = _COMMA
    return at


def to_ecs(event: SupportsGet | Mapping[str, Any]) -> dict[str, Any]:
    """``event`` (a decoded audit-log event) as an ECS 9.4.0 document; never raises for an odd event."""
    return build_ecs(facts(event), payload(event))
