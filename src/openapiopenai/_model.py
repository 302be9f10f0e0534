"""The runtime every generated model stands on.

Two promises shape it:

* **Lossless.** What the service sent is kept as received, so fields newer than the spec
  (``actor.session.ja3``, ``ip_address_details``, a payload key nobody has documented yet) survive
  ``to_dict()`` and ``to_json()`` untouched, and are readable as attributes or by key.
* **Fast where users read.** Parsing a page splits it into each event's exact bytes and reads only the
  head (``id``, ``type``, ``effective_at``); the first time anything else of an event is asked for, its
  bytes are decoded once, by msgspec, straight into typed records of its event type.

So there are three kinds of model, all subclasses of :class:`Model`:

* :class:`EventModel` (``AuditLog`` and its per-type subclasses): the event's raw bytes, its head, and,
  decoded on demand, its typed body (``actor``, ``project``, ``payload``) and its plain dict (for
  ``to_dict()`` and fields the spec does not declare).
* :class:`StructModel` (the actor, the project, every payload and what they nest): a msgspec ``Struct``
  whose declared fields are plain attributes read at C speed. It remembers where its JSON object lives
  (the event's bytes and the path inside them), so ``to_dict()``, ``model_extra`` and undeclared fields
  come from the object as sent, not from the typed fields.
* :class:`ViewModel` (the page envelope, the error body, the time-filter parameter): a typed view over a
  dict, read through properties.

A value of an unexpected JSON type is returned as it is rather than rejected (unknown is normal): an
event whose body does not fit its typed records is built leniently from its dict instead.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar, cast

import msgspec

__all__ = ["EventModel", "JsonObject", "Model", "PageModel", "StructModel", "ViewModel", "dump_value", "wrap",
           "wrap_list"]

JsonObject = dict[str, Any]
M = TypeVar("M", bound="Model")

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


def dump_value(value: Any) -> Any:
    """Turn a Python value given to a model constructor or setter into its JSON form."""
    if isinstance(value, Model):
        return value._json()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [dump_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): dump_value(v) for k, v in value.items()}
    return value


def _copy(obj: Any) -> Any:
    return _decode(_encode(obj))


def _object_arg(cls: type, obj: Any) -> JsonObject | None:
    """``from_dict``'s argument as a private deep copy (the model must not change when the caller's
    dict does); ``None`` gives ``None`` (openapi-generator's contract)."""
    if obj is None:
        return None
    if isinstance(obj, Model):
        obj = obj._json()
    if not isinstance(obj, dict):
        raise ValueError(f"{cls.__name__}.from_dict() needs a JSON object (dict), got {type(obj).__name__}")
    copied: JsonObject = _copy(obj)
    return copied


def _json_arg(cls: type, json_str: str | bytes) -> JsonObject | None:
    try:
        obj = _decode(json_str)
    except msgspec.DecodeError as exc:
        raise ValueError(f"{cls.__name__}.from_json(): invalid JSON: {exc}") from None
    if obj is None:
        return None
    if not isinstance(obj, dict):
        raise ValueError(f"{cls.__name__}.from_json() needs a JSON object, got {type(obj).__name__}")
    return obj


class Model:
    """Base of every generated model: typed access to one JSON object, which stays as it was sent."""

    __slots__ = ()

    #: Python attribute name -> JSON key, for every field the spec declares.
    __fields__: ClassVar[dict[str, str]] = {}

    def _json(self) -> JsonObject:
        """The JSON object this model reads (not a copy)."""
        raise NotImplementedError

    # -- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> JsonObject:
        """The JSON object as received (a fresh copy), including fields the spec does not declare."""
        result: JsonObject = _copy(self._json())
        return result

    def to_json(self) -> str:
        return _encode(self._json()).decode()

    def to_str(self) -> str:
        import pprint

        return pprint.pformat(self.to_dict())

    @property
    def model_extra(self) -> JsonObject:
        """The fields present in the object that the spec does not declare for this model."""
        declared = set(type(self).__fields__.values())
        return {k: v for k, v in self._json().items() if k not in declared}

    # -- mapping-style access, for fields under any name --------------------------------------
    def __getitem__(self, key: str) -> Any:
        return self._json()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._json()

    def get(self, key: str, default: Any = None) -> Any:
        return self._json().get(key, default)

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that are not declared fields: extra fields read as attributes,
        # like pydantic's extra="allow" (``session.ja3``).
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._json()[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__!s} has no field {name!r}") from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Model):
            return NotImplemented
        return type(self) is type(other) and self._json() == other._json()

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dict it views

    def __repr__(self) -> str:
        data = self._json()
        parts = []
        for attr, key in type(self).__fields__.items():
            if key in data:
                parts.append(f"{attr}={getattr(self, attr)!r}")
        extra = self.model_extra
        if extra:
            parts.append(f"extra={extra!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


# -- views over a dict: the envelope, the error body, the request parameter ----------------------


def wrap(cls: type[M], value: Any) -> M | None:
    """Wrap a nested JSON object in its model; anything that is not an object reads as ``None``."""
    if type(value) is dict:
        if issubclass(cls, StructModel):
            return _build(cls, value, value, ())  # type: ignore[return-value]
        obj = cls.__new__(cls)
        obj._data = value  # type: ignore[attr-defined]
        return obj
    return None


def wrap_list(cls: type[M], value: Any) -> list[M] | None:
    if type(value) is not list:
        return None
    out: list[M] = []
    for item in value:
        obj = wrap(cls, item)
        if obj is not None:
            out.append(obj)
    return out


class ViewModel(Model):
    """A typed view over one JSON object: declared fields are properties reading the dict."""

    __slots__ = ("_data",)
    _data: JsonObject

    def __init__(self, **fields: Any) -> None:
        data: JsonObject = {}
        names = type(self).__fields__
        for name, value in fields.items():
            if value is None:
                continue
            data[names.get(name, name)] = dump_value(value)
        self._data = data

    def _json(self) -> JsonObject:
        return self._data

    @classmethod
    def from_dict(cls: type[M], obj: Any) -> M | None:
        data = _object_arg(cls, obj)
        if data is None:
            return None
        inst = cls.__new__(cls)
        inst._data = data  # type: ignore[attr-defined]
        return inst

    @classmethod
    def from_json(cls: type[M], json_str: str | bytes) -> M | None:
        data = _json_arg(cls, json_str)
        if data is None:
            return None
        inst = cls.__new__(cls)
        inst._data = data  # type: ignore[attr-defined]
        return inst

    def __getstate__(self) -> JsonObject:
        return self._data

    def __setstate__(self, state: JsonObject) -> None:
        self._data = state


# -- typed records: the parts of an event ------------------------------------------------------


Path = tuple[Any, ...]
#: Sets a field of a frozen record: only the linking (`_link`, `_link_in_event`) and `_build` do, right
#: after the record is made.
_set = msgspec.structs.force_setattr


class _Source:
    """The declared type of a record's link fields. No JSON value is one, so a JSON key naming one
    of them fails the typed decode (and the lenient path builds that event) instead of filling it."""

    __slots__ = ()


class StructModel(msgspec.Struct, Model, kw_only=True, omit_defaults=True, gc=False, frozen=True):
    """A part of an event as a typed record: declared fields are msgspec ``Struct`` fields.

    Read-only (``frozen``), like the object it was decoded from: assigning a field would leave
    ``to_dict()`` reporting what was sent, so it raises instead.

    ``_src`` and ``_path`` say where its JSON object lives: ``_src`` is the event's raw bytes (or the
    dict a model was built from) and ``_path`` the keys and list positions down to the object (left
    unset for a record at the one place its class has in an event: ``_event_path``). They reference
    nothing that references the record back, so instances need no cycle collection (``gc=False``:
    decoding a page allocates nothing the garbage collector has to walk); a record does keep its
    event's bytes, and so the page body they are a slice of, alive. Built by its constructor, a
    record has no source and its JSON object is made from its fields.
    """

    #: struct-valued fields, for building and linking: attribute -> (JSON key, model class, is a list).
    __links__: ClassVar[dict[str, tuple[str, type[StructModel], bool]]] = {}
    #: where a record of this class sits in an event, when that is one place (generated): linked
    #: there by `_link_in_event`, it stores no `_path` of its own.
    _event_path: ClassVar[Path | None] = None

    # Named with an invisible separator (U+2063) so that no JSON key a service plausibly sends lands
    # here, and typed (`_Source`) so that one which does cannot fill them.
    _src: _Source | None = msgspec.field(default=None, name="\u2063src")
    _path: _Source | None = msgspec.field(default=None, name="\u2063path")

    def _json(self) -> JsonObject:
        src: Any = self._src
        if src is None:
            return {key: dump_value(v) for attr, key in type(self).__fields__.items()
                    if (v := getattr(self, attr)) is not None}
        obj = src if type(src) is dict else _decode(src)
        path: Any = self._path
        if path is None:  # linked at its class's one place in an event
            path = type(self)._event_path
        for step in path:
            obj = obj[step]
        result: JsonObject = obj
        return result

    def _link(self, src: Any, path: Path) -> None:
        """Record where this record lives in ``src`` after a typed decode; a generated record with
        struct-valued fields overrides this to link them too."""
        _set(self, "_src", src)
        _set(self, "_path", path)

    def _link_in_event(self, src: Any) -> None:
        """``_link`` at the record's fixed place in an event (generated for the actor and project)."""
        raise NotImplementedError

    @classmethod
    def from_dict(cls: type[M], obj: Any) -> M | None:
        data = _object_arg(cls, obj)
        return None if data is None else _build(cls, data, data, ())  # type: ignore[arg-type,return-value]

    @classmethod
    def from_json(cls: type[M], json_str: str | bytes) -> M | None:
        data = _json_arg(cls, json_str)
        return None if data is None else _build(cls, data, data, ())  # type: ignore[arg-type,return-value]

    # msgspec's own versions come first in the method order; these keep the Model behaviour.
    __eq__ = Model.__eq__
    __repr__ = Model.__repr__
    __getattr__ = Model.__getattr__
    __hash__ = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self._json()))


