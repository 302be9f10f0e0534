"""The analyst's fields of an event, declared once: name, meaning, and where in the JSON each is read.

This table is the source of the archive's ``events`` view (``archive/_views.py`` generates every column
expression from it), of the field names the detection rules use and of ``docs/detections.md``. Each
field that is one of ``anatomy.EventFacts`` names it (``fact``), and the tests hold the view's row to
``anatomy.facts(event)`` for every emulator event and for odd shapes, so the Python reading and the SQL
reading cannot drift apart. The few fields beyond the facts (what a payload says about roles, invites,
the payload itself) are read by `Field.read` from the same declaration the SQL comes from.

The reading rules are anatomy's: a value of the wrong JSON type or ``""`` is absent (NULL), and the
actor's ``type`` decides whether the session's or the key's branch is read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Literal

__all__ = ["FIELDS", "FIELDS_BY_NAME", "Field", "Source"]

Kind = Literal["column", "time", "text", "actor", "payload", "first_of", "text_list", "object"]


@dataclass(frozen=True)
class Source:
    """Where a field is read: one of a few kinds, each a JSON path or a reference (see `Kind`).

    * ``column``: a column of ``audit_logs`` (``paths[0]`` is its name).
    * ``time``: ``effective_at`` as ISO-8601 UTC text.
    * ``text``: a string at an absolute path (``$.project.id``).
    * ``actor``: a string at ``paths[0]`` for session actors, ``paths[1]`` for api_key actors.
    * ``payload``: the first string found at one of ``paths``, each relative to the payload (the object
      under the key named by ``type``).
    * ``first_of``: the first non-null of other fields, named in ``paths``.
    * ``text_list``: the first of ``paths`` (payload-relative) holding an array of strings only, as its
      compact JSON text.
    * ``object``: the payload object itself, as JSON text.
    """

    kind: Kind
    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class Field:
    name: str
    """The column of the ``events`` view and the field name Sigma rules use."""
    source: Source
    description: str
    fact: str | None = None
    """The `anatomy.EventFacts` attribute this field equals, when it is one."""
    column: str | None = None
    """The ``audit_logs`` column holding the same value, when the archive keeps one: the sync writes it
    from the same facts (`archive._rows.event_row`; the tests hold it to this field's view column), so a
    reader can take it as it is instead of parsing the event (the detections do: `rules._source`)."""

    def read(self, event: Mapping[str, Any]) -> Any:
        """This field of a decoded event, read from the declaration (the SQL view's Python twin)."""
        src = self.source
        kind = src.kind
        if kind == "column":
            value = event.get(src.paths[0])
            return value if type(value) is int or isinstance(value, str) else None
        if kind == "time":
            from datetime import datetime

            at = event.get("effective_at")
            return None if type(at) is not int else \
                datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if kind == "text":
            return _text(_at(event, src.paths[0]))
        if kind == "actor":
            actor_type = _text(_at(event, "actor.type"))
            path = {"session": src.paths[0], "api_key": src.paths[1]}.get(actor_type or "", "")
            return _text(_at(event, path)) if path else None
        if kind == "first_of":
            for name in src.paths:
                value = FIELDS_BY_NAME[name].read(event)
                if value is not None:
                    return value
            return None
        payload = _payload(event)
        if kind == "object":
            return None if payload is None else json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        if payload is None:
            return None
        for path in src.paths:
            found = _at(payload, path)
            if kind == "payload" and _text(found) is not None:
                return found
            if kind == "text_list" and isinstance(found, list) and all(isinstance(x, str) for x in found):
                return json.dumps(found, separators=(",", ":"), ensure_ascii=False)
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _at(obj: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _payload(event: Mapping[str, Any]) -> dict[str, Any] | None:
    event_type = event.get("type")
    if not isinstance(event_type, str) or not event_type:
        return None
    value = event.get(event_type)
    return value if isinstance(value, dict) else None


def _actor(session: str, api_key: str) -> Source:
    """A field read from the session (``session``) or the key (``api_key``) branch; "" where there is none."""
    return Source("actor", (session and f"actor.session.{session}", api_key and f"actor.api_key.{api_key}"))


def _details(name: str) -> Source:
    # A session's, like its IP: read only when the actor is a session, as the anatomy reads it.
    return _actor(f"ip_address_details.{name}", "")


def _f(name: str, source: Source, description: str, fact: str | None = None, *, column: str | None = None) -> Field:
    return Field(name, source, description, fact, column)


#: Every field of the ``events`` view, in column order.
FIELDS: tuple[Field, ...] = (
    _f("id", Source("column", ("id",)), "The event's id (`audit_log-...`).", "id", column="id"),
    _f("effective_at", Source("column", ("effective_at",)), "When it happened, Unix seconds.", "effective_at", column="effective_at"),
    _f("time", Source("time"), "`effective_at` as ISO-8601 UTC text (`2026-11-01T12:00:00Z`)."),
    _f("type", Source("column", ("type",)), "The event type (`login.failed`, `api_key.created`, ...).", "type", column="type"),
    _f("tenant", Source("column", ("tenant",)), "1 for a tenant-scoped event (fetched with tenant_only), else 0.", column="tenant"),
    _f("actor_type", Source("text", ("actor.type",)), "`session` (a person signed in) or `api_key`.", "actor_type", column="actor_type"),
    _f("actor_id", Source("first_of", ("user_id", "service_account_id")),
       "Who acted: the user, else the service account.", "actor_id", column="actor_id"),
    _f("user_id", _actor("user.id", "user.id"), "The user who acted (in a session or through their key).", "user_id"),
    _f("user_email", _actor("user.email", "user.email"), "That user's email.", "user_email", column="actor_email"),
    _f("service_account_id", Source("actor", ("", "actor.api_key.service_account.id")),
       "The service account whose key acted.", "service_account_id"),
    _f("api_key_id", Source("actor", ("", "actor.api_key.id")), "The tracking id of the key that acted.", "api_key_id", column="api_key_id"),
    _f("api_key_type", Source("actor", ("", "actor.api_key.type")), "`user` or `service_account`.", "api_key_type"),
    _f("ip_address", _actor("ip_address", ""), "The session's client IP address.", "ip_address", column="ip_address"),
    _f("user_agent", _actor("user_agent", ""), "The session's browser user agent.", "user_agent"),
    _f("ja3", _actor("ja3", ""), "The session's JA3 TLS fingerprint.", "ja3"),
    _f("ja4", _actor("ja4", ""), "The session's JA4 TLS fingerprint.", "ja4"),
    _f("country", _details("country"), "Country code of the session's IP (`US`).", "ip_country"),
    _f("city", _details("city"), "City of the session's IP.", "ip_city"),
    _f("region", _details("region"), "Region of the session's IP.", "ip_region"),
    _f("region_code", _details("region_code"), "Region code of the session's IP.", "ip_region_code"),
    _f("asn", _details("asn"), "Autonomous system number of the session's IP, as text.", "ip_asn"),
    _f("latitude", _details("latitude"), "Latitude of the session's IP, as text.", "ip_latitude"),
    _f("longitude", _details("longitude"), "Longitude of the session's IP, as text.", "ip_longitude"),
    _f("project_id", Source("text", ("project.id",)), "The project the event belongs to.", "project_id", column="project_id"),
    _f("project_name", Source("text", ("project.name",)), "That project's name.", "project_name"),
    _f("target_id", Source("payload", ("id",)), "What was acted on: the payload's `id` (key, user, project...).",
       "target_id", column="resource_id"),
    _f("target_name", Source("payload", ("name", "data.name")), "Its name, when the payload gives one.", "target_name"),
    _f("error_code", Source("payload", ("error_code",)), "Why a login or logout failed.", "error_code"),
    _f("error_message", Source("payload", ("error_message",)), "The failure's message.", "error_message"),
    _f("scopes", Source("text_list", ("data.scopes", "changes_requested.scopes")),
       "An API key's scopes (created or requested), as a JSON array text.", "scopes"),
    _f("target_email", Source("payload", ("email", "data.email")), "The address an invitation or user event names.",
       "target_email"),
    _f("subject_user_id", Source("payload", ("user_id", "principal_id")),
       "The user an event is about beside its target (a group member, an assignment's principal).", "subject_user_id"),
    _f("role", Source("payload", ("role_id", "data.role")),
       "The role granted or bound (its id), or the role an invitation or new user gets (its name).", "role"),
    _f("requested_role", Source("payload", ("changes_requested.role",)), "The role a user update asks for."),
    _f("resource_id", Source("payload", ("resource_id",)), "What a role assignment or binding grants access to.",
       "resource_id"),
    _f("resource_type", Source("payload", ("resource_type",)), "The kind of that resource.", "resource_type"),
    _f("principal_type", Source("payload", ("principal_type",)), "`user` or `group`, for role assignments."),
    _f("granted_project_id", Source("payload", ("data.project_id",)),
       "The project a checkpoint permission is granted to (may be another organisation's)."),
    _f("payload", Source("object"), "The payload object (the event's `<type>` key) as JSON text."),
)

FIELDS_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
