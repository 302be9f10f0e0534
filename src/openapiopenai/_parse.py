"""Read a page body into models, keeping every event's exact bytes.

The body is split with msgspec into ``Raw`` slices (zero-copy views of the body) plus each event's head;
the rest of an event is decoded from its slice when first asked for. Nothing the service sent is
dropped, including envelope fields newer than the spec.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ._event import EventHead, PageModel
from .api_client import BodyError

__all__ = ["ParseError", "parse_page"]

_envelope = msgspec.json.Decoder(dict[str, msgspec.Raw])
_raw_list = msgspec.json.Decoder(list[msgspec.Raw])
_decode = msgspec.json.Decoder().decode
_heads = msgspec.json.Decoder(list[EventHead])

_UNSET = msgspec.UNSET


class _Envelope(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """A page with exactly the envelope fields the spec declares: one pass splits it into events.

    Any other key (an envelope field newer than the spec) fails it, and the general path, which keeps
    every key, reads the page instead."""

    data: list[msgspec.Raw]
    object: Any = _UNSET
    first_id: Any = _UNSET
    last_id: Any = _UNSET
    has_more: Any = _UNSET


class _PageHeads(msgspec.Struct, gc=False):
    data: list[EventHead]


_envelope_struct = msgspec.json.Decoder(_Envelope)
_page_heads = msgspec.json.Decoder(_PageHeads)


def _split(body: bytes) -> tuple[dict[str, Any], list[msgspec.Raw], list[EventHead]]:
    """The envelope's fields as sent (``data`` left out), each event's bytes and each event's head.

    Two passes over the body in the usual case (the events' bytes with the envelope, then the heads),
    three when the envelope carries a key the spec does not declare."""
    try:
        page = _envelope_struct.decode(body)
    except msgspec.ValidationError:  # an extra envelope key, or not a page at all: the general path says
        envelope = _envelope.decode(body)
        data = envelope.get("data")
        if data is None:
            raise ShapeError("the page has no 'data' list") from None
        env = {k: (None if k == "data" else _decode(v)) for k, v in envelope.items()}
        return env, _raw_list.decode(data), _heads.decode(data)
    env = {"object": page.object, "data": None, "first_id": page.first_id, "last_id": page.last_id,
           "has_more": page.has_more}
    return {k: v for k, v in env.items() if v is not _UNSET}, page.data, _page_heads.decode(body).data


class ParseError(BodyError):
    """The body is not JSON (truncated, garbled): worth another try."""


class ShapeError(Exception):
    """The body is JSON but not a page: retrying will not help."""


def parse_page(body: bytes, page_cls: type[PageModel]) -> PageModel:
    """Split a page into events that keep their exact bytes; decode each event's body lazily.

    Every event's head is decoded (and checked) here, so a page that is not one fails the call; the
    event objects are built from the heads and bytes when the page's events are first asked for
    (``PageModel._event_list``): paging through a log by ``last_id`` builds none."""
    try:
        env, raws, heads = _split(body)
    except msgspec.ValidationError as exc:  # valid JSON, wrong shape (a subclass of DecodeError)
        raise ShapeError(f"not an audit-log page: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ParseError(str(exc)) from None
    if len(raws) != len(heads):  # one list, read twice: only a decoder bug could make them differ
        raise ShapeError("the page's events and their heads do not pair up")
    page = page_cls.__new__(page_cls)
    page._env = env
    page._events = None
    page._parts = (raws, heads)
    page._full = False
    return page
