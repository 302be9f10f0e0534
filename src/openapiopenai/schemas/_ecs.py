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

__all__ = ["DATASET", "build_ecs", "to_ecs"]

DATASET = "openai.audit"
_EPOCH = datetime.datetime(1970, 1, 1)   # naive UTC: isoformat() then has no offset to strip
_ECS = {"version": ECS_VERSION}
_ENCODED_ECS = msgspec.Raw(msgspec.json.encode(_ECS))


def _timestamp(seconds: int) -> str | None:
    try:
        t = _EPOCH + datetime.timedelta(seconds=seconds)
    except OverflowError:   # beyond year 9999: no date ECS can hold; the seconds stay in openai.audit
        return None
    # isoformat pads the year to four digits (strftime's %Y does not everywhere).
    return t.isoformat() + ".000Z"


@functools.lru_cache(maxsize=1024)
def _event_base(rule: TypeRule) -> dict[str, Any]:
    """The ``event`` fields that follow from the type alone, worked out once per type."""
    return {"kind": "event", "category": list(rule.ecs_category), "type": list(rule.ecs_type),
            "outcome": rule.outcome, "module": "openai", "dataset": DATASET}


def _cloud(project_id: str | None, project_name: str | None) -> dict[str, Any]:
    cloud: dict[str, Any] = {"provider": "openai"}
    if project_id is not None or project_name is not None:
        project: dict[str, Any] = {}
        _put(project, "id", project_id)
        _put(project, "name", project_name)
        cloud["project"] = project
    return cloud


@functools.lru_cache(maxsize=1024)
def _encoded_cloud(project_id: str | None, project_name: str | None) -> msgspec.Raw:
    return msgspec.Raw(msgspec.json.encode(_cloud(project_id, project_name)))


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


# The export's version: the same few places recur, so each is built and encoded once (see _ocsf).
@functools.lru_cache(maxsize=4096)
def _encoded_source(*key: str | None) -> msgspec.Raw | None:
    source = _source(*key)
    return msgspec.Raw(msgspec.json.encode(source)) if source else None


def build_ecs(f: EventFacts, body: Any, *, encoded: bool = False) -> dict[str, Any]:
    """The ECS document from an event's facts and its payload, carried to ``openai.audit.payload`` as is
    (a dict, or its JSON text as a ``msgspec.Raw``); ``encoded`` as for ``build_ocsf``."""
    rule = rule_for(f.type or "")
    doc: dict[str, Any] = {}
    audit: dict[str, Any] = {}
    if f.effective_at is not None:
        _put(doc, "@timestamp", _timestamp(f.effective_at))
        audit["effective_at"] = f.effective_at
    doc["ecs"] = _ENCODED_ECS if encoded else dict(_ECS)
    event = dict(_event_base(rule))
    if not encoded:   # the caller's own lists, not the cached ones
        event["category"], event["type"] = list(rule.ecs_category), list(rule.ecs_type)
    _put(event, "action", f.type)
    _put(event, "id", f.id)
    _put(event, "reason", f.error_message)
    doc["event"] = event
    if f.error_code is not None or f.error_message is not None:
        error: dict[str, Any] = {}
        _put(error, "code", f.error_code)
        _put(error, "message", f.error_message)
        doc["error"] = error

    user: dict[str, Any] = {}
    _put(user, "id", f.actor_id)
    _put(user, "email", f.user_email)
    if rule.schema_name == "account_change":
        target: dict[str, Any] = {}
        _put(target, "id", f.target_id if rule.entity == "user" else f.subject_user_id)
        _put(target, "email", f.target_email)
        if target:
            user["target"] = target
    if user:
        doc["user"] = user
    if rule.schema_name == "group_management" and (f.target_id or f.target_name):
        group: dict[str, Any] = {}
        _put(group, "id", f.target_id)
        _put(group, "name", f.target_name)
        doc["group"] = group

    ip = ip_address(f.ip_address)
    source_key = (f.ip_address, f.ip_country, f.ip_city, f.ip_region, f.ip_region_code, f.ip_latitude,
                  f.ip_longitude, f.ip_asn)
    if any(source_key):
        source = _encoded_source(*source_key) if encoded else _source(*source_key)
        if source:
            doc["source"] = source
    if f.user_agent is not None:
        doc["user_agent"] = {"original": f.user_agent}
    if f.ja3 is not None:
        doc["tls"] = {"client": {"ja3": f.ja3}}
    doc["cloud"] = _encoded_cloud(f.project_id, f.project_name) if encoded else _cloud(f.project_id, f.project_name)
    related: dict[str, Any] = {}
    if ip is not None:
        related["ip"] = [ip]
    users = [u for u in (f.actor_id, f.user_email) if u is not None]
    if users:
        related["user"] = users
    if related:
        doc["related"] = related

    _put(audit, "type", f.type)
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
    target_obj: dict[str, Any] = {"type": rule.entity}
    _put(target_obj, "id", f.target_id)
    _put(target_obj, "name", f.target_name)
    audit["target"] = target_obj
    if f.scopes is not None:
        audit["scopes"] = list(f.scopes)
    if body is not None:
        audit["payload"] = body
    doc["openai"] = {"audit": audit}
    return doc


def to_ecs(event: SupportsGet | Mapping[str, Any]) -> dict[str, Any]:
    """``event`` (a decoded audit-log event) as an ECS 9.4.0 document; never raises for an odd event."""
    return build_ecs(facts(event), payload(event))