def _rebuild(cls: type[StructModel], data: JsonObject) -> StructModel | None:
    return _build(cls, data, data, ())


def _build(cls: type[StructModel], value: Any, src: Any, path: Path) -> StructModel | None:
    """The lenient way to a record: from a dict, keeping a value of an unexpected JSON type as it is.

    Used where the typed decode does not apply: ``from_dict``, a dict-built event, and an event whose
    body does not fit its typed records (a string where the spec says object, a number for a string).
    """
    if type(value) is not dict:
        return None
    links = cls.__links__
    fields: dict[str, Any] = {}
    for attr, key in cls.__fields__.items():
        v = value.get(key)
        if v is None:
            continue
        link = links.get(attr)
        if link is not None:
            sub = link[1]
            if link[2]:
                if type(v) is not list:
                    continue
                v = [b for i, item in enumerate(v) if (b := _build(sub, item, src, (*path, key, i))) is not None]
            else:
                v = _build(sub, v, src, (*path, key))
        fields[attr] = v
    obj = cls(**fields)
    _set(obj, "_src", src)
    _set(obj, "_path", path)
    return obj


# -- events ------------------------------------------------------------------------------------


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


def _body_decoder(klass: type[EventModel], event_type: str) -> Callable[[Any], EventBody] | None:
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
    decode = cast(Callable[[Any], EventBody], msgspec.json.Decoder(body).decode)
    decoders[event_type] = decode
    return decode


