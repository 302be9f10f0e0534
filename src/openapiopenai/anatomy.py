"""Where each fact of an audit-log event lives in the JSON the service sends, written down once.

Everything downstream reads events through this module: the archive's lookup columns, the CLI's
CSV/table/Parquet columns, the OCSF and ECS mappings, detections and sinks. ``facts(event)`` reads a
decoded event (the JSON object, or an ``AuditLog``, which reads like one); ``facts_from_json(raw,
event_type)`` reads the same facts straight from an event's bytes for the hot paths (the sync decodes
only these fields into typed structs instead of the whole event), and ``facts_and_payload_from_json``
adds the payload's own bytes for writers that carry it along (the OCSF/ECS exports, which also get
the actor's and the project's bytes: the facts of each follow from those alone, so they key what the
exports make of them). All give the same ``EventFacts`` for every input, odd or not: the tests hold
them to it. ``payload(event)`` is the payload object of a decoded event.

The rules, where earlier copies disagreed (the archive's won each time, because an archive already
written with them must keep answering the same queries, and because each is the safer reading):

* **Wrong type -> None.** A value of the wrong JSON type (``"id": 7`` where the spec has a string) is
  not a fact: it reads as ``None`` and stays visible only in the raw JSON. A number in a TEXT column or a
  CSV ``actor_id`` cell would match no filter and look like a real id.
* **Empty -> None.** ``""`` names nothing; an empty email or id reads as ``None``, so ``IS NULL``
  finds every event without one and no filter can match "".
* **The actor's ``type`` decides which branch is read.** A ``session`` actor's user is
  ``actor.session.user``; an ``api_key`` actor's user or service account is under ``actor.api_key``.
  A stray ``api_key`` object beside a session (or ``session`` beside a key) is not who acted and is
  never read, and an actor type newer than the spec yields no identity rather than a guess.
* Nothing here raises for any JSON value; a part that is missing, null or not an object reads as absent.

Where each field comes from (paths in the event's JSON; ``<type>`` is the key named by ``type``):

=====================  ===========================================================================
``id``                 ``id``
``type``               ``type``
``effective_at``       ``effective_at`` (Unix seconds; an integer, not a bool)
``actor_type``         ``actor.type`` (``session`` or ``api_key`` in the spec)
``user_id``            ``actor.session.user.id`` / ``actor.api_key.user.id``
``user_email``         ``actor.session.user.email`` / ``actor.api_key.user.email``
``service_account_id`` ``actor.api_key.service_account.id``
``api_key_id``         ``actor.api_key.id``
``api_key_type``       ``actor.api_key.type`` (``user`` or ``service_account``)
``actor_id``           ``user_id``, else ``service_account_id``: the person or account that acted
``ip_address``         ``actor.session.ip_address``
``user_agent``         ``actor.session.user_agent`` (beyond the spec; its example and the live service)
``ja3``, ``ja4``       ``actor.session.ja3``, ``actor.session.ja4`` (likewise)
``ip_*``               ``actor.session.ip_address_details.{country, city, region, region_code, asn,
                       latitude, longitude}``, all strings as sent (``"37.77490"``, ``"7922"``)
``project_id``/``_name`` ``project.id``, ``project.name``
``target_id``          ``<type>.id``: the key, user, project, ... the event is about
``target_name``        ``<type>.name`` (or ``<type>.data.name``)
``target_email``       ``<type>.email`` (or ``<type>.data.email``: ``invite.sent``)
``subject_user_id``    ``<type>.user_id`` (or ``<type>.principal_id``: ``role.assignment.*``)
``role``               ``<type>.role_id`` (or ``<type>.data.role``: ``invite.sent``, ``user.added``)
``resource_id``/``_type`` ``<type>.resource_id``, ``<type>.resource_type`` (``role.*``)
``error_code``/``_message`` ``<type>.error_code``, ``<type>.error_message`` (``login.failed``, ``logout.failed``)
``scopes``             ``<type>.data.scopes`` or ``<type>.changes_requested.scopes`` (``api_key.*``)
=====================  ===========================================================================

Sources: ``spec/audit-logs.openapi.yaml`` (``AuditLogActor*``, the payload schemas and the list
example, which shows the undeclared session fields), ``spec/README.md`` fact 4, and the official
``openai`` SDK's ``types/admin/organization/audit_log_list_response.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Protocol

import msgspec

__all__ = ["EventFacts", "EventOwnFacts", "SupportsGet", "facts", "facts_and_payload_from_json", "facts_from_json",
           "facts_payload_and_sources_from_json", "index_facts_from_json", "own_facts_and_sources_from_json",
           "payload"]


class SupportsGet(Protocol):
    """A decoded event: a dict, or an ``AuditLog`` (which reads like one)."""

    def get(self, key: str, default: Any = None, /) -> Any: ...


class EventFacts(msgspec.Struct, frozen=True, gc=False):
    """The facts of one event, each ``None`` when the event does not carry it (see the module table)."""

    id: str | None
    type: str | None
    effective_at: int | None
    actor_type: str | None
    actor_id: str | None
    """The user who acted, else the service account: the archive's ``actor_id`` column."""
    user_id: str | None
    user_email: str | None
    service_account_id: str | None
    api_key_id: str | None
    api_key_type: str | None
    ip_address: str | None
    user_agent: str | None
    ja3: str | None
    ja4: str | None
    ip_country: str | None
    ip_city: str | None
    ip_region: str | None
    ip_region_code: str | None
    ip_asn: str | None
    ip_latitude: str | None
    ip_longitude: str | None
    project_id: str | None
    project_name: str | None
    target_id: str | None
    target_name: str | None
    target_email: str | None
    """The address an invitation or a user event names."""
    subject_user_id: str | None
    """The user an event is about beside its target: a group's member, an assignment's principal."""
    role: str | None
    """The role granted or bound (its id), or the role an invitation offers (its name)."""
    resource_id: str | None
    resource_type: str | None
    """What a role assignment or binding grants access to."""
    error_code: str | None
    error_message: str | None
    scopes: tuple[str, ...] | None


