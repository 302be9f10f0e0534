"""Typed records: the parts of an event (actor, project, payload and what they nest).

A record is a msgspec ``Struct``: its declared fields are plain attributes, decoded from the event's
bytes in one C pass and read with no Python code. What the spec does not declare is not lost: a
record remembers where its JSON object lives, and ``to_dict()``, ``model_extra`` and undeclared
fields are read from that object as it was sent.

Where it lives is mostly filled in by the decode itself: ``_src`` (the event's bytes) is the default of
a field no JSON key fills, so msgspec asks ``_decoding`` for it while it builds the record, and a record
at its class's usual place (``_event_path``) needs no path. Only a record elsewhere (an item of a list,
the user under an API key rather than a session) is given its path by Python code after the decode.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, ClassVar, TypeVar

import msgspec

from ._model import JsonObject, Model, _decode, _json_arg, _object_arg, dump_value

__all__ = ["Path", "StructModel", "decoding"]

M = TypeVar("M", bound=Model)

Path = tuple[Any, ...]
#: Sets a field of a frozen record: only the linking (`_link`, `_link_in_event`) and `_build` do, right
#: after the record is made.
_set = msgspec.structs.force_setattr
#: The bytes being decoded into records, while an event's body is (``EventModel._body``): every record
#: the decode builds takes them as its ``_src`` (a context variable, so threads decoding at once each
#: see their own; ``None`` otherwise, so a record built by its constructor has no source).
decoding: ContextVar[Any] = ContextVar("openapiopenai_decoding", default=None)


class _Source:
    """The declared type of a record's link fields. No JSON value is one, so a JSON key naming one
    of them fails the typed decode (and the lenient path builds that event) instead of filling it."""

    __slots__ = ()


class StructModel(msgspec.Struct, Model, kw_only=True, omit_defaults=True, gc=False, frozen=True):
    """A part of an event as a typed record: declared fields are msgspec ``Struct`` fields.

    Read-only (``frozen``), like the object it was decoded from: assigning a field would leave
    ``to_dict()`` reporting what was sent, so it raises instead.

    ``_src`` and ``_path`` say where its JSON object lives: ``_src`` is the event's raw bytes (or the
    dict a model was built from; filled in by the decode, see ``decoding``) and ``_path`` the keys and
    list positions down to the object (left unset for a record at its class's usual place in an event:
    ``_event_path``). They reference
    nothing that references the record back, so instances need no cycle collection (``gc=False``:
    decoding a page allocates nothing the garbage collector has to walk); a record does keep its
    event's bytes, and so the page body they are a slice of, alive. Built by its constructor, a
    record has no source and its JSON object is made from its fields.
    """

    #: struct-valued fields, for building and linking: attribute -> (JSON key, model class, is a list).
    __links__: ClassVar[dict[str, tuple[str, type[StructModel], bool]]] = {}
    #: where a record of this class sits in an event when no `_path` says otherwise (generated: its
    #: one place, or the first of several, not under a list); the others are linked by the
    #: `_link_in_event` of the event part above them.
    _event_path: ClassVar[Path | None] = None
    #: whether `_link_in_event` has work to do: some record below sits away from its class's usual
    #: place (generated; the decode calls it only then).
    _relinks: ClassVar[bool] = False

    # Named with an invisible separator (U+2063) so that no JSON key a service plausibly sends lands
    # here, and typed (`_Source`) so that one which does cannot fill them.
    _src: _Source | None = msgspec.field(default_factory=decoding.get, name="\u2063src")
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

    @classmethod
    def _wrap(cls: type[M], value: JsonObject) -> M:
        return _build(cls, value, value, ())  # type: ignore[arg-type,return-value]

    def _link_in_event(self, src: Any) -> None:
        """After a typed decode of an event, give a path to each record below this one that sits away
        from its class's usual place (generated where ``_relinks``); their ``_src`` is already set."""

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
