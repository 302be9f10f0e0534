"""An audit-log event as an Elastic Common Schema 9.4.0 document.

The categorisation (``event.kind/category/type/outcome``) comes from the mapping table; the fields ECS
defines are filled from the event's facts; everything ECS has no field for (JA4, the api key, the
target, the whole payload) sits under the one custom namespace ``openai.audit``, so nothing is lost
and nothing collides with a future ECS field.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Mapping
from typing import Any

import msgspec

from openapiopenai.anatomy import EventFacts, SupportsGet, facts, payload
from openapiopenai.schemas._table import ECS_VERSION, TypeRule, rule_for
from openapiopenai.schemas._values import ip_address, number

__all__ = ["DATASET", "build_ecs", "encode_ecs", "to_ecs"]

DATASET = "openai.audit"
_EPOCH = datetime.datetime(1970, 1, 1)   # naive UTC: isoformat() then has no offset to strip
_ECS = {"version": ECS_VERSION}


def _timestamp(seconds: int) -> str | None:
    day, second = divmod(seconds, 86400)
    date = _date(day)
    if date is None:
        return None
    hour, second = divmod(second, 3600)
    minute, second = divmod(second, 60)
    return f"{date}T{hour:02}:{minute:02}:{second:02}.000Z"


@functools.lru_cache(maxsize=1024)
def _date(day: int) -> str | None:
    """Day ``day`` after 1970-01-01 (an export's events fall on few days, so each is worked out once)."""
    try:
        # isoformat pads the year to four digits (strftime's %Y does not everywhere).
        return (_EPOCH + datetime.timedelta(days=day)).date().isoformat()
    except OverflowError:   # beyond year 9999: no date ECS can hold; the seconds stay in openai.audit
        return None


@functools.lru_cache(maxsize=1024)
def _event_base(rule: TypeRule) -> dict[str, Any]:
    """The ``event`` fields that follow from the type alone, worked out once per type."""
    return {"kind": "event", "category": list(rule.ecs_category), "type": list(rule.ecs_type),
            "outcome": rule.outcome, "module": "openai", "dataset": DATASET}


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
# project's are built and encoded once per distinct actor or project by the export, and `build_ecs`
# joins the very same parts as objects. `user` and `openai.audit` take keys from more than one part, so
# a part is (top-level keys, `user` keys, `openai.audit` keys).
Part = tuple[dict[str, Any], dict[str, Any], dict[str, Any]]


def _actor_part(f: EventFacts) -> Part:
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
    user: dict[str, Any] = {}
    _put(user, "id", f.actor_id)
    _put(user, "email", f.user_email)
    audit: dict[str, Any] = {}
    _put(audit, "actor_type", f.actor_type)
    if f.api_key_id is not None or f.api_key_type is not None:
        api_key: dict[str, Any] = {}
        _put(api_key, "id", f.api_key_id)
        _put(api_key, "type", f.api_key_type)
        audit["api_key"] = api_key
    if f.service_account_id is not None:
        audit["service_account"] = {"id": f.service_account_id}
    _put(audit, "ja4", f.ja4)
    if ip is None:
        _put(audit, "ip_address", f.ip_address)   # not an address ECS's `ip` type would take
    return top, user, audit


def _project_part(f: EventFacts) -> Part:
    cloud: dict[str, Any] = {"provider": "openai"}
    if f.project_id is not None or f.project_name is not None:
        project: dict[str, Any] = {}
        _put(project, "id", f.project_id)
        _put(project, "name", f.project_name)
        cloud["project"] = project
    return {"cloud": cloud}, {}, {}


def _event_part(rule: TypeRule, f: EventFacts, body: Any, *, shared: bool) -> Part:
    """From the event's id, time and payload (``body``, carried to ``openai.audit.payload`` as is).
    ``shared``: the categorisation lists may be the table's own (an encoder only reads them)."""
    top: dict[str, Any] = {}
    audit: dict[str, Any] = {}
    if f.effective_at is not None:
        _put(top, "@timestamp", _timestamp(f.effective_at))
        audit["effective_at"] = f.effective_at
    event = dict(_event_base(rule))
    if not shared:   # the caller's own lists, not the cached ones
        event["category"], event["type"] = list(rule.ecs_category), list(rule.ecs_type)
    _put(event, "action", f.type)
    _put(event, "id", f.id)
    _put(event, "reason", f.error_message)
    top["event"] = event
    if f.error_code is not None or f.error_message is not None:
        error: dict[str, Any] = {}
        _put(error, "code", f.error_code)
        _put(error, "message", f.error_message)
        top["error"] = error
    user: dict[str, Any] = {}
    if rule.schema_name == "account_change":
        target: dict[str, Any] = {}
        _put(target, "id", f.target_id if rule.entity == "user" else f.subject_user_id)
        _put(target, "email", f.target_email)
        if target:
            user["target"] = target
    if rule.schema_name == "group_management" and (f.target_id or f.target_name):
        group: dict[str, Any] = {}
        _put(group, "id", f.target_id)
        _put(group, "name", f.target_name)
        top["group"] = group
    _put(audit, "type", f.type)
    target_obj: dict[str, Any] = {"type": rule.entity}
    _put(target_obj, "id", f.target_id)
    _put(target_obj, "name", f.target_name)
    audit["target"] = target_obj
    if f.scopes is not None:
        audit["scopes"] = list(f.scopes)
    if body is not None:
        audit["payload"] = body
    return top, user, audit


def _joined(doc: dict[str, Any], users: tuple[dict[str, Any], ...], audits: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    user = {k: v for part in users for k, v in part.items()}
    if user:
        doc["user"] = user
    doc["openai"] = {"audit": {k: v for part in audits for k, v in part.items()}}
    return doc


def build_ecs(f: EventFacts, body: Any) -> dict[str, Any]:
    """The ECS document from an event's facts and its payload, carried to ``openai.audit.payload`` as is
    (a dict, or its JSON text as a ``msgspec.Raw``). Every part is a fresh object."""
    rule = rule_for(f.type or "")
    doc: dict[str, Any] = {"ecs": dict(_ECS)}
    parts = (_actor_part(f), _project_part(f), _event_part(rule, f, body, shared=False))
    for top, _, _ in parts:
        doc.update(top)
    return _joined(doc, tuple(p[1] for p in parts), tuple(p[2] for p in parts))


# -- the export's way: the same parts, the actor's and project's encoded once each -----------------

_encode = msgspec.json.encode
_HEAD = b"{" + _encode({"ecs": _ECS})[1:-1] + b","
#: Distinct actors and projects kept encoded; past this many a new one is encoded each time it recurs.
_MAX_CACHED = 8192
#: A part with its top-level keys as JSON members ready to splice (``"k":v,...,`` or nothing).
Encoded = tuple[bytes, dict[str, Any], dict[str, Any]]
_actor_parts: dict[bytes, Encoded] = {}
_project_parts: dict[bytes, Encoded] = {}


def _encoded(part: Part) -> Encoded:
    top, user, audit = part
    return (_encode(top)[1:-1] + b"," if top else b""), user, audit


def _keep(cache: dict[bytes, Encoded], key: bytes, part: Encoded) -> Encoded:
    if len(cache) < _MAX_CACHED:
        cache[key] = part
    return part


def encode_ecs(f: EventFacts, body: Any, actor_key: bytes | None, project_key: bytes | None) -> bytes:
    """``build_ecs(f, body)`` as JSON, the actor's and project's parts taken from the encoded ones kept for
    ``actor_key`` / ``project_key`` (the exact bytes they were read from; None: not kept)."""
    rule = rule_for(f.type or "")
    actor = project = None
    if actor_key is not None:
        actor = _actor_parts.get(actor_key) or _keep(_actor_parts, actor_key, _encoded(_actor_part(f)))
    if project_key is not None:
        project = _project_parts.get(project_key) or _keep(_project_parts, project_key, _encoded(_project_part(f)))
    actor = actor or _encoded(_actor_part(f))
    project = project or _encoded(_project_part(f))
    top, user, audit = _event_part(rule, f, body, shared=True)
    doc = _joined(top, (actor[1], user), (actor[2], audit))
    return b"".join((_HEAD, actor[0], project[0], _encode(doc)[1:]))


def to_ecs(event: SupportsGet | Mapping[str, Any]) -> dict[str, Any]:
    """``event`` (a decoded audit-log event) as an ECS 9.4.0 document; never raises for an odd event."""
    return build_ecs(facts(event), payload(event))
