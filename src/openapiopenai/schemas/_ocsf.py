"""An audit-log event as an OCSF 1.8.0 event of the class the mapping table gives its type.

Every object the class requires is present, so any event, however odd, maps to something a validator
accepts: where the event leaves a required object empty (a failed login names no user, an api-key action
has no source IP), it holds the placeholder name ``unknown``. Values OCSF constrains (an email, an IP, a
latitude) are set only when they are what the schema says; the event's own text stays in ``unmapped``,
which carries everything OCSF has no place for on these classes (JA3, JA4, the payload), so nothing is lost.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import msgspec

from openapiopenai.anatomy import EventFacts, SupportsGet, facts, payload
from openapiopenai.schemas._table import OCSF_VERSION, TypeRule, rule_for
from openapiopenai.schemas._values import email, ip_address, number

__all__ = ["CATEGORY_NAMES", "build_ocsf", "encode_ocsf", "to_ocsf"]

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


def _target(rule: TypeRule, f: EventFacts) -> dict[str, Any]:
    """The class's object for what the event is about (a sign-in's is its actor: see `_actor_part`)."""
    cls = rule.schema_name
    if cls == "account_change":
        uid = f.target_id if rule.entity == "user" else f.subject_user_id
        return {"user": _user(uid, f.target_email) or {"name": f.target_id or _UNKNOWN}}
    if cls == "user_access":
        out: dict[str, Any] = {"privileges": [] if f.role is None else [f.role],
                               "user": _user(f.subject_user_id, None) or {"name": _UNKNOWN}}
        if f.resource_id is not None:
            out["resource"] = {"uid": f.resource_id, "type": f.resource_type or "resource"}
        return out
    if cls == "group_management":
        group: dict[str, Any] = {"name": f.target_name or f.target_id or _UNKNOWN}
        if f.target_id is not None:
            group["uid"] = f.target_id
        out = {"group": group}
        if (member := _user(f.subject_user_id, None)) is not None:
            out["user"] = member
        return out
    if cls == "entity_management":
        entity: dict[str, Any] = {"name": f.target_name or rule.entity, "type": rule.entity,
                                  "type_id": rule.entity_type_id}
        if f.target_id is not None:
            entity["uid"] = f.target_id
        return {"entity": entity}
    resources = [{"uid": f.target_id, "type": rule.entity}] if f.target_id is not None else []
    return {"api": {"operation": rule.event_type}, "resources": resources}


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
# its project, and the rest (id, time, payload). The actor's and the project's part depend on nothing
# else, so the export builds and encodes each once per distinct actor or project and copies the bytes
# (a log names the same few sessions, keys and projects again and again). `build_ocsf` joins the very
# same parts as objects, so the two ways cannot differ. Each part is (top-level keys, `unmapped` keys).
Part = tuple[dict[str, Any], dict[str, Any]]


def _put_all(obj: dict[str, Any], items: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    for key, value in items:
        if value is not None:
            obj[key] = value
    return obj


def _actor_part(rule: TypeRule, f: EventFacts) -> Part:
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
    return top, _put_all({}, (("actor_type", f.actor_type), ("api_key_type", f.api_key_type), ("ja3", f.ja3),
                              ("ja4", f.ja4), ("ip_region_code", f.ip_region_code)))


def _project_part(f: EventFacts) -> Part:
    cloud = {"provider": _CLOUD_PROVIDER} if f.project_id is None \
        else {"provider": _CLOUD_PROVIDER, "project_uid": f.project_id}
    return {"cloud": cloud}, ({} if f.project_name is None else {"project_name": f.project_name})


def _event_part(rule: TypeRule, f: EventFacts, body: Any, product: Any) -> Part:
    """From the event's id, time and payload (``body``, carried to ``unmapped.payload`` as is)."""
    time_ms = f.effective_at * 1000 if f.effective_at is not None else 0
    top: dict[str, Any] = {
        "time": time_ms,
        "metadata": {"version": OCSF_VERSION, "product": product, "profiles": [_PROFILE],
                     "uid": f.id or _UNKNOWN, "event_code": f.type or _UNKNOWN, "logged_time": time_ms},
    }
    if f.error_code is not None:
        top["status_code"] = f.error_code
    if f.error_message is not None:
        top["status_detail"] = f.error_message
    if rule.schema_name != "authentication":
        top.update(_target(rule, f))
    unmapped: dict[str, Any] = {} if f.target_id is None else {"target_id": f.target_id}
    if body is not None:
        unmapped["payload"] = body
    return top, unmapped