class EventModel(Model):
    """Base of ``AuditLog``: an event, keeping the exact bytes the service sent for it.

    ``raw_json`` is what the archive stores, so "identical to the service's" holds to the byte, not
    only after a decode/encode round trip. An event parsed from a page holds only its head (``id``,
    ``type``, ``effective_at``) and its bytes; its typed body (``_body()``) and its dict (``_data``) are
    each decoded from the bytes the first time they are asked for.
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
    _decoders: ClassVar[dict[str, Callable[[Any], EventBody]]] = {}
    _d: JsonObject | None
    _head: tuple[str, str, int] | None
    _raw: bytes | msgspec.Raw | None
    _typed: EventBody | None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._decoders = {}  # its own: a decoder is built for one class's records

    def __init__(self, **fields: Any) -> None:
        data: JsonObject = {}
        names = type(self).__fields__
        for name, value in fields.items():
            if value is None:
                continue
            data[names.get(name, name)] = dump_value(value)
        self._raw = None
        self._data = data

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

    def _body(self) -> EventBody:
        """The typed body (callers ask ``self._typed or self._body()``): one msgspec decode of the
        event's bytes into its type's records, linked to those bytes; or, for an event built from a
        dict or whose body does not fit, the same records built leniently from the dict."""
        h = self._head
        raw = self._raw
        body = None
        if h is not None and raw is not None:  # parsed from a page: the usual case, kept short
            etype = h[1]
            decode = type(self)._decoders.get(etype) or _body_decoder(type(self), etype)
            if decode is not None:
                try:
                    body = decode(raw)
                except msgspec.DecodeError:  # ValidationError is one: an unexpected shape somewhere
                    body = None
                else:
                    if (v := body.actor) is not None:
                        v._link_in_event(raw)
                    if (v := body.project) is not None:
                        v._link_in_event(raw)
                    if (v := body.payload) is not None:
                        if type(v).__links__:
                            v._link(raw, (etype,))
                        else:  # a payload with no records inside: no call
                            _set(v, "_src", raw)
                            _set(v, "_path", (etype,))
        if body is None:
            body = self._lenient_body()
        self._typed = body
        return body

    def _lenient_body(self) -> EventBody:
        """The body built by hand from the dict, tolerating any shape."""
        data = self._data
        h = self._head
        etype = h[1] if h is not None else data.get("type")
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
        if (h[1] if h is not None else self._data.get("type")) == key and self._payload_cls is cls:
            return (self._typed or self._body()).payload
        raw = self._raw
        return _build(cls, self._data.get(key), raw if raw is not None else self._data, (key,))

    @classmethod
    def _from_parts(
        cls, data: JsonObject | None, raw: bytes | msgspec.Raw | None, head: tuple[str, str, int] | None = None
    ) -> EventModel:
        """Build the event's class from its dict or from its raw bytes plus head (one of the two)."""
        etype = head[1] if head is not None else data.get("type")  # type: ignore[union-attr]
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
    ``has_more`` and ``last_id`` without decoding every event.
    """

    __slots__ = ("_env", "_events", "_full")
    _env: JsonObject
    _events: list[Any] | None
    _full: bool

    @property
    def _data(self) -> JsonObject:
        if not self._full:
            self._env["data"] = [e._data for e in self._events or ()]
            self._full = True
        return self._env

    @_data.setter
    def _data(self, value: JsonObject) -> None:
        self._env = value
        self._events = None
        self._full = True

    def _event_list(self) -> list[Any]:
        events = self._events
        if events is None:
            raw_list = self._env.get("data")
            events = []
            if type(raw_list) is list:
                for item in raw_list:
                    if type(item) is dict:
                        events.append(EventModel._from_parts(item, None))
            self._events = events
        return events
