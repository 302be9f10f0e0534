"""What a match shows beyond the archive's columns: the session's country and the target's name, read
from the event's JSON in Python.

At 1M events the rules match ~170k events, and these two fields were the ``events`` view's SQL for
each (``country``, ``target_name``: seven JSON calls on the event's text, ~8 us a match, most of the
cost of showing a match). Here only the four values they come from are decoded, by a msgspec struct per
event type (the payload sits under a key named after the type), ~1.5 us. The answer is the view's, as
`fields.Field` states it and `archive._views` writes it in SQL:

* ``country``: ``actor.session.ip_address_details.country`` when ``actor.type`` is ``session``;
* ``target_name``: ``<type>.name``, else ``<type>.data.name``, only for a type the view can name in a
  JSON path (letters, digits and ``_.:-``);

each only if it is a non-empty string. An event of any other shape (a part that is not an object) is
decoded whole and read the same way; the tests hold both readings to the view.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import msgspec

__all__ = ["country_and_name"]

# The view's path check on the type (`archive._views`): a type it cannot name has no target name.
_NAMEABLE = re.compile(r"[A-Za-z0-9_.:-]+")
#: The event's top-level keys the structs below read; a type spelled as one of them is read the general way.
_HEAD_KEYS = frozenset({"actor"})
_MAX_DECODERS = 512


class _Details(msgspec.Struct, gc=False):
    country: Any = None


class _Session(msgspec.Struct, gc=False):
    ip_address_details: _Details | None = None


class _Actor(msgspec.Struct, gc=False):
    type: Any = None
    session: _Session | None = None


class _Part(msgspec.Struct, gc=False):
    name: Any = None


class _Payload(msgspec.Struct, gc=False):
    name: Any = None
    data: _Part | None = None


_decoders: dict[str, Callable[[Any], Any] | None] = {}


def _decoder(event_type: str) -> Callable[[Any], Any] | None:
    if event_type in _decoders:
        return _decoders[event_type]
    decode = None
    if _NAMEABLE.fullmatch(event_type) and event_type not in _HEAD_KEYS and len(_decoders) < _MAX_DECODERS:
        shape = msgspec.defstruct("_Shown", [
            ("actor", _Actor | None, None),
            ("payload", _Payload | None, msgspec.field(default=None, name=event_type)),
        ], gc=False)
        decode = msgspec.json.Decoder(shape).decode
    if len(_decoders) < _MAX_DECODERS:
        _decoders[event_type] = decode
    return decode


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def country_and_name(raw: str, event_type: str) -> tuple[str | None, str | None]:
    """(``country``, ``target_name``) of the event whose JSON text is ``raw`` and whose type is ``event_type``."""
    decode = _decoder(event_type)
    if decode is not None:
        try:
            parts = decode(raw)
        except msgspec.DecodeError:   # a part of another shape: read the general way below
            pass
        else:
            actor, payload = parts.actor, parts.payload
            country = None
            if actor is not None and actor.type == "session" and actor.session is not None \
                    and actor.session.ip_address_details is not None:
                country = _text(actor.session.ip_address_details.country)
            name = None
            if payload is not None:
                name = _text(payload.name) or (None if payload.data is None else _text(payload.data.name))
            return country, name
    return _general(json.loads(raw), event_type)


def _general(event: Any, event_type: str) -> tuple[str | None, str | None]:
    def at(obj: Any, *keys: str) -> Any:
        for key in keys:
            if not isinstance(obj, dict):
                return None
            obj = obj.get(key)
        return obj

    country = _text(at(event, "actor", "session", "ip_address_details", "country")) \
        if at(event, "actor", "type") == "session" else None
    name = None
    if _NAMEABLE.fullmatch(event_type):
        name = _text(at(event, event_type, "name")) or _text(at(event, event_type, "data", "name"))
    return country, name