class EventOwnFacts(msgspec.Struct, frozen=True, gc=False):
    """The facts an event carries itself, beside its actor's and its project's: those of `EventFacts`
    from ``id`` to ``effective_at`` and from ``target_id`` to ``scopes``, the same values. A writer that
    keeps what it makes of each actor and project (by their bytes: see
    `own_facts_and_sources_from_json`) needs only these per event."""

    id: str | None
    type: str | None
    effective_at: int | None
    target_id: str | None
    target_name: str | None
    target_email: str | None
    subject_user_id: str | None
    role: str | None
    resource_id: str | None
    resource_type: str | None
    error_code: str | None
    error_message: str | None
    scopes: tuple[str, ...] | None


# -- the shape of the parts read, as typed structs ---------------------------------------------------
# The fast path decodes straight into these (unknown fields are skipped without building anything; a
# wrong type or an empty string fails the decode and the lenient reader below takes over, so the
# structs only ever hold facts). The lenient reader builds the same structs from dicts, applying the
# same two rules with `_str`, so everything after the reading (`_derive`) is written once for both.

#: A string that names something: "" fails the fast decode, as it reads None in the lenient one.
_Text = Annotated[str, msgspec.Meta(min_length=1)]


class _User(msgspec.Struct, gc=False):
    id: _Text | None = None
    email: _Text | None = None


class _Ref(msgspec.Struct, gc=False):
    id: _Text | None = None


class _IpDetails(msgspec.Struct, gc=False):
    country: _Text | None = None
    city: _Text | None = None
    region: _Text | None = None
    region_code: _Text | None = None
    asn: _Text | None = None
    latitude: _Text | None = None
    longitude: _Text | None = None


class _Session(msgspec.Struct, gc=False):
    user: _User | None = None
    ip_address: _Text | None = None
    user_agent: _Text | None = None
    ja3: _Text | None = None
    ja4: _Text | None = None
    ip_address_details: _IpDetails | None = None


class _ApiKey(msgspec.Struct, gc=False):
    id: _Text | None = None
    type: _Text | None = None
    user: _User | None = None
    service_account: _Ref | None = None


class _Actor(msgspec.Struct, gc=False):
    type: _Text | None = None
    session: _Session | None = None
    api_key: _ApiKey | None = None


