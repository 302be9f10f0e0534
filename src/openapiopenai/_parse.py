"""Read a page body into models, keeping every event's exact bytes.

One msgspec pass reads the envelope and each event's head; the events' ``Raw`` slices (zero-copy views
of the body) are split out when the page's events are first asked for, and the rest of an event is
decoded from its slice when first asked for. Nothing the service sent is dropped, including envelope
fields newer than the spec.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ._event import EventHead, PageModel
from .api_client import BodyError

__all__ = ["ParseError", "parse_page"]

_envelope = msgspec.json.Decoder(dict[str, msgspec.Raw])
_decode = msgspec.json.Decoder().decode
_heads = msgspec.json.Decoder(list[EventHead])

_UNSET = msgspec.UNSET


class _Page(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """A page with exactly the envelope fields the spec declares: one pass reads the envelope and
    every event's head.

    Any other key (an envelope field newer than the spec) fails it, and the general path, which keeps
    every key, reads the page instead. The events' bytes are split out only when the page's events
    are first asked for (``PageModel._event_list``): paging by ``last_id`` reads the body once."""

    data: list[EventHead]
    object: Any = _UNSET
    first_id: Any = _UNSET
    last_id: Any = _UNSET
    has_more: Any = _UNSET


_page = msgspec.json.Decoder(_Page)


def _split(body: bytes) -> tuple[dict[str, Any], list[EventHead]]:
    """The envelope's fields as sent (``data`` left out) and each event's head.

    One pass over the body in the usual case, two when the envelope carries a key the spec does not
    declare."""
    try:
        page = _page.decode(body)
    except msgspec.ValidationError:  # an extra envelope key, or not a page at all: the general path says
        envelope = _envelope.decode(body)
        data = envelope.get("data")
        if data is None:
            raise ShapeError("the page has no 'data' list") from None
        env = {k: (None if k == "data" else _decode(v)) for k, v in envelope.items()}
        return env, _heads.decode(data)
    env = {"object": page.object, "data": None, "first_id": page.first_id, "last_id": page.last_id,
           "has_more": page.has_more}
    return {k: v for k, v in env.items() if v is not _UNSET}, page.data


class ParseError(BodyError):
    """The body is not JSON (truncated, garbled): worth another try."""


class ShapeError(Exception):
    """The body is JSON but not a page: retrying will not help."""


def parse_page(body: bytes, page_cls: type[PageModel]) -> PageModel:
    """Split a page into events that keep their exact bytes; decode each event's body lazily.

    Every event's head is decoded (and checked) here, so a page that is not one fails the call; the
    events' bytes are split out and the event objects built from them and the heads when the page's
    events are first asked for (``PageModel._event_list``): paging through a log by ``last_id``
    builds none and reads the body once."""
    try:
        env, heads = _split(body)
    except msgspec.ValidationError as exc:  # valid JSON, wrong shape (a subclass of DecodeError)
        raise ShapeError(f"not an audit-log page: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ParseError(str(exc)) from None
    page = page_cls.__new__(page_cls)
    page._env = env
    page._events = None
    page._parts = (body, heads)
    page._full = False
    return page
