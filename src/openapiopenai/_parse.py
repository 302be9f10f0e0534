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


class ParseError(BodyError):
    """The body is not JSON (truncated, garbled): worth another try."""


class ShapeError(Exception):
    """The body is JSON but not a page: retrying will not help."""


def parse_page(body: bytes, page_cls: type[PageModel]) -> PageModel:
    try:
        envelope = _envelope.decode(body)
        raw_events = _raw_list.decode(envelope["data"]) if "data" in envelope else None
    except msgspec.ValidationError as exc:  # valid JSON, wrong shape (a subclass of DecodeError)
        raise ShapeError(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise ParseError(str(exc)) from None
    if raw_events is None:
        raise ShapeError("the page has no 'data' list")
    events: list[Any] = []
    from_parts = EventModel._from_parts
    for raw in raw_events:
        try:
            data = _decode(raw)
        except msgspec.DecodeError as exc:
            raise ParseError(str(exc)) from None
        if type(data) is not dict:
            raise ShapeError(f"an event is not a JSON object: {bytes(raw)[:60]!r}")
        # The three fields every consumer (and the archive's primary key) relies on.
        if type(data.get("id")) is not str or type(data.get("effective_at")) is not int or type(data.get("type")) is not str:
            raise ShapeError(f"an event lacks a string id, a string type or an integer effective_at: {bytes(raw)[:120]!r}")
        events.append(from_parts(data, raw))
    page_data: dict[str, Any] = {}
    try:
        for key, value in envelope.items():
            page_data[key] = [e._data for e in events] if key == "data" else _decode(value)
    except msgspec.DecodeError as exc:
        raise ParseError(str(exc)) from None
    page = page_cls.__new__(page_cls)
    page._data = page_data
    page._events = events
    return page