class _Project(msgspec.Struct, gc=False):
    id: _Text | None = None
    name: _Text | None = None


class _PayloadPart(msgspec.Struct, gc=False):
    """``data`` (what was created) or ``changes_requested`` (what an update asked for)."""

    name: _Text | None = None
    email: _Text | None = None
    role: _Text | None = None
    scopes: list[str] | None = None


class _Payload(msgspec.Struct, gc=False):
    """The fields of the payload the facts come from (the payload itself is `payload(event)`)."""

    id: _Text | None = None
    name: _Text | None = None
    email: _Text | None = None
    user_id: _Text | None = None
    principal_id: _Text | None = None
    role_id: _Text | None = None
    resource_id: _Text | None = None
    resource_type: _Text | None = None
    error_code: _Text | None = None
    error_message: _Text | None = None
    data: _PayloadPart | None = None
    changes_requested: _PayloadPart | None = None


# Leaner shapes for the archive's hot path (`index_facts_from_json`): only what its columns need is
# declared, so nothing else is decoded; the rest are class attributes that read None, which lets
# `_derive` serve both without a second statement of the rules.

class _IndexSession(msgspec.Struct, gc=False):
    user: _User | None = None
    ip_address: _Text | None = None
    user_agent = ja3 = ja4 = ip_address_details = None


class _IndexActor(msgspec.Struct, gc=False):
    type: _Text | None = None
    session: _IndexSession | None = None
    api_key: _ApiKey | None = None


class _IndexProject(msgspec.Struct, gc=False):
    id: _Text | None = None
    name = None


