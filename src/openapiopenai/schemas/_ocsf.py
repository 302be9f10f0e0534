"""An audit-log event as an OCSF 1.8.0 event of the class the mapping table gives its type.

Every object the class requires is present, so any event, however odd, maps to something a validator
accepts: where the event leaves a required object empty (a failed login names no user, an api-key action
has no source IP), it holds the placeholder name ``unknown``. Values OCSF constrains (an email, an IP, a
latitude) are set only when they are what the schema says; the event's own text stays in ``unmapped``,
which carries everything OCSF has no place for on these classes (JA3, JA4, the payload), so nothing is lost.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import msgspec

from openapiopenai.anatomy import EventFacts, EventOwnFacts, SupportsGet, facts, facts_from_json, payload
from openapiopenai.schemas._table import OCSF_VERSION, TypeRule, rule_for
from openapiopenai.schemas._values import email, ip_address, number

__all__ = ["CATEGORY_NAMES", "build_ocsf", "encode_ocsf_into", "to_ocsf"]

#: OCSF category uid -> caption (a test checks them against the schema).
CATEGORY_NAMES = {3: "Identity & Access Management", 6: "Application Activity"}
# The constant parts are written out per event (not shared objects): a caller may change what it gets.
_PRODUCT_NAME, _VENDOR, _FEATURE = "Audit Logs", "OpenAI", "Organization Audit Logs API"
_PROFILE = "cloud"
_CLOUD_PROVIDER = "OpenAI"
_SERVICE = "OpenAI Platform"
_UNKNOWN = "unknown"
_STATUS = {False: (1, "Success"), True: (2, "Failure")}


def _user(uid: str | None, address: str | None, type_id: int | None = None) -> dict[str, Any] | None:
    """An OCSF user; it needs a uid or a name, so an address alone also serves as the name."""
    email_addr = email(address)
    if uid is None and address is None:
        return None
    user: dict[str, Any] = {"uid": uid} if uid is not None else {"name": address}
    if email_addr is not None:
        user["email_addr"] = email_addr
    if type_id is not None:
        user["type_id"] = type_id
        user["type"] = "Service" if type_id == 4 else "User"
    return user


def _actor(user_id: str | None, user_email: str | None, account_id: str | None, key_id: str | None) -> dict[str, Any]:
    if user_id is not None or user_email is not None:
        user = _user(user_id, user_email, 1)
    elif account_id is not None:
        user = _user(account_id, None, 4)
    else:
        user = None
    if user is None:
        user = {"name": _UNKNOWN, "type_id": 0, "type": "Unknown"}
    if key_id is not None:
        user["credential_uid"] = key_id
    return {"user": user}


def _src_endpoint(ip: str | None, country: str | None, city: str | None, region: str | None,
                  latitude: str | None, longitude: str | None, asn: str | None) -> dict[str, Any]:
    endpoint: dict[str, Any] = {}
    if (valid_ip := ip_address(ip)) is not None:
        endpoint["ip"] = valid_ip
    location: dict[str, Any] = {}
    for key, value in (("country", country), ("city", city), ("region", region)):
        if value is not None:
            location[key] = value
    if location:
        for key, value in (("lat", latitude), ("long", longitude)):
            if (coordinate := number(value, float)) is not None:
                location[key] = coordinate
        endpoint["location"] = location
    if (as_number := number(asn, int)) is not None and 0 <= as_number < 2**32:
        endpoint["autonomous_system"] = {"number": as_number}
    if "ip" not in endpoint:
        endpoint["name"] = _UNKNOWN   # network_endpoint needs at least an ip or a name
    return endpoint


# What the class says the event is about, in the order the document lists it (`_Rest`'s fields from
# `privileges` to `resources`): a sign-in's is its actor (see `_actor_part`), so it has none here.
Target = tuple[Any, Any, Any, Any, Any, Any, Any]
#: The facts the target and the rest are read from: the event's own (all of them do as well).
Own = EventFacts | EventOwnFacts
_NO_TARGET: Target = (None, None, None, None, None, None, None)


def _entity(rule: TypeRule, f: Own) -> Target:
    entity: dict[str, Any] = {"name": f.target_name or rule.entity, "type": rule.entity,
                              "type_id": rule.entity_type_id}
    if f.target_id is not None:
        entity["uid"] = f.target_id
    return None, None, None, None, entity, None, None


def _account(rule: TypeRule, f: Own) -> Target:
    uid = f.target_id if rule.entity == "user" else f.subject_user_id
    return None, None, _user(uid, f.target_email) or {"name": f.target_id or _UNKNOWN}, None, None, None, None


def _access(rule: TypeRule, f: Own) -> Target:
    resource = None if f.resource_id is None else {"uid": f.resource_id, "type": f.resource_type or "resource"}
    return ([] if f.role is None else [f.role], None, _user(f.subject_user_id, None) or {"name": _UNKNOWN},
            resource, None, None, None)


def _group(rule: TypeRule, f: Own) -> Target:
    group: dict[str, Any] = {"name": f.target_name or f.target_id or _UNKNOWN}
    if f.target_id is not None:
        group["uid"] = f.target_id
    return None, group, _user(f.subject_user_id, None), None, None, None, None


def _sign_in(rule: TypeRule, f: Own) -> Target:
    return _NO_TARGET


def _api(rule: TypeRule, f: Own) -> Target:
    resources = [{"uid": f.target_id, "type": rule.entity}] if f.target_id is not None else []
    return None, None, None, None, None, {"operation": rule.event_type}, resources


#: The class's object for what the event is about, as (privileges, group, user, resource, entity, api,
#: resources): the one or few the class has, the others None; by the class's schema name.
_TARGETS: dict[str, Callable[[TypeRule, Own], Target]] = {
    "entity_management": _entity, "account_change": _account, "user_access": _access,
    "group_management": _group, "authentication": _sign_in, "api_activity": _api}


@functools.lru_cache(maxsize=1024)
def _classification(rule: TypeRule) -> dict[str, Any]:
    """The fields that follow from the type alone, worked out once per type (copied into each event)."""
    status_id, status = _STATUS[rule.failure]
    return {
        "activity_id": rule.activity_id,
        "activity_name": rule.activity_name,
        "category_uid": rule.category_uid,
        "category_name": CATEGORY_NAMES[rule.category_uid],
        "class_uid": rule.class_uid,
        "class_name": rule.class_name,
        "type_uid": rule.type_uid,
        "type_name": f"{rule.class_name}: {rule.activity_name}",
        "severity_id": 1,
        "severity": "Informational",
        "status_id": status_id,
        "status": status,
    }


# An event's document is made of four parts, each read from one part of the event: its type, its actor,
# its project, and the rest (id, time, target, payload). The actor's and the project's part depend on
# nothing else, so the export builds and encodes each once per distinct actor or project and copies the
# bytes (a log names the same few sessions, keys and projects again and again). The actor's and the
# project's part are their top-level keys and the values they give `unmapped`; the rest is a tree of
# structs that msgspec encodes in one call, and that `build_ocsf` turns into the very same dicts, so the
# two ways cannot differ.

#: What the actor gives `unmapped`: actor_type, api_key_type, ja3, ja4, ip_region_code.
ActorUnmapped = tuple[str | None, str | None, str | None, str | None, str | None]


class _Fields(msgspec.Struct, omit_defaults=True, gc=False):
    """An object of the document: its fields in the document's order, a None field left out."""