def build_ocsf(f: EventFacts, body: Any, *, raw_data: str | None = None) -> dict[str, Any]:
    """The OCSF object from an event's facts and its payload, carried to ``unmapped.payload`` as is (a
    dict, or its JSON text as a ``msgspec.Raw`` for an encoder to copy). Every part is a fresh object."""
    rule = rule_for(f.type or "")
    out = dict(_classification(rule))
    unmapped: dict[str, Any] = {}
    product = {"name": _PRODUCT_NAME, "vendor_name": _VENDOR, "feature": {"name": _FEATURE}}
    for top, more in (_actor_part(rule, f), _project_part(f), _event_part(rule, f, body, product)):
        out.update(top)
        unmapped.update(more)
    out["unmapped"] = unmapped
    if raw_data is not None:
        out["raw_data"] = raw_data
    return out


# -- the export's way: the same parts, encoded once per type, actor and project --------------------

_encode = msgspec.json.encode
_encode_into = msgspec.json.Encoder().encode_into
_COMMA = ord(",")
_ENCODED_PRODUCT = msgspec.Raw(_encode({"name": _PRODUCT_NAME, "vendor_name": _VENDOR, "feature": {"name": _FEATURE}}))
#: Distinct actors and projects kept encoded; past this many a new one is encoded each time it recurs.
_MAX_CACHED = 8192
#: A part with its top-level keys as JSON members ready to splice (``"k":v,...,``), and its unmapped keys.
Encoded = tuple[bytes, dict[str, Any]]
_actor_parts: dict[tuple[str, bytes], Encoded] = {}
_project_parts: dict[bytes, Encoded] = {}


def _encoded(part: Part) -> Encoded:
    top, unmapped = part
    return _encode(top)[1:-1] + b",", unmapped


def _keep(cache: dict[Any, Encoded], key: Any, part: Encoded) -> Encoded:
    if len(cache) < _MAX_CACHED:
        cache[key] = part
    return part


@functools.lru_cache(maxsize=1024)
def _encoded_type(rule: TypeRule) -> bytes:
    return b"{" + _encode(_classification(rule))[1:-1] + b","


def encode_ocsf(f: EventFacts, body: Any, actor_key: bytes | None, project_key: bytes | None) -> bytearray:
    """``build_ocsf(f, body)`` as JSON, the actor's and project's parts taken from the encoded ones kept
    for ``actor_key`` / ``project_key`` (the exact bytes they were read from; None: not kept)."""
    rule = rule_for(f.type or "")
    actor = project = None
    if actor_key is not None:
        key = (rule.schema_name, actor_key)
        actor = _actor_parts.get(key) or _keep(_actor_parts, key, _encoded(_actor_part(rule, f)))
    if project_key is not None:
        project = _project_parts.get(project_key) or _keep(_project_parts, project_key, _encoded(_project_part(f)))
    actor = actor or _encoded(_actor_part(rule, f))
    project = project or _encoded(_project_part(f))
    top, unmapped = _event_part(rule, f, body, _ENCODED_PRODUCT)
    top["unmapped"] = {**actor[1], **project[1], **unmapped} if actor[1] or project[1] else unmapped
    line = bytearray(_encoded_type(rule))
    line += actor[0]
    line += project[0]
    # The rest is one object: written over the last comma (its "{"), which is then put back.
    at = len(line) - 1
    _encode_into(top, line, at)
    line[at] = _COMMA
    return line


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
