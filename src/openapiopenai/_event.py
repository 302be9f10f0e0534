"""Events and pages: an event keeps its exact bytes and decodes its parts on demand.

An event parsed from a page holds its head (``id``, ``type``, ``effective_at``) and its bytes. The
first time a part is asked for, the bytes are decoded once into the typed records of its event type
(``_record``); the plain dict is decoded only for ``to_dict()`` and fields the spec does not declare.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any, ClassVar, TypeVar, cast

import msgspec

from ._model import (
    JsonObject,
    Model,
    ViewModel,
    _copy,
    _decode,
    _encode,
    _json_arg,
    fields_to_json,
)
from ._record import StructModel, _build, decoding

__all__ = ["EventHead", "EventModel", "PageModel"]

#: The head fields read by `_head_part` from ``EventModel._head`` (an event built from a dict has none).
_HEAD_KEYS = frozenset(("id", "effective_at"))

M = TypeVar("M", bound=Model)

_set_decoding, _reset_decoding = decoding.set, decoding.reset


class EventHead(msgspec.Struct, gc=False):
    """The three fields every consumer relies on (and the archive keys on), decoded for every event
    of a page; the rest stays raw.

    Kept as the event's head as decoded (no copy into a tuple), and untracked by the cycle collector:
    a hundred of these per page are garbage a moment later."""

    id: str
    type: str
    effective_at: int


class EventBody(msgspec.Struct, kw_only=True, gc=False):
    """What an event holds besides its head, typed; decoded from its bytes per event type."""

    actor: Any = None
    project: Any = None
    payload: Any = None


#: Types are a short list; a service inventing endless new ones gets the lenient path past this many
#: (per event class: in practice the fallback ``AuditLog``, which every unknown type parses to).
_MAX_DECODERS = 512
#: The JSON keys of the body that are not the payload's (a type named like one has no typed payload).
_BODY_KEYS = ("actor", "project")


#: Links the records of a typed body that the decode could not (``body, the event's bytes``).
_Linker = Callable[[EventBody, Any], None]
#: An event type's body decoder and what links its body after the decode (``None``: nothing to link).
_BodyDecoder = tuple[Callable[[Any], EventBody], _Linker | None]


def _body_linker(klass: type[EventModel], event_type: str) -> _Linker | None:
    """One function linking the records of a body the decode could not place, or ``None`` when no
    record can need it. It runs after every event's decode, so the usual case (an actor, whose API
    key's user sits away from a session's user, and a flat payload) is one call, not three checks."""
    parts: list[tuple[str, Callable[[Any, Any], None]]] = []
    for name, cls in (("actor", klass._actor_cls), ("project", klass._project_cls)):
        if cls._relinks:
            parts.append((name, cls._link_in_event))
    payload_cls, path = klass._payload_cls, (event_type,)
    if payload_cls._event_path != path:  # the fallback's payload class (any type) is told where
        parts.append(("payload", lambda record, raw: record._link(raw, path)))
    elif payload_cls._relinks:  # a payload class made for this type sits at its key
        parts.append(("payload", payload_cls._link_in_event))
    if not parts:
        return None
    if len(parts) == 1:
        ((name, link),) = parts

        def link_one(body: EventBody, raw: Any) -> None:
            if (v := getattr(body, name)) is not None:
                link(v, raw)

        return link_one

    def link_all(body: EventBody, raw: Any) -> None:
        for name, link in parts:
            if (v := getattr(body, name)) is not None:
                link(v, raw)

    return link_all


def _body_decoder(klass: type[EventModel], event_type: str) -> _BodyDecoder | None:
    """The decoder of one event type's body into ``klass``'s records; built on first use."""
    decoders = klass._decoders
    if event_type in _BODY_KEYS or len(decoders) >= _MAX_DECODERS:
        return None
    body = msgspec.defstruct(
        "EventBody", [
            ("actor", klass._actor_cls | None, None),
            ("project", klass._project_cls | None, None),
            ("payload", klass._payload_cls | None, msgspec.field(default=None, name=event_type)),
        ], bases=(EventBody,), kw_only=True, gc=False)
    decoder = (cast(Callable[[Any], EventBody], msgspec.json.Decoder(body).decode),
               _body_linker(klass, event_type))
    decoders[event_type] = decoder
    return decoder


class EventModel(Model):
    """Base of ``AuditLog``: an event, keeping the exact bytes the service sent for it.

    ``raw_json`` is what the archive stores, so "identical to the service's" holds to the byte, not
    only after a decode/encode round trip. An event parsed from a page holds only its head (an
    ``EventHead``: ``id``, ``type``, ``effective_at``) and its bytes; its typed body (``_body()``) and
    its dict (``_data``) are each decoded from the bytes the first time they are asked for.
    """

    __slots__ = ("_d", "_head", "_raw", "_typed")

    #: event type -> the generated subclass for it; filled in by the generated ``audit_log`` module.
    _registry: ClassVar[dict[str, type[EventModel]]] = {}
    #: the class for a type nobody registered (``AuditLog``, set by the generated module).
    _fallback: ClassVar[type[EventModel] | None] = None
    #: the record classes of the typed body (set by the generated classes).
    _actor_cls: ClassVar[type[StructModel]] = StructModel
    _project_cls: ClassVar[type[StructModel]] = StructModel
    _payload_cls: ClassVar[type[StructModel]] = StructModel
    #: event type -> the decoder of its body into this class's records (see `_body_decoder`).
    _decoders: ClassVar[dict[str, _BodyDecoder]] = {}
    _d: JsonObject | None
    _head: EventHead | None
    _raw: bytes | msgspec.Raw | None
    _typed: EventBody | None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._decoders = {}  # its own: a decoder is built for one class's records

    def __init__(self, **fields: Any) -> None:
        self._raw = None
        self._data = fields_to_json(type(self).__fields__, fields)

    @property
    def _data(self) -> JsonObject:
        d = self._d
        if d is None:
            d = self._d = _decode(self._raw)  # type: ignore[arg-type]
        return d

    @_data.setter
    def _data(self, value: JsonObject) -> None:
        self._d = value
        self._head = None
        self._typed = None

    def _json(self) -> JsonObject:
        return self._data

    def __getattr__(self, name: str) -> Any:
        # Reached for a property that failed with AttributeError and for names no class declares
        # (fields the spec does not: ``Model.__getattr__``).
        if name in _HEAD_KEYS:  # `_head_part` of an event built from a dict: no head
            return self._data[name]
        return Model.__getattr__(self, name)

    def _body(self) -> EventBody:
        """The typed body (callers ask ``self._typed or self._body()``): one msgspec decode of the
        event's bytes into its type's records, linked to those bytes; or, for an event built from a
        dict or whose body does not fit, the same records built leniently from the dict.

        It runs once for every event a caller reads a part of: kept to the decode and what it
        cannot do."""
        raw = self._raw
        h = self._head
        if h is not None and raw is not None:  # parsed from a page: the usual case
            etype = h.type
            decoder = type(self)._decoders.get(etype) or _body_decoder(type(self), etype)
            if decoder is not None:
                token = _set_decoding(raw)  # each record decoded takes the bytes as its `_src`
                try:
                    body = decoder[0](raw)
                except msgspec.DecodeError:  # ValidationError is one: an unexpected shape somewhere
                    body = None
                finally:
                    _reset_decoding(token)
                if body is not None:
                    if (link := decoder[1]) is not None:
                        link(body, raw)
                    self._typed = body
                    return body
        body = self._typed = self._lenient_body()
        return body

    def _lenient_body(self) -> EventBody:
        """The body built by hand from the dict, tolerating any shape."""
        data = self._data
        h = self._head
        etype = h.type if h is not None else data.get("type")
        raw = self._raw
        src = raw if raw is not None else data
        return EventBody(
            actor=_build(self._actor_cls, data.get("actor"), src, ("actor",)),
            project=_build(self._project_cls, data.get("project"), src, ("project",)),
            payload=(_build(self._payload_cls, data.get(etype), src, (etype,))
                     if type(etype) is str and etype not in _BODY_KEYS else None),
        )

    def _payload_under(self, key: str, cls: type[StructModel]) -> Any:
        """The record under a payload key: the typed payload for the event's own type, else (a key
        of another type, present on this event) built from the dict."""
        h = self._head
        if (h.type if h is not None else self._data.get("type")) == key and self._payload_cls is cls:
            return (self._typed or self._body()).payload
        raw = self._raw
        return _build(cls, self._data.get(key), raw if raw is not None else self._data, (key,))

    @classmethod
    def _from_parts(
        cls, data: JsonObject | None, raw: bytes | msgspec.Raw | None, head: EventHead | None = None
    ) -> EventModel:
        """Build the event's class from its dict or from its raw bytes plus head (one of the two)."""
        etype = head.type if head is not None else data.get("type")  # type: ignore[union-attr]
        klass = EventModel._registry.get(etype)  # type: ignore[arg-type]
        if klass is None:
            klass = EventModel._fallback or cls if cls is EventModel else cls
        obj = klass.__new__(klass)
        obj._d = data
        obj._head = head
        obj._raw = raw
        obj._typed = None
        return obj

    @classmethod
    def from_dict(cls: type[M], obj: Any) -> M | None:
        if obj is None:
            return None
        if isinstance(obj, Model):
            obj = obj._json()
        if not isinstance(obj, dict):
            raise ValueError(f"{cls.__name__}.from_dict() needs a JSON object (dict), got {type(obj).__name__}")
        raw = _encode(obj)
        return cls._from_parts(_decode(raw), raw)  # type: ignore[attr-defined,no-any-return]

    @classmethod
    def from_json(cls: type[M], json_str: str | bytes) -> M | None:
        raw = json_str.encode() if isinstance(json_str, str) else bytes(json_str)
        obj = _json_arg(cls, raw)
        if obj is None:
            return None
        return cls._from_parts(obj, raw)  # type: ignore[attr-defined,no-any-return]

    @property
    def raw_json(self) -> str:
        """The event's JSON text exactly as the service sent it."""
        raw = self._raw
        if raw is None:
            return _encode(self._data).decode()
        if isinstance(raw, msgspec.Raw):
            return bytes(raw).decode()
        return raw.decode()

    def to_dict(self) -> JsonObject:
        raw = self._raw
        result: JsonObject = _decode(raw) if raw is not None else _copy(self._data)
        return result

    def to_json(self) -> str:
        return self.raw_json

    def __getstate__(self) -> JsonObject:
        return self._data

    def __setstate__(self, state: JsonObject) -> None:
        # The decoded object is pickled; the raw bytes are not carried over.
        self._raw = None
        self._data = state