class _Metadata(_Fields):
    version: str
    product: Any
    """A fresh dict (`build_ocsf`), or its JSON as a ``msgspec.Raw`` (the export)."""
    profiles: list[str]
    uid: str
    event_code: str
    logged_time: int


class _Unmapped(_Fields):
    # From the actor, the project, then the event.
    actor_type: str | None = None
    api_key_type: str | None = None
    ja3: str | None = None
    ja4: str | None = None
    ip_region_code: str | None = None
    project_name: str | None = None
    target_id: str | None = None
    payload: Any = None


class _Rest(_Fields):
    """The document after the actor's and the project's top-level keys."""

    time: int
    metadata: _Metadata
    status_code: str | None = None
    status_detail: str | None = None
    # The target (`_TARGETS`): the fields of the class's objects, in the order of the classes' documents.
    privileges: list[str] | None = None
    group: Any = None
    user: Any = None
    resource: Any = None
    entity: Any = None
    api: Any = None
    resources: Any = None
    unmapped: _Unmapped | None = None


def _put_all(obj: dict[str, Any], items: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    for key, value in items:
        if value is not None:
            obj[key] = value
    return obj


def _actor_part(rule: TypeRule, f: EventFacts) -> tuple[dict[str, Any], ActorUnmapped]:
    """From the actor's facts only (and the class: a sign-in's target is the actor)."""
    top: dict[str, Any] = {
        "actor": _actor(f.user_id, f.user_email, f.service_account_id, f.api_key_id),
        "src_endpoint": _src_endpoint(f.ip_address, f.ip_country, f.ip_city, f.ip_region, f.ip_latitude,
                                      f.ip_longitude, f.ip_asn),
    }
    if f.user_agent is not None:
        top["http_request"] = {"user_agent": f.user_agent}
    if rule.schema_name == "authentication":
        top["user"] = _user(f.user_id, f.user_email, 1) or {"name": _UNKNOWN}
        top["service"] = {"name": _SERVICE}
    return top, (f.actor_type, f.api_key_type, f.ja3, f.ja4, f.ip_region_code)


def _project_part(f: EventFacts) -> tuple[dict[str, Any], str | None]:
    """The project's top-level keys, and the name it gives `unmapped`."""
    cloud = {"provider": _CLOUD_PROVIDER} if f.project_id is None \
        else {"provider": _CLOUD_PROVIDER, "project_uid": f.project_id}
    return {"cloud": cloud}, f.project_name


def _rest(rule: TypeRule, target: Callable[[TypeRule, Own], Target], f: Own, body: Any,
          product: Any, profiles: list[str], actor: ActorUnmapped, project_name: str | None) -> _Rest:
    """From the event's id, time, target (``target``: the class's `_TARGETS`) and payload (``body``, carried
    to ``unmapped.payload`` as is)."""
    time_ms = f.effective_at * 1000 if f.effective_at is not None else 0
    metadata = _Metadata(OCSF_VERSION, product, profiles, f.id or _UNKNOWN, f.type or _UNKNOWN, time_ms)
    unmapped = _Unmapped(*actor, project_name, f.target_id, body)
    return _Rest(time_ms, metadata, f.error_code, f.error_message, *target(rule, f), unmapped)


def build_ocsf(f: EventFacts, body: Any, *, raw_data: str | None = None) -> dict[str, Any]:
    """The OCSF object from an event's facts and its payload, carried to ``unmapped.payload`` as is (a
    dict, or its JSON text as a ``msgspec.Raw`` for an encoder to copy). Every part is a fresh object."""
    rule = rule_for(f.type or "")
    out = dict(_classification(rule))
    actor_top, actor = _actor_part(rule, f)
    project_top, project_name = _project_part(f)
    out.update(actor_top)
    out.update(project_top)
    product = {"name": _PRODUCT_NAME, "vendor_name": _VENDOR, "feature": {"name": _FEATURE}}
    rest: dict[str, Any] = msgspec.to_builtins(
        _rest(rule, _TARGETS[rule.schema_name], f, None, product, [_PROFILE], actor, project_name))
    if body is not None:   # the last key of unmapped; to_builtins would not take a msgspec.Raw
        rest["unmapped"]["payload"] = body
    out.update(rest)
    if raw_data is not None:
        out["raw_data"] = raw_data
    return out


# -- the export's way: the same parts, encoded once per type, actor and project --------------------

_encode = msgspec.json.encode
_encode_into = msgspec.json.Encoder().encode_into
_COMMA = ord(",")
_ENCODED_PRODUCT = msgspec.Raw(_encode({"name": _PRODUCT_NAME, "vendor_name": _VENDOR, "feature": {"name": _FEATURE}}))
_PROFILES = [_PROFILE]   # shared by the export's events: the encoder only reads it
#: Distinct actors and projects kept encoded; past this many a new one is encoded each time it recurs.
_MAX_CACHED = 8192
#: A part's top-level keys as JSON members ready to splice (``"k":v,...,``), and what it gives `unmapped`.
_actor_parts: dict[bytes, tuple[bytes, ActorUnmapped]] = {}
#: A sign-in's actor part also names its `user` and `service`: kept apart.
_sign_in_actor_parts: dict[bytes, tuple[bytes, ActorUnmapped]] = {}
_project_parts: dict[bytes, tuple[bytes, str | None]] = {}


class _Kind(NamedTuple):
    """What the export needs of a type, worked out once per type."""

    rule: TypeRule
    head: bytes
    """``{`` and the classification's members, ready for the actor's."""
    sign_in: bool
    """Whether the actor's part carries the sign-in's `user` and `service` (kept in `_sign_in_actor_parts`)."""
    target: Callable[[TypeRule, Own], Target]


_MAX_KINDS = 1024
_kinds: dict[str | None, _Kind] = {}


def _kind(event_type: str | None) -> _Kind:
    rule = rule_for(event_type or "")
    kind = _Kind(rule, b"{" + _encode(_classification(rule))[1:-1] + b",", rule.schema_name == "authentication",
                 _TARGETS[rule.schema_name])
    if len(_kinds) < _MAX_KINDS:
        _kinds[event_type] = kind
    return kind


def _members(top: dict[str, Any]) -> bytes:
    return _encode(top)[1:-1] + b","


def _all_facts(f: Own, raw: str | bytes) -> EventFacts:
    """All the facts, for an actor or a project met for the first time (``f`` only the event's own: read
    from ``raw``, the event's text, as `anatomy.own_facts_and_sources_from_json` says they are)."""
    return f if isinstance(f, EventFacts) else facts_from_json(raw, f.type or "")


def encode_ocsf_into(line: bytearray, f: Own, body: Any, actor_key: bytes | None, project_key: bytes | None,
                     raw: str | bytes) -> int:
    """Append ``build_ocsf(facts, body)`` as JSON to ``line``, the actor's and project's parts taken from
    the encoded ones kept for ``actor_key`` / ``project_key`` (the exact bytes they were read from; None:
    not kept), where ``f`` is all the facts or the event's own (`anatomy.own_facts_and_sources_from_json`)
    and ``raw`` the event's text. Returns where the rest (id, time, target, payload: the only text copied
    from the event) begins."""
    kind = _kinds.get(f.type) or _kind(f.type)
    actors = _sign_in_actor_parts if kind.sign_in else _actor_parts
    actor = None if actor_key is None else actors.get(actor_key)
    if actor is None:
        top, unmapped = _actor_part(kind.rule, _all_facts(f, raw))
        actor = (_members(top), unmapped)
        if actor_key is not None and len(actors) < _MAX_CACHED:
            actors[actor_key] = actor
    project = None if project_key is None else _project_parts.get(project_key)
    if project is None:
        top, name = _project_part(_all_facts(f, raw))
        project = (_members(top), name)
        if project_key is not None and len(_project_parts) < _MAX_CACHED:
            _project_parts[project_key] = project
    line += kind.head
    line += actor[0]
    line += project[0]
    # The rest is one object: written over the last comma (its "{"), which is then put back.
    at = len(line) - 1
    _encode_into(_rest(kind.rule, kind.target, f, body, _ENCODED_PRODUCT, _PROFILES, actor[1], project[1]), line,
                 at)
    line[at] = _COMMA
    return at


def to_ocsf(event: SupportsGet | Mapping[str, Any], *, raw_data: bool | str = False) -> dict[str, Any]:
    """``event`` (a decoded audit-log event) as an OCSF 1.8.0 event; never raises for an odd event.

    ``raw_data``: ``True`` includes the event's JSON (an ``AuditLog``'s exact text, a dict re-encoded),
    a string includes that text (the archive's ``raw`` column, say).
    """
    raw = None
    if isinstance(raw_data, str):
        raw = raw_data
    elif raw_data:
        raw = getattr(event, "raw_json", None)
        if not isinstance(raw, str):
            raw = msgspec.json.encode(event).decode()
    return build_ocsf(facts(event), payload(event), raw_data=raw)
