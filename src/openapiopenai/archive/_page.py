"""A page as the sync reads it: each event's exact bytes and its head, and nothing else.

The sync needs less of a page than the public client gives: the walk checks only each event's head
(id, type, effective_at) and `has_more`, and the archive row is read from the event's bytes by
`_rows.head_row`. So a fetcher splits the body in two msgspec passes (the events' bytes, then their
heads) and hands the page over; it builds no event models and no rows. The row building happens on the
writer's thread, while the fetcher's next request is on the wire: with one worker the service and the
row building overlap instead of taking turns.

What a fetcher makes of a bad answer is what the public client makes of it (`AuditLogsApi.list_audit_logs`
with retries off): an error status is its `ApiException` (`api_exception_for`); a body that is not JSON,
or is JSON but not a page of events with heads, is an `ApiResponseValidationError`. So the shared retry
budget (`_pacing`) treats every failure as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from openapiopenai.exceptions import ApiResponseValidationError, api_exception_for

if TYPE_CHECKING:
    import httpx

    from openapiopenai.api.audit_logs_api import AuditLogsApi

__all__ = ["EventHead", "SyncPage", "read_page", "split_page"]


class EventHead(msgspec.Struct, gc=False, frozen=True):
    """The three fields every event must have: the walk checks them, the archive keys on them.

    Untracked by the cycle collector: a hundred of these per page, garbage once the page is committed."""

    id: str
    type: str
    effective_at: int


class _Events(msgspec.Struct, gc=False):
    # Envelope fields other than these two are not the archive's business (the public client keeps them).
    data: list[msgspec.Raw]
    has_more: Any = None


class _Heads(msgspec.Struct, gc=False):
    data: list[EventHead]


_events = msgspec.json.Decoder(_Events).decode
_heads = msgspec.json.Decoder(_Heads).decode


@dataclass(frozen=True, slots=True)
class SyncPage:
    raws: list[msgspec.Raw]
    """Each event's JSON exactly as sent: zero-copy views of the body."""
    heads: list[EventHead]
    has_more: bool


def split_page(body: bytes) -> SyncPage:
    """The page in `body`; raises `msgspec.ValidationError` (not a page) or `msgspec.DecodeError` (not JSON)."""
    page = _events(body)
    # The same truth test the public model's `has_more` gets from the walk (a missing one: no more).
    return SyncPage(page.data, _heads(body).data, bool(page.has_more))


def read_page(api: AuditLogsApi, **kwargs: Any) -> SyncPage:
    """One GET of the listing (no retries: the caller's budget decides), split for the sync."""
    response = api.list_audit_logs_without_preload_content(**kwargs, _max_retries=0)
    if response.status_code >= 400:
        raise api_exception_for(response.status_code, response.reason_phrase, response.content, response.headers)
    try:
        return split_page(response.content)
    except msgspec.ValidationError as exc:   # JSON, but not a page (a subclass of DecodeError: first)
        raise _invalid(response, f"unexpected response body: not an audit-log page: {exc}") from None
    except msgspec.DecodeError as exc:       # cut short or garbled in transit
        raise _invalid(response, f"unreadable response body: {exc}") from None


def _invalid(response: httpx.Response, message: str) -> ApiResponseValidationError:
    return ApiResponseValidationError(response.status_code, response.reason_phrase, message=message,
                                      headers={k.lower(): v for k, v in response.headers.items()})
