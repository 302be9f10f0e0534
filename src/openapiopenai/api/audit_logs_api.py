"""``AuditLogsApi`` / ``AsyncAuditLogsApi``: ``GET /organization/audit_logs`` and its pagination.

The method names and arguments are openapi-generator's (``list_audit_logs``,
``list_audit_logs_with_http_info``, ``list_audit_logs_without_preload_content``, ``_request_timeout``,
``_headers``), so code written against a generated client runs unchanged; what differs is that the query
is encoded the way the service reads it, nothing the service sends is dropped, and failures are retried.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from .._query import build_query
from ..api_client import ApiClient, AsyncApiClient, RequestTimeout
from ..api_response import ApiResponse
from ..exceptions import ApiResponseValidationError
from ..pagination import Direction, aiter_pages, check_direction, iter_pages

if TYPE_CHECKING:
    from ..models.audit_log import AuditLog
    from ..models.audit_log_event_type import AuditLogEventType
    from ..models.list_audit_logs_effective_at_parameter import ListAuditLogsEffectiveAtParameter
    from ..models.list_audit_logs_response import ListAuditLogsResponse

    EffectiveAt = ListAuditLogsEffectiveAtParameter | Mapping[str, Any] | None

__all__ = ["AsyncAuditLogsApi", "AuditLogsApi"]

PATH = "/organization/audit_logs"


def _parse(response: httpx.Response) -> ListAuditLogsResponse:
    # Imported here, not at module top: the models and the parser (msgspec, which pulls in
    # typing_extensions and inspect) are the heaviest imports in the package, and a script that only
    # builds a client, or fails on a bad argument, should not pay for them.
    from .._parse import ShapeError, parse_page
    from ..models.list_audit_logs_response import ListAuditLogsResponse

    try:
        return parse_page(response.content, ListAuditLogsResponse)  # type: ignore[return-value]
    except ShapeError as exc:
        raise ApiResponseValidationError(
            response.status_code, response.reason_phrase, message=f"unexpected response body: {exc}",
            headers={k.lower(): v for k, v in response.headers.items()},
        ) from None


def _info(page: ListAuditLogsResponse, response: httpx.Response) -> ApiResponse[ListAuditLogsResponse]:
    return ApiResponse(response.status_code, response.headers, page, response.content)


class _Filters:
    """Shared by both APIs: argument checking and encoding happen once, before any I/O."""

    @staticmethod
    def query(
        effective_at: EffectiveAt,
        project_ids: Sequence[str] | None,
        event_types: Sequence[AuditLogEventType | str] | None,
        actor_ids: Sequence[str] | None,
        actor_emails: Sequence[str] | None,
        resource_ids: Sequence[str] | None,
        tenant_only: bool | None,
        limit: int | None,
        after: str | None,
        before: str | None,
    ) -> str:
        return build_query(effective_at=effective_at, project_ids=project_ids, event_types=event_types,
                           actor_ids=actor_ids, actor_emails=actor_emails, resource_ids=resource_ids,
                           tenant_only=tenant_only, limit=limit, after=after, before=before)


class AuditLogsApi:
    """List user actions and configuration changes within an organization (synchronous)."""

    def __init__(self, api_client: ApiClient | None = None) -> None:
        if isinstance(api_client, AsyncApiClient):
            raise TypeError("AuditLogsApi needs an ApiClient; use AsyncAuditLogsApi with an AsyncApiClient")
        self.api_client = api_client or ApiClient()

    def list_audit_logs(
        self,
        effective_at: EffectiveAt = None,
        project_ids: Sequence[str] | None = None,
        event_types: Sequence[AuditLogEventType | str] | None = None,
        actor_ids: Sequence[str] | None = None,
        actor_emails: Sequence[str] | None = None,
        resource_ids: Sequence[str] | None = None,
        tenant_only: bool | None = None,
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
        *,
        _request_timeout: RequestTimeout = None,
        _headers: Mapping[str, str] | None = None,
        _max_retries: int | None = None,
    ) -> ListAuditLogsResponse:
        """One page of events, newest first. Raises ``ValueError`` for bad arguments before sending."""
        query = _Filters.query(effective_at, project_ids, event_types, actor_ids, actor_emails, resource_ids,
                               tenant_only, limit, after, before)
        page, _ = self.api_client.call("GET", PATH, query, _parse, headers=_headers, timeout=_request_timeout,
                                       max_retries=_max_retries)
        return page

    def list_audit_logs_with_http_info(
        self,
        effective_at: EffectiveAt = None,
        project_ids: Sequence[str] | None = None,
        event_types: Sequence[AuditLogEventType | str] | None = None,
        actor_ids: Sequence[str] | None = None,
        actor_emails: Sequence[str] | None = None,
        resource_ids: Sequence[str] | None = None,
        tenant_only: bool | None = None,
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
        *,
        _request_timeout: RequestTimeout = None,
        _headers: Mapping[str, str] | None = None,
        _max_retries: int | None = None,
    ) -> ApiResponse[ListAuditLogsResponse]:
        """Like ``list_audit_logs``, with the status, headers and raw body alongside the page."""
        query = _Filters.query(effective_at, project_ids, event_types, actor_ids, actor_emails, resource_ids,
                               tenant_only, limit, after, before)
        page, response = self.api_client.call("GET", PATH, query, _parse, headers=_headers,
                                               timeout=_request_timeout, max_retries=_max_retries)
        return _info(page, response)

    def list_audit_logs_without_preload_content(
        self,
        effective_at: EffectiveAt = None,
        project_ids: Sequence[str] | None = None,
        event_types: Sequence[AuditLogEventType | str] | None = None,
        actor_ids: Sequence[str] | None = None,
        actor_emails: Sequence[str] | None = None,
        resource_ids: Sequence[str] | None = None,
        tenant_only: bool | None = None,
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
        *,
        _request_timeout: RequestTimeout = None,
        _headers: Mapping[str, str] | None = None,
        _max_retries: int | None = None,
    ) -> httpx.Response:
        """The raw ``httpx.Response``, not parsed and not checked for an error status."""
        query = _Filters.query(effective_at, project_ids, event_types, actor_ids, actor_emails, resource_ids,
                               tenant_only, limit, after, before)
        response, _ = self.api_client.call("GET", PATH, query, lambda r: r, headers=_headers,
                                           timeout=_request_timeout, max_retries=_max_retries, check_status=False,
                                           with_request=True)
        return response

    def iter_pages(
        self,
        effective_at: EffectiveAt = None,
        project_ids: Sequence[str] | None = None,
        event_types: Sequence[AuditLogEventType | str] | None = None,
        actor_ids: Sequence[str] | None = None,
        actor_emails: Sequence[str] | None = None,
        resource_ids: Sequence[str] | None = None,
        tenant_only: bool | None = None,
        limit: int | None = 100,
        after: str | None = None,
        before: str | None = None,
        *,
        direction: Direction = "older",
        _request_timeout: RequestTimeout = None,
    ) -> Iterator[ListAuditLogsResponse]:
        """Every page matching the filters: ``older`` from ``after`` (or the newest event) back in time,
        or ``newer`` from ``before`` towards the present. Arguments are checked before the first request."""
        start = check_direction(direction, after, before)
        # Validate everything up front so a bad argument fails at the call, not at the first next().
        _Filters.query(effective_at, project_ids, event_types, actor_ids, actor_emails, resource_ids,
                       tenant_only, limit, after, before)

        def fetch(cursor: str | None) -> ListAuditLogsResponse:
            return self.list_audit_logs(
                effective_at, project_ids, event_types, actor_ids, actor_emails, resource_ids, tenant_only, limit,
                after=cursor if direction == "older" else None, before=cursor if direction == "newer" else None,
                _request_timeout=_request_timeout,
            )

        return iter_pages(fetch, direction, start)  # type: ignore[return-value]

    def iter_audit_logs(
        self,
        effective_at: EffectiveAt = None,
        project_ids: Sequence[str] | None = None,
        event_types: Sequence[AuditLogEventType | str] | None = None,
        actor_ids: Sequence[str] | None = None,
        actor_emails: Sequence[str] | None = None,
        resource_ids: Sequence[str] | None = None,
        tenant_only: bool | None = None,
        limit: int | None = 100,
        after: str | None = None,
        before: str | None = None,
        *,
        direction: Direction = "older",
        _request_timeout: RequestTimeout = None,
    ) -> Iterator[AuditLog]:
        """Every event matching the filters, across pages. ``older`` yields newest first; ``newer``
        yields oldest first (each page is reversed), so either stream is in time order."""
        pages = self.iter_pages(effective_at, project_ids, event_types, actor_ids, actor_emails, resource_ids,
                                tenant_only, limit, after, before, direction=direction,
                                _request_timeout=_request_timeout)
        return _events(pages, direction)


def _events(pages: Iterator[ListAuditLogsResponse], direction: Direction) -> Iterator[AuditLog]:
    for page in pages:
        yield from (page.data if direction == "older" else reversed(page.data))


class AsyncAuditLogsApi:
    """The same operations as ``AuditLogsApi``, as coroutines over an ``AsyncApiClient``."""

    def __init__(self, api_client: AsyncApiClient | None = None) -> None:
        if isinstance(api_client, ApiClient):
            raise TypeError("AsyncAuditLogsApi needs an AsyncApiClient; use AuditLogsApi with an ApiClient")
        self.api_client = api_client or AsyncApiClient()

    async def list_audit_logs(
        self,
        effective_at: EffectiveAt = None,
        project_ids: Sequence[str] | None = None,
        event_types: Sequence[AuditLogEventType | str] | None = None,
        actor_ids: Sequence[str] | None = None,
        actor_emails: Sequence[str] | None = None,
        resource_ids: Sequence[str] | None = None,
        tenant_only: bool | None = None,
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
        *,
        _request_timeout: RequestTimeout = None,
        _headers: Mapping[str, str] | None = None,
        _max_retries: int | None = None,
    ) -> ListAuditLogsResponse:
        query = _Filters.query(effective_at, project_ids, event_types, actor_ids, actor_emails, resource_ids,
                               tenant_only, limit, after, before)
        page, _ = await self.api_client.call("GET", PATH, query, _parse, headers=_headers,
                                             timeout=_request_timeout, max_retries=_max_retries)
        return page

    async def list_audit_logs_with_http_info(
        self,
        effective_at: EffectiveAt = None,
        project_ids: Sequence[str] | None = None,
        event_types: Sequence[AuditLogEventType | str] | None = None,
        actor_ids: Sequence[str] | None = None,
        actor_emails: Sequence[str] | None = None,
        resource_ids: Sequence[str] | None = None,
        tenant_only: bool | None = None,
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
        *,
        _request_timeout: RequestTimeout = None,
        _headers: Mapping[str, str] | None = None,
        _max_retries: int | None = None,
    ) -> ApiResponse[ListAuditLogsResponse]:
        query = _Filters.query(effective_at, project_ids, event_types, actor_ids, actor_emails, resource_ids,
                               tenant_only, limit, after, before)
        page, response = await self.api_client.call("GET", PATH, query, _parse, headers=_headers,
                                                     timeout=_request_timeout, max_retries=_max_retries)
        return _info(page, response)

    async def list_audit_logs_without_preload_content(
        self,
        effective_at: EffectiveAt = None,
        project_ids: Sequence[str] | None = None,
        event_types: Sequence[AuditLogEventType | str] | None = None,
        actor_ids: Sequence[str] | None = None,
        actor_emails: Sequence[str] | None = None,
        resource_ids: Sequence[str] | None = None,
        tenant_only: bool | None = None,
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
        *,
        _request_timeout: RequestTimeout = None,
        _headers: Mapping[str, str] | None = None,
        _max_retries: int | None = None,
    ) -> httpx.Response:
        query = _Filters.query(effective_at, project_ids, event_types, actor_ids, actor_emails, resource_ids,
                               tenant_only, limit, after, before)
        response, _ = await self.api_client.call("GET", PATH, query, lambda r: r, headers=_headers,
                                                 timeout=_request_timeout, max_retries=_max_retries,
                                                 check_status=False, with_request=True)
        return response

    def iter_pages(
        self,
        effective_at: EffectiveAt = None,
        project_ids: Sequence[str] | None = None,
        event_types: Sequence[AuditLogEventType | str] | None = None,
        actor_ids: Sequence[str] | None = None,
        actor_emails: Sequence[str] | None = None,
        resource_ids: Sequence[str] | None = None,
        tenant_only: bool | None = None,
        limit: int | None = 100,
        after: str | None = None,
        before: str | None = None,
        *,
        direction: Direction = "older",
        _request_timeout: RequestTimeout = None,
    ) -> AsyncIterator[ListAuditLogsResponse]:
        """``async for page in api.iter_pages(...)``; see ``AuditLogsApi.iter_pages``."""
        start = check_direction(direction, after, before)
        _Filters.query(effective_at, project_ids, event_types, actor_ids, actor_emails, resource_ids,
                       tenant_only, limit, after, before)

        async def fetch(cursor: str | None) -> ListAuditLogsResponse:
            return await self.list_audit_logs(
                effective_at, project_ids, event_types, actor_ids, actor_emails, resource_ids, tenant_only, limit,
                after=cursor if direction == "older" else None, before=cursor if direction == "newer" else None,
                _request_timeout=_request_timeout,
            )

        return aiter_pages(fetch, direction, start)  # type: ignore[return-value]

    def iter_audit_logs(
        self,
        effective_at: EffectiveAt = None,
        project_ids: Sequence[str] | None = None,
        event_types: Sequence[AuditLogEventType | str] | None = None,
        actor_ids: Sequence[str] | None = None,
        actor_emails: Sequence[str] | None = None,
        resource_ids: Sequence[str] | None = None,
        tenant_only: bool | None = None,
        limit: int | None = 100,
        after: str | None = None,
        before: str | None = None,
        *,
        direction: Direction = "older",
        _request_timeout: RequestTimeout = None,
    ) -> AsyncIterator[AuditLog]:
        """``async for event in api.iter_audit_logs(...)``; see ``AuditLogsApi.iter_audit_logs``."""
        pages = self.iter_pages(effective_at, project_ids, event_types, actor_ids, actor_emails, resource_ids,
                                tenant_only, limit, after, before, direction=direction,
                                _request_timeout=_request_timeout)
        return _aevents(pages, direction)


async def _aevents(pages: AsyncIterator[ListAuditLogsResponse], direction: Direction) -> AsyncIterator[AuditLog]:
    async for page in pages:
        for event in page.data if direction == "older" else reversed(page.data):
            yield event