class _IndexPayload(msgspec.Struct, gc=False):
    id: _Text | None = None
    name = email = user_id = principal_id = role_id = resource_id = resource_type = None
    error_code = error_message = data = changes_requested = None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _dict(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _user(value: Any) -> _User | None:
    d = _dict(value)
    return None if d is None else _User(_str(d.get("id")), _str(d.get("email")))


def _actor(value: Any) -> _Actor | None:
    d = _dict(value)
    if d is None:
        return None
    session = api_key = None
    if (s := _dict(d.get("session"))) is not None:
        details = None
        if (ip := _dict(s.get("ip_address_details"))) is not None:
            details = _IpDetails(*(_str(ip.get(k)) for k in _IpDetails.__struct_fields__))
        session = _Session(_user(s.get("user")), _str(s.get("ip_address")), _str(s.get("user_agent")),
                           _str(s.get("ja3")), _str(s.get("ja4")), details)
    if (k := _dict(d.get("api_key"))) is not None:
        account = _dict(k.get("service_account"))
        api_key = _ApiKey(_str(k.get("id")), _str(k.get("type")), _user(k.get("user")),
                          None if account is None else _Ref(_str(account.get("id"))))
    return _Actor(_str(d.get("type")), session, api_key)


# The payload's text fields (all but the two nested parts).
_PAYLOAD_TEXTS = tuple(k for k in _Payload.__struct_fields__ if k not in ("data", "changes_requested"))


def _part(value: Any) -> _PayloadPart | None:
    d = _dict(value)
    if d is None:
        return None
    scopes = d.get("scopes")
    return _PayloadPart(_str(d.get("name")), _str(d.get("email")), _str(d.get("role")),
                        scopes if isinstance(scopes, list) and all(isinstance(x, str) for x in scopes) else None)


def _payload(value: Any) -> _Payload | None:
    d = _dict(value)
    if d is None:
        return None
    texts = {k: _str(d.get(k)) for k in _PAYLOAD_TEXTS}
    return _Payload(**texts, data=_part(d.get("data")), changes_requested=_part(d.get("changes_requested")))


_NO_SESSION = _Session()
_NO_KEY = _ApiKey()
_NO_DETAILS = _IpDetails()
_NO_REF = _Ref()
_NO_PROJECT = _Project()
_NO_PAYLOAD = _Payload()
_NO_PART = _PayloadPart()


def _actor_facts(actor: _Actor | None) -> tuple[Any, ...]:
    """The actor's facts, in `EventFacts` order from ``actor_type`` to ``ip_longitude``."""
    actor_type = None if actor is None else actor.type
    session, api_key, user = _NO_SESSION, _NO_KEY, None
    if actor_type == "session":
        session = actor.session or _NO_SESSION  # type: ignore[union-attr]
        user = session.user
    elif actor_type == "api_key":
        api_key = actor.api_key or _NO_KEY  # type: ignore[union-attr]
        user = api_key.user
    user_id = user_email = None
    if user is not None:
        user_id, user_email = user.id, user.email
    account_id = (api_key.service_account or _NO_REF).id
    ip = session.ip_address_details or _NO_DETAILS
    return (actor_type, user_id or account_id, user_id, user_email, account_id, api_key.id, api_key.type,
            session.ip_address, session.user_agent, session.ja3, session.ja4,
            ip.country, ip.city, ip.region, ip.region_code, ip.asn, ip.latitude, ip.longitude)


def _payload_facts(payload: _Payload | None) -> tuple[Any, ...]:
    """The payload's facts, in `EventFacts` order from ``target_id`` to ``scopes``."""
    payload = payload or _NO_PAYLOAD
    data = payload.data or _NO_PART
    scopes = data.scopes
    if scopes is None:
        scopes = (payload.changes_requested or _NO_PART).scopes
    return (payload.id, payload.name or data.name, payload.email or data.email,
            payload.user_id or payload.principal_id, payload.role_id or data.role, payload.resource_id,
            payload.resource_type, payload.error_code, payload.error_message,
            None if scopes is None else tuple(scopes))


def _derive(event_id: str | None, event_type: str | None, effective_at: int | None, actor: _Actor | None,
            project: _Project | None, payload: _Payload | None) -> EventFacts:
    """The one statement of the rules, over parts already read into structs (which hold no "")."""
    project = project or _NO_PROJECT
    return EventFacts(event_id, event_type, effective_at, *_actor_facts(actor),  # type: ignore[call-arg]
                      project.id, project.name, *_payload_facts(payload))


def facts(event: SupportsGet | Mapping[str, Any]) -> EventFacts:
    """The facts of a decoded event; any shape reads, a part of the wrong shape reads as absent."""
    get = getattr(event, "get", None)
    if not callable(get):
        return _derive(None, None, None, None, None, None)
    event_type = _str(get("type"))
    payload = None if event_type is None else _payload(get(event_type))
    project = _dict(get("project"))
    effective_at = get("effective_at")
    return _derive(_str(get("id")), event_type,
                   effective_at if type(effective_at) is int else None,  # a bool is no time
                   _actor(get("actor")),
                   None if project is None else _Project(_str(project.get("id")), _str(project.get("name"))),
                   payload)


# -- the fast path --------------------------------------------------------------------------------

#: One decoder per event type, since the payload sits under a key named after the type.
_decoders: dict[str, Callable[[Any], Any]] = {}
#: Types are a short list; a service inventing endless new ones gets the general path past this many.
_MAX_DECODERS = 512
_HEAD_KEYS = frozenset({"id", "type", "effective_at", "actor", "project"})


def _decoder(event_type: str, cache: dict[str, Callable[[Any], Any]], payload: Any, default: Any,
             actor: Any = _Actor | None, project: Any = _Project | None) -> Callable[[Any], Any] | None:
    decode = cache.get(event_type)
    if decode is None:
        if event_type in _HEAD_KEYS or len(cache) >= _MAX_DECODERS:
            return None
        shape = msgspec.defstruct("_Parts", [
            ("id", _Text | None, None),
            ("effective_at", int | None, None),
            ("actor", actor, msgspec.field(default=default)),
            ("project", project, msgspec.field(default=default)),
            ("payload", payload, msgspec.field(default=default, name=event_type)),
        ], gc=False)
        decode = cache[event_type] = msgspec.json.Decoder(shape).decode
    return decode


def _facts_decoder(event_type: str) -> Callable[[Any], Any] | None:
    return _decoders.get(event_type) or _decoder(event_type, _decoders, _Payload | None, None)


#: Decoders of only the archive's columns, per type.
_index_decoders: dict[str, Callable[[Any], Any]] = {}


def _index_decoder(event_type: str) -> Callable[[Any], Any] | None:
    return _index_decoders.get(event_type) or _decoder(
        event_type, _index_decoders, _IndexPayload | None, None, _IndexActor | None, _IndexProject | None)


#: Decoders that keep the actor's, the project's and the payload's bytes as they are, per type.
_raw_decoders: dict[str, Callable[[Any], Any]] = {}
_ABSENT = msgspec.Raw(b"")
_decode_payload = msgspec.json.Decoder(_Payload | None).decode
_decode_actor = msgspec.json.Decoder(_Actor | None).decode
_decode_project = msgspec.json.Decoder(_Project | None).decode


def _raw_parts_decoder(event_type: str) -> Callable[[Any], Any] | None:
    return _raw_decoders.get(event_type) or _decoder(event_type, _raw_decoders, msgspec.Raw, _ABSENT,
                                                     msgspec.Raw, msgspec.Raw)


# The actors and projects already read, by their exact bytes: a log names the same few sessions, keys
# and projects again and again, so each is decoded and read once. Bounded: past the limit a new one is
# read every time, which is only the cost of not caching.
_MAX_CACHED = 8192
_actors: dict[bytes, tuple[Any, ...]] = {}
_projects: dict[bytes, tuple[Any, ...]] = {}


def _actor_part(key: bytes) -> tuple[Any, ...]:
    found = _actors.get(key)
    if found is None:
        found = _actor_facts(_decode_actor(key) if key else None)
        if len(_actors) < _MAX_CACHED:
            _actors[key] = found
    return found


def _project_part(key: bytes) -> tuple[Any, ...]:
    found = _projects.get(key)
    if found is None:
        project = (_decode_project(key) if key else None) or _NO_PROJECT
        found = (project.id, project.name)
        if len(_projects) < _MAX_CACHED:
            _projects[key] = found
    return found


def _decode_event(raw: bytes | bytearray | memoryview | str | msgspec.Raw) -> dict[str, Any]:
    try:
        event = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise ValueError(f"not a JSON event: {exc}") from None
    if not isinstance(event, dict):
        raise ValueError(f"not a JSON event: a {type(event).__name__}")
    return event


def facts_from_json(raw: bytes | bytearray | memoryview | str | msgspec.Raw, event_type: str) -> EventFacts:
    """``facts`` of the event whose JSON text is ``raw`` and whose ``type`` is ``event_type``.

    Decodes only the parts the facts come from; an event of a shape the structs do not expect (a number
    where a string was, an actor that is not an object, a type named like a top-level key) is decoded
    whole and read the lenient way, so the answer is always ``facts(json.loads(raw))``.
    ``ValueError`` if ``raw`` is not a JSON object.
    """
    decode = _facts_decoder(event_type) if event_type else None
    if decode is not None:
        try:
            parts = decode(raw)
        except msgspec.DecodeError:   # an unexpected shape somewhere: the lenient reader copes with any
            pass
        else:
            return _derive(parts.id, event_type, parts.effective_at, parts.actor, parts.project, parts.payload)
    return facts(_decode_event(raw))


def index_facts_from_json(raw: bytes | bytearray | memoryview | str | msgspec.Raw, event_type: str) -> EventFacts:
    """``facts_from_json`` with only the archive's columns read, for the sync's hot path.

    Filled as ``facts`` fills them: ``id``, ``type``, ``effective_at``, ``actor_type``, ``actor_id``,
    ``user_id``, ``user_email``, ``service_account_id``, ``api_key_id``, ``api_key_type``, ``ip_address``,
    ``project_id``, ``target_id`` (a test holds them to ``facts``). The others are not read and may be
    None whatever the event holds: read them with ``facts_from_json``.
    """
    decode = _index_decoder(event_type) if event_type else None
    if decode is not None:
        try:
            parts = decode(raw)
        except msgspec.DecodeError:
            pass
        else:
            return _derive(parts.id, event_type, parts.effective_at, parts.actor, parts.project, parts.payload)
    return facts(_decode_event(raw))


def facts_and_payload_from_json(
    raw: bytes | bytearray | memoryview | str | msgspec.Raw, event_type: str
) -> tuple[EventFacts, msgspec.Raw | None]:
    """``facts_from_json`` plus the payload's JSON text, undecoded (None unless it is an object).

    For writers that carry the payload along as it is (the OCSF/ECS exports): msgspec encodes a
    ``msgspec.Raw`` by copying its bytes, so the payload is never decoded into dicts and encoded again.
    """
    f, body, _, _ = facts_payload_and_sources_from_json(raw, event_type)
    return f, body


def facts_payload_and_sources_from_json(
    raw: bytes | bytearray | memoryview | str | msgspec.Raw, event_type: str
) -> tuple[EventFacts, msgspec.Raw | None, bytes | None, bytes | None]:
    """``facts_and_payload_from_json`` plus the exact bytes of the actor and of the project read.

    The facts of the actor (``actor_type`` to ``ip_longitude``) follow from its bytes alone, and those
    of the project from its: a writer may keep what it makes of them by these keys (the exports encode
    each distinct actor once). None when the event was read the general way.
    """
    # The hot path of a mapped export: the decoder looked up here, and an absent project (most events'
    # have none) read as b"" without copying.
    decode = _raw_decoders.get(event_type) or (_raw_parts_decoder(event_type) if event_type else None)
    if decode is not None:
        try:
            parts = decode(raw)
            body: msgspec.Raw = parts.payload
            read = None if not len(body) else _decode_payload(body)
            actor = bytes(parts.actor)
            project = b"" if parts.project is _ABSENT else bytes(parts.project)
            f = EventFacts(parts.id, event_type, parts.effective_at, *(_actors.get(actor) or _actor_part(actor)),
                           *(_projects.get(project) or _project_part(project)), *_payload_facts(read))
        except msgspec.DecodeError:   # as in facts_from_json: the general way copes with any shape
            pass
        else:
            return f, None if read is None else body, actor, project
    event = _decode_event(raw)
    body_dict = payload(event)
    return facts(event), None if body_dict is None else msgspec.Raw(msgspec.json.encode(body_dict)), None, None


def own_facts_and_sources_from_json(
    raw: bytes | bytearray | memoryview | str | msgspec.Raw, event_type: str
) -> tuple[EventFacts | EventOwnFacts, msgspec.Raw | None, bytes | None, bytes | None]:
    """``facts_payload_and_sources_from_json`` with only the event's own facts (`EventOwnFacts`) when
    the actor and the project were read from their bytes: their facts are those of
    ``facts_from_json(raw, event_type)`` (the same as ``facts_payload_and_sources_from_json``'s), which
    a writer that keeps what it makes of them by these bytes reads only for one it has not seen. Every
    other answer, the payload's bytes included, is ``facts_payload_and_sources_from_json``'s; when the
    event was read the general way (the bytes None), the facts are all of them (`EventFacts`).

    For a mapped export's hot path: the 35 facts are not gathered into a struct for every event.
    """
    decode = _raw_decoders.get(event_type) or (_raw_parts_decoder(event_type) if event_type else None)
    if decode is not None:
        try:
            parts = decode(raw)
            body: msgspec.Raw = parts.payload
            read = None if not len(body) else _decode_payload(body)
            actor = bytes(parts.actor)
            project = b"" if parts.project is _ABSENT else bytes(parts.project)
            # Read (once per distinct text) even though not returned: an actor or a project of an odd
            # shape sends the event the general way, as in facts_payload_and_sources_from_json.
            _actors.get(actor) or _actor_part(actor)
            _projects.get(project) or _project_part(project)
        except msgspec.DecodeError:
            pass
        else:
            return (EventOwnFacts(parts.id, event_type, parts.effective_at, *_payload_facts(read)),
                    None if read is None else body, actor, project)
    return facts_payload_and_sources_from_json(raw, event_type)


def payload(event: SupportsGet | Mapping[str, Any]) -> dict[str, Any] | None:
    """The object under the key named by the event's ``type`` (the event's own dict: do not mutate)."""
    get = getattr(event, "get", None)
    if not callable(get):
        return None
    event_type = get("type")
    return _dict(get(event_type)) if isinstance(event_type, str) and event_type else None
