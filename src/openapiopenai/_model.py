"""The runtime every generated model stands on.

Two promises shape it:

* **Lossless.** What the service sent is kept as received, so fields newer than the spec
  (``actor.session.ja3``, ``ip_address_details``, a payload key nobody has documented yet) survive
  ``to_dict()`` and ``to_json()`` untouched, and are readable as attributes or by key.
* **Fast where users read.** Parsing a page splits it into each event's exact bytes and reads only the
  head (``id``, ``type``, ``effective_at``); the first time anything else of an event is asked for, its
  bytes are decoded once, by msgspec, straight into typed records of its event type.

So there are three kinds of model, all subclasses of :class:`Model`:

* ``EventModel`` (``_event``; ``AuditLog`` and its per-type subclasses): the event's raw bytes, its
  head, and, decoded on demand, its typed body (``actor``, ``project``, ``payload``) and its plain dict
  (for ``to_dict()`` and fields the spec does not declare). ``PageModel`` there too: the envelope.
* ``StructModel`` (``_record``; the actor, the project, every payload and what they nest): a msgspec
  ``Struct`` whose declared fields are plain attributes read at C speed. It remembers where its JSON
  object lives (the event's bytes and the path inside them), so ``to_dict()``, ``model_extra`` and
  undeclared fields come from the object as sent, not from the typed fields.
* :class:`ViewModel` (here; the page envelope, the error body, the time-filter parameter): a typed
  view over a dict, read through properties.

This module holds what all three share: :class:`Model`, the JSON helpers, and the views.

A value of an unexpected JSON type is returned as it is rather than rejected (unknown is normal): an
event whose body does not fit its typed records is built leniently from its dict instead.
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar, TypeVar

import msgspec

__all__ = ["JsonObject", "Model", "ViewModel", "dump_value", "wrap", "wrap_list"]

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

    @classmethod
    def _wrap(cls: type[M], value: JsonObject) -> M:
        """The model of a JSON object nested in another (``wrap``)."""
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


# -- views over a dict: the envelope, the error body, the request parameter ------------------------


def wrap(cls: type[M], value: Any) -> M | None:
    """Wrap a nested JSON object in its model; anything that is not an object reads as ``None``."""
    return cls._wrap(value) if type(value) is dict else None


def wrap_list(cls: type[M], value: Any) -> list[M] | None:
    if type(value) is not list:
        return None
    out: list[M] = []
    for item in value:
        obj = wrap(cls, item)
        if obj is not None:
            out.append(obj)
    return out


def fields_to_json(names: dict[str, str], fields: dict[str, Any]) -> JsonObject:
    """The JSON object a model built from keywords stands for: wire names, Nones left out, values dumped."""
    data: JsonObject = {}
    for name, value in fields.items():
        if value is not None:
            data[names.get(name, name)] = dump_value(value)
    return data


class ViewModel(Model):
    """A typed view over one JSON object: declared fields are properties reading the dict."""

    __slots__ = ("_data",)
    _data: JsonObject

    def __init__(self, **fields: Any) -> None:
        self._data = fields_to_json(type(self).__fields__, fields)

    def _json(self) -> JsonObject:
        return self._data

    @classmethod
    def _wrap(cls: type[M], value: JsonObject) -> M:
        obj = cls.__new__(cls)
        obj._data = value  # type: ignore[attr-defined]
        return obj

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
