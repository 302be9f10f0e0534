"""Read a page body into models, keeping every event's exact bytes.

The body is split with msgspec into ``Raw`` slices (zero-copy views of the body) and each event is then
decoded on its own. One pass gives both the dicts the models read and the byte-exact text the archive
stores; nothing the service sent is dropped, including envelope fields newer than the spec.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ._model import EventModel, PageModel
from .api_client import BodyError

__all__ = ["ParseError", "parse_page"]

_envelope = msgspec.json.Decoder(dict[str, msgspec.Raw])
_raw_list = msgspec.json.Decoder(list[msgspec.Raw])
_decode = msgspec.json.Decoder().decode


class _Head(msgspec.Struct):
    """The three fields every consumer relies on (and the archive keys on); the rest stays raw."""

    id: str
    type: str
    effective_at: int


_heads = msgspec.json.Decoder(list[_Head])


class ParseError(BodyError):
    """The body is not JSON (truncated, garbled): worth another try."""


class ShapeError(Exception):
    """The body is JSON but not a page: retrying will not help."""


def parse_page(body: bytes, page_cls: type[PageModel]) -> PageModel:
    """Split a page into events that keep their exact bytes; decode each event's body lazily."""
    try:
        envelope = _envelope.decode(body)
        data = envelope.get("data")
        if data is None:
            raise ShapeError("the page has no 'data' list")
        raws = _raw_list.decode(data)
        heads = _heads.decode(data)
        env: dict[str, Any] = {k: (None if k == "data" else _decode(v)) for k, v in envelope.items()}
    except msgspec.ValidationError as exc:  # valid JSON, wrong shape (a subclass of DecodeError)
        raise ShapeError(f"not an audit-log page: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ParseError(str(exc)) from None
    page = page_cls.__new__(page_cls)
    page._env = env
    page._events = _events(raws, heads)
    page._full = False
    return page


def _events(raws: list[msgspec.Raw], heads: list[_Head]) -> list[EventModel]:
    """``EventModel._from_parts`` for each event, spelled out: it runs once per event of every page."""
    registry, fallback = EventModel._registry, EventModel._fallback or EventModel
    new = object.__new__
    events = []
    for raw, h in zip(raws, heads, strict=True):
        etype = h.type
        event = new(registry.get(etype) or fallback)
        event._d = None
        event._head = (h.id, etype, h.effective_at)
        event._raw = raw
        event._typed = None
        events.append(event)
    return events
