"""``DirectTransport``: httpx's own transport, with a way in for requests this client builds itself.

Sending through ``httpx.Client`` costs more than the HTTP exchange it wraps: on a 100-event page the
client layers (URL parsing and merging, header and cookie merging, the auth and redirect loops, event
hooks, cookie extraction) took about as much CPU as httpcore's whole exchange. ``ApiClient`` uses none
of them (no auth flow, no redirects, no hooks, no cookies), so for the clients it builds itself it sends
on httpcore's connection pool directly, with the request line and headers it already knows, and turns
the answer into the same ``httpx.Response`` (decoded by httpx, as before).

The transport is a real ``httpx.HTTPTransport``, given to the ``httpx.Client`` as its transport: the pool,
TLS context (``verify``, ``SSL_CERT_FILE``), limits and keep-alive are httpx's own, shared by both ways
in, and anything sent through ``http_client`` still goes the ordinary way. Proxies are not handled
here: ``ApiClient`` sends through ``httpx.Client`` whenever one may apply. ``AsyncDirectTransport`` is
the same for ``AsyncApiClient`` over ``httpx.AsyncHTTPTransport``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpcore
import httpx

__all__ = ["AsyncDirectTransport", "DirectTransport", "Origin"]

#: httpcore's failures, each re-raised as the httpx exception of the same name (httpx defines one for
#: every one of them) so callers see exactly what ``httpx.Client`` would have raised.
_HTTPCORE_ERRORS = (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError,
                    httpcore.ProxyError, httpcore.UnsupportedProtocol)


def _as_httpx(exc: Exception) -> httpx.TransportError:
    cls = getattr(httpx, type(exc).__name__, None)
    if not (isinstance(cls, type) and issubclass(cls, httpx.TransportError)):
        cls = httpx.TransportError
    return cls(str(exc))


class Origin:
    """Where requests for one route (``/organization/audit_logs``) under one ``Configuration.host`` go,
    worked out once and kept while the host is unchanged.

    The URL is parsed by ``httpx.URL`` so the request target, ``Host`` header and port are exactly what
    httpx would send for it.
    """

    __slots__ = ("host", "netloc", "path", "route", "url")

    def __init__(self, host: str, route: str) -> None:
        self.host = host
        self.route = route
        url = httpx.URL(host + route)
        self.url = httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path)
        self.path = url.raw_path
        self.netloc = url.netloc

    def url_for(self, query: str) -> httpcore.URL:
        # The query comes from _query.build_query, which percent-encodes every value: httpx would send
        # it unchanged (a test pins that), so it is joined, not parsed again.
        target = self.path + b"?" + query.encode("ascii") if query else self.path
        return httpcore.URL(scheme=self.url.scheme, host=self.url.host, port=self.url.port, target=target)


class _Body(httpx.SyncByteStream):
    """httpcore's body stream, failing with httpx's exceptions, as httpx's own transport does."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._stream
        except _HTTPCORE_ERRORS as exc:
            raise _as_httpx(exc) from exc

    def close(self) -> None:
        self._stream.close()


class DirectTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` unchanged for ``httpx.Client``, plus ``exchange`` for ``ApiClient``."""

    def exchange(self, method: bytes, origin: Origin, query: str, headers: list[tuple[bytes, bytes]],
                 timeout: dict[str, float | None]) -> httpx.Response:
        """One exchange with the response read (and its connection back in the pool), or an httpx error.

        ``headers`` are the complete header list, ``Host`` included. The response has no ``.request``
        (an ``httpx.Request`` costs about a tenth of a whole list call; ``ApiClient`` adds one only to a
        response it hands out); ``elapsed`` is set as httpx sets it.
        """
        url = origin.url_for(query)
        started = time.perf_counter()
        try:
            # _pool is the httpcore.ConnectionPool the base class builds from verify/trust_env/limits.
            core = self._pool.handle_request(
                httpcore.Request(method, url, headers=headers, extensions={"timeout": timeout}))
        except _HTTPCORE_ERRORS as exc:
            raise _as_httpx(exc) from exc
        response = httpx.Response(core.status, headers=core.headers, stream=_Body(core.stream),
                                  extensions=core.extensions)
        try:
            response.read()  # decodes Content-Encoding, then closes: the connection goes back to the pool
        except BaseException:
            response.close()
            raise
        response.elapsed = timedelta(seconds=time.perf_counter() - started)
        return response


class _AsyncBody(httpx.AsyncByteStream):
    """The async twin of ``_Body``."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except _HTTPCORE_ERRORS as exc:
            raise _as_httpx(exc) from exc

    async def aclose(self) -> None:
        await self._stream.aclose()


class AsyncDirectTransport(httpx.AsyncHTTPTransport):
    """The async twin of ``DirectTransport``, over httpx's ``AsyncHTTPTransport``."""

    async def exchange(self, method: bytes, origin: Origin, query: str, headers: list[tuple[bytes, bytes]],
                       timeout: dict[str, float | None]) -> httpx.Response:
        url = origin.url_for(query)
        started = time.perf_counter()
        try:
            core = await self._pool.handle_async_request(
                httpcore.Request(method, url, headers=headers, extensions={"timeout": timeout}))
        except _HTTPCORE_ERRORS as exc:
            raise _as_httpx(exc) from exc
        response = httpx.Response(core.status, headers=core.headers, stream=_AsyncBody(core.stream),
                                  extensions=core.extensions)
        try:
            await response.aread()
        except BaseException:
            await response.aclose()
            raise
        response.elapsed = timedelta(seconds=time.perf_counter() - started)
        return response