class PageModel(ViewModel):
    """Base of ``ListAuditLogsResponse``: the envelope plus the events, each built once.

    ``_env`` holds the envelope's fields as sent; its ``data`` entry is filled in from the events only
    when the whole page is asked for (``to_dict()``, ``page["data"]``), so paging through a log reads
    ``has_more`` and ``last_id`` without decoding every event. A parsed page holds its body and its
    events' heads (``_parts``) until its events are first asked for, and splits the body into each
    event's bytes and builds the events then.
    """

    __slots__ = ("_env", "_events", "_full", "_parts")
    _env: JsonObject
    _events: list[Any] | None
    _full: bool
    _parts: tuple[bytes, list[EventHead]] | None

    @property
    def _data(self) -> JsonObject:
        if not self._full:
            self._env["data"] = [e._data for e in self._event_list()]
            self._full = True
        return self._env

    @_data.setter
    def _data(self, value: JsonObject) -> None:
        self._env = value
        self._events = None
        self._parts = None
        self._full = True

    def _event_list(self) -> list[Any]:
        events = self._events
        if events is None:
            parts = self._parts
            if parts is not None:
                events = _parsed_events(*parts)
                self._parts = None
            else:
                raw_list = self._env.get("data")
                events = []
                if type(raw_list) is list:
                    for item in raw_list:
                        if type(item) is dict:
                            events.append(EventModel._from_parts(item, None))
            self._events = events
        return events


