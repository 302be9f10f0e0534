"""The runtime every generated model stands on.

A model is a thin, typed *view* over the JSON object the service sent, not a copy of it. That choice
gives us the two properties the project promises at once:

* **Lossless.** The object is kept as received, so fields newer than the spec (``actor.session.ja3``,
  ``ip_address_details``, a payload key nobody has documented yet) survive ``to_dict()`` and
  ``to_json()`` untouched, and are readable as attributes or by key.
* **Fast.** Parsing a page is one JSON decode; nested objects are wrapped only when someone asks for
  them, so a sync that only needs ``id``, ``type`` and ``effective_at`` never pays for the rest.

Declared fields are generated as properties that read the underlying dict; their static types come
from the spec, and a value of an unexpected JSON type is returned as it is rather than rejected
(unknown is normal).
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar, TypeVar

import msgspec

__all__ = ["JsonObject", "Model", "dump_value", "wrap", "wrap_list"]

JsonObject = dict[str, Any]
M = TypeVar("M", bound="Model")

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


def dump_value(value: Any) -> Any:
    """Turn a Python value given to a model constructor or setter into its JSON form."""
    if isinstance(value, Model):
        return value._data
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [dump_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): dump_value(v) for k, v in value.items()}
    return value


def wrap(cls: type[M], value: Any) -> M | None:
    """Wrap a nested JSON object in its model; anything that is not an object reads as ``None``."""
    if type(value) is dict:
        obj = cls.__new__(cls)
        obj._data = value
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


class Model:
    """Base of every generated model: a typed view over one JSON object."""

    __slots__ = ("_data",)

    #: Python attribute name -> JSON key, for every field the spec declares.
    __fields__: ClassVar[dict[str, str]] = {}
    _data: JsonObject

    def __init__(self, **fields: Any) -> None:
        data: JsonObject = {}
        names = type(self).__fields__
        for name, value in fields.items():
            if value is None:
                continue
            data[names.get(name, name)] = dump_value(value)
        self._data = data

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_dict(cls: type[M], obj: Any) -> M | None:
        """Build a model from a JSON object; ``None`` gives ``None`` (openapi-generator's contract)."""
        if obj is None:
            return None
        if isinstance(obj, Model):
            obj = obj._data
        if not isinstance(obj, dict):
            raise ValueError(f"{cls.__name__}.from_dict() needs a JSON object (dict), got {type(obj).__name__}")
        # A private deep copy: the model must not change when the caller's dict does.
        inst = cls.__new__(cls)
        inst._data = _decode(_encode(obj))
        return inst

    @classmethod
    def from_json(cls: type[M], json_str: str | bytes) -> M | None:
        try:
            obj = _decode(json_str)
        except msgspec.DecodeError as exc:
            raise ValueError(f"{cls.__name__}.from_json(): invalid JSON: {exc}") from None
        if obj is None:
            return None
        if not isinstance(obj, dict):
            raise ValueError(f"{cls.__name__}.from_json() needs a JSON object, got {type(obj).__name__}")
        inst = cls.__new__(cls)
        inst._data = obj
        return inst

    # -- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> JsonObject:
        """The JSON object as received (a fresh copy), including fields the spec does not declare."""
        result: JsonObject = _decode(_encode(self._data))
        return result

    def to_json(self) -> str:
        return _encode(self._data).decode()

    def to_str(self) -> str:
        import pprint

        return pprint.pformat(self.to_dict())

    @property
    def model_extra(self) -> JsonObject:
        """The fields present in the object that the spec does not declare for this model."""
        declared = set(type(self).__fields__.values())
        return {k: v for k, v in self._data.items() if k not in declared}

    # -- mapping-style access, for fields under any name --------------------------------------
    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that are not declared fields: extra fields read as attributes,
        # like pydantic's extra="allow" (``session.ja3``).
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__!s} has no field {name!r}") from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Model):
            return NotImplemented
        return type(self) is type(other) and self._data == other._data

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dict it views

    def __repr__(self) -> str:
        parts = []
        for attr, key in type(self).__fields__.items():
            if key in self._data:
                parts.append(f"{attr}={getattr(self, attr)!r}")
        extra = self.model_extra
        if extra:
            parts.append(f"extra={extra!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __getstate__(self) -> JsonObject:
        return self._data

    def __setstate__(self, state: JsonObject) -> None:
        self._data = state


class EventModel(Model):
    """Base of ``AuditLog``: a model that also keeps the exact bytes the service sent for it.

    ``raw_json`` is what the archive stores, so "identical to the service's" holds to the byte, not
    only after a decode/encode round trip. An event parsed from a page is decoded lazily: the page
    parser reads only ``id``, ``type`` and ``effective_at`` (the *head*), and the full object is decoded
    from the raw bytes the first time anything else is asked for.
    """

    __slots__ = ("_d", "_head", "_raw")

    #: event type -> the generated subclass for it; filled in by the generated ``audit_log`` module.
    _registry: ClassVar[dict[str, type[EventModel]]] = {}
    #: the class for a type nobody registered (``AuditLog``, set by the generated module).
    _fallback: ClassVar[type[EventModel] | None] = None
    _d: JsonObject | None
    _head: tuple[str, str, int] | None
    _raw: bytes | msgspec.Raw | None

    def __init__(self, **fields: Any) -> None:
        self._raw = None
        super().__init__(**fields)

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
        return obj

    @classmethod
    def from_dict(cls: type[M], obj: Any) -> M | None:
        if obj is None:
            return None
        if isinstance(obj, Model):
            obj = obj._data
        if not isinstance(obj, dict):
            raise ValueError(f"{cls.__name__}.from_dict() needs a JSON object (dict), got {type(obj).__name__}")
        raw = _encode(obj)
        return cls._from_parts(_decode(raw), raw)  # type: ignore[attr-defined,no-any-return]

    @classmethod
    def from_json(cls: type[M], json_str: str | bytes) -> M | None:
        raw = json_str.encode() if isinstance(json_str, str) else bytes(json_str)
        try:
            obj = _decode(raw)
        except msgspec.DecodeError as exc:
            raise ValueError(f"{cls.__name__}.from_json(): invalid JSON: {exc}") from None
        if obj is None:
            return None
        if not isinstance(obj, dict):
            raise ValueError(f"{cls.__name__}.from_json() needs a JSON object, got {type(obj).__name__}")
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
        result: JsonObject = _decode(raw) if raw is not None else _decode(_encode(self._data))
        return result

    def to_json(self) -> str:
        return self.raw_json

    def __setstate__(self, state: JsonObject) -> None:
        # Model.__getstate__ pickles the decoded object; the raw bytes are not carried over.
        self._raw = None
        self._data = state


class PageModel(Model):
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