class _EventBytes(msgspec.Struct, gc=False):
    """A page's events as their exact bytes (``Raw``: zero-copy slices of the body); any other key
    of the page is skipped."""

    data: list[msgspec.Raw]


_event_bytes = msgspec.json.Decoder(_EventBytes).decode


def _parsed_events(body: bytes, heads: list[EventHead]) -> list[EventModel]:
    """``EventModel._from_parts`` for each event of a parsed page, spelled out: it runs once per event
    of every page read. ``heads`` were decoded from the same ``data`` list by ``parse_page``, so the
    two lists pair up (a decoder bug that made them differ fails the zip)."""
    registry, fallback = EventModel._registry, EventModel._fallback or EventModel
    new = object.__new__
    events = []
    for raw, h in zip(_event_bytes(body).data, heads, strict=True):
        event = new(registry.get(h.type) or fallback)
        event._d = None
        event._head = h
        event._raw = raw
        event._typed = None
        events.append(event)
    return events


def _head_part(key: str, doc: str | None = None) -> Any:
    """A property reading a head field (``id``, ``effective_at``): in C, with no Python frame, as it is
    read from every event; an event built from a dict (no ``_head``) reads it from the dict instead
    (``EventModel.__getattr__``, where the AttributeError of ``None.id`` leads)."""
    return property(attrgetter("_head." + key), doc=doc)
