"""``ApiClient`` and ``AsyncApiClient``: the one seam between this library and the network.

Each owns (or is handed) one ``httpx.Client`` / ``httpx.AsyncClient`` and does three things for every
call: builds the request (auth, User-Agent, timeouts), retries what is worth retrying, and turns an
error response into an exception from ``openapiopenai.exceptions``. Parsing happens inside the retry
loop, so a body cut short or garbled in transit is retried like a reset connection.
"""

from __future__ import annotations

import logging
import platform
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ._retry import is_retryable_status, retry_delay
from ._version import __version__
from .configuration import Configuration
from .exceptions import (
    ApiConnectionError,
    ApiException,
    ApiResponseValidationError,
    ApiTimeoutError,
    api_exception_for,
)

if TYPE_CHECKING:
    from ._transport import AsyncDirectTransport, DirectTransport, Origin

# ApiException is re-exported for openapi-generator code that imports it from here.
__all__ = ["ApiClient", "ApiException", "AsyncApiClient", "RequestTimeout"]

log = logging.getLogger("openapiopenai")
T = TypeVar("T")
RequestTimeout = float | tuple[float, float] | httpx.Timeout | None

USER_AGENT = f"openapiopenai/{__version__} (python {platform.python_version()}; httpx {httpx.__version__})"


def _sleep(seconds: float) -> None:
    # Indirection so tests can patch the wait without touching time.sleep for every thread.
    time.sleep(seconds)


async def _async_sleep(seconds: float) -> None:
    import asyncio  # here, not at the top: asyncio costs sync-only scripts ~25 ms of start-up

    await asyncio.sleep(seconds)


class BodyError(Exception):
    """Raised by a parser when a 2xx body cannot be read; retried like a transport failure."""


def _timeout(config: Configuration, override: RequestTimeout) -> httpx.Timeout:
    if override is None:
        return httpx.Timeout(config.read_timeout, connect=config.connect_timeout)
    if isinstance(override, httpx.Timeout):
        return override
    if isinstance(override, tuple):
        connect, read = override
        return httpx.Timeout(read, connect=connect)
    if isinstance(override, bool) or not isinstance(override, (int, float)) or override <= 0:
        raise ValueError(f"_request_timeout must be seconds, a (connect, read) tuple or httpx.Timeout, got {override!r}")
    return httpx.Timeout(float(override))


#: Failures with no usable response. ``DecodingError`` (a body that fails to decompress) is not a
#: ``TransportError`` in httpx, but it is a garbled body like a truncated one: retried, then
#: ``ApiConnectionError`` rather than a bare httpx exception outside our tree.
_TRANSIENT = (httpx.TransportError, httpx.DecodingError)


def _trust_env(url: str) -> bool:
    """Whether httpx may take proxies from HTTP_PROXY and friends for a request to ``url``.

    Not for plain ``http://``: the key would travel in clear text to whatever proxy the environment
    names, which is exactly what the loopback-only rule for plain http is there to prevent. Decided
    per request from the URL actually sent, because ``Configuration.host`` may change after the
    client is built.
    """
    return not url.startswith("http://")


def _environment_proxies() -> bool:
    """Whether the environment names a proxy that ``httpx.Client(trust_env=True)`` would mount (it reads the
    same ``urllib.request.getproxies()``: HTTP(S)_PROXY, ALL_PROXY)."""
    from urllib.request import getproxies  # httpx has imported it already

    proxies = getproxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


def _verify(config: Configuration) -> Any:
    return config.ssl_ca_cert if (config.verify_ssl and config.ssl_ca_cert) else config.verify_ssl


def _client_options(config: Configuration, transport: Any, trust_env: bool) -> dict[str, Any]:
    return {"transport": transport, "verify": _verify(config), "proxy": config.proxy,
            "timeout": _timeout(config, None), "follow_redirects": False, "trust_env": trust_env}


def _built_client(config: Configuration, transport: Any, *, asynchronous: bool) -> tuple[dict[str, Any], Any, bool]:
    """For the httpx client a client class builds itself: its options, the direct transport to send on
    (None: every request goes through the httpx client; see `_transport`) and whether the environment
    names a proxy (then plain-http requests alone go direct, on a transport of their own: `_direct_for`)."""
    trust_env = _trust_env(config.host)
    options = _client_options(config, transport, trust_env)
    if transport is not None or config.proxy is not None:
        return options, None, False
    if trust_env and _environment_proxies():
        return options, None, True
    # Imported here: it loads httpcore, which httpx itself loads only when a transport is built.
    from ._transport import AsyncDirectTransport, DirectTransport

    direct_type = AsyncDirectTransport if asynchronous else DirectTransport
    # The client's own transport, so both ways in share one pool and one TLS context.
    direct = options["transport"] = direct_type(verify=options["verify"], trust_env=trust_env)
    return options, direct, False


def _connection_error(exc: httpx.TransportError | httpx.DecodingError) -> ApiConnectionError:
    cls = ApiTimeoutError if isinstance(exc, httpx.TimeoutException) else ApiConnectionError
    # The message names the failure class and the URL path only: httpx's text can include the URL,
    # which never carries the key, but we keep it short and predictable.
    return cls(None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


class _BaseClient:
    def __init__(self, configuration: Configuration | None) -> None:
        self.configuration = configuration or Configuration()
        self.configuration.check_key_transport()
        self.user_agent = self.configuration.user_agent or USER_AGENT
        self.default_headers: dict[str, str] = dict(self.configuration.default_headers)
        # What the direct path (see _transport) works out once and keeps while it still holds.
        self._origin: Origin | None = None
        self._wire: tuple[tuple[Any, ...], list[tuple[bytes, bytes]]] | None = None
        self._timeouts: tuple[tuple[float, float], dict[str, float | None]] | None = None

    def set_default_header(self, name: str, value: str) -> None:
        self.default_headers[name] = value

    def _headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": self.user_agent, **self.default_headers}
        token = self.configuration.access_token
        if token:
            headers["Authorization"] = "Bearer " + token
        if extra:
            headers.update(extra)
        return headers

    def _url(self, path: str, query: str) -> str:
        return self.configuration.host + path + ("?" + query if query else "")

    def _route(self, path: str) -> Origin:
        origin, host = self._origin, self.configuration.host
        if origin is None or origin.host != host or origin.route != path:
            from ._transport import Origin

            origin = self._origin = Origin(host, path)
        return origin

    def _wire_headers(self, defaults: httpx.Headers, origin: Origin,
                      extra: Mapping[str, str] | None) -> list[tuple[bytes, bytes]]:
        """The header list the httpx client would send (its ``defaults``, ours over them, ``Host`` first),
        kept until anything it is made from changes."""
        key = (origin.netloc, self.user_agent, self.configuration.access_token, tuple(self.default_headers.items()),
               tuple(extra.items()) if extra else (), tuple(defaults.raw))
        if self._wire is not None and self._wire[0] == key:
            return self._wire[1]
        merged = httpx.Headers(defaults)
        merged.update(self._headers(extra))
        wire = merged.raw if "host" in merged else [(b"Host", origin.netloc), *merged.raw]
        self._wire = (key, wire)
        return wire

    def _timeout_extension(self, override: RequestTimeout) -> dict[str, float | None]:
        if override is not None:
            return _timeout(self.configuration, override).as_dict()
        key = (self.configuration.connect_timeout, self.configuration.read_timeout)
        if self._timeouts is None or self._timeouts[0] != key:
            self._timeouts = (key, _timeout(self.configuration, None).as_dict())
        return self._timeouts[1]

    def _retries(self, override: int | None) -> int:
        if override is None:
            return self.configuration.max_retries
        if isinstance(override, bool) or not isinstance(override, int) or override < 0:
            raise ValueError(f"max_retries must be an integer >= 0, got {override!r}")
        return override

    @staticmethod
    def _outcome(response: httpx.Response, parse: Callable[[httpx.Response], T], check_status: bool) -> T:
        """Parse a response or raise the exception it stands for (``BodyError`` for a garbled body)."""
        if check_status and response.status_code >= 400:
            raise api_exception_for(response.status_code, response.reason_phrase, response.content, response.headers)
        return parse(response)

    @staticmethod
    def _unreadable(response: httpx.Response, exc: BodyError) -> ApiResponseValidationError:
        return ApiResponseValidationError(
            response.status_code, response.reason_phrase, message=f"unreadable response body: {exc}",
            headers={k.lower(): v for k, v in response.headers.items()},
        )

    @staticmethod
    def _log_retry(method: str, url: str, attempt: int, retries: int, why: str, delay: float) -> None:
        log.info("retrying %s %s in %.2fs (%s; retry %d of %d)", method, url.split("?", 1)[0], delay, why,
                 attempt, retries)


class ApiClient(_BaseClient):
    """Synchronous client. Use as a context manager, or call ``close()``.

    Pass ``http_client`` to supply your own ``httpx.Client`` (proxies, mounts, a ``MockTransport`` in
    tests); it is then yours to close, and every request goes through it. ``transport`` is a shortcut for
    a client built on it. A client this class builds itself sends on its ``DirectTransport`` directly,
    past ``httpx.Client``'s layers (see ``_transport``), whenever no proxy applies.
    """

    def __init__(
        self,
        configuration: Configuration | None = None,
        *,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(configuration)
        self._owns_client = http_client is None
        #: The pool requests go to directly when no proxy applies; None: always through ``http_client``.
        self._direct: DirectTransport | None = None
        #: Set when the environment names a proxy: then only plain-http requests (which must never go to
        #: an environment proxy) go direct, on a transport of their own made when first needed.
        self._env_proxied = False
        self._plain: DirectTransport | None = None
        self._plain_lock = threading.Lock()
        if http_client is None:
            options, self._direct, self._env_proxied = _built_client(self.configuration, transport, asynchronous=False)
            http_client = httpx.Client(**options)
        self.http_client = http_client
        #: openapi-generator's name for the pool; kept for code that reaches for it.
        self.rest_client = http_client

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_client:
            self.http_client.close()  # closes self._direct too: it is the client's transport
        if self._plain is not None:
            self._plain.close()

    def _direct_for(self, url: str) -> DirectTransport | None:
        """The transport to send ``url`` on directly, or None to go through ``http_client``."""
        if self.http_client.is_closed:  # let httpx.Client raise its own "client has been closed"
            return None
        if self._direct is not None:
            return self._direct
        if self._env_proxied and not _trust_env(url):
            with self._plain_lock:  # threads share one client: make one transport, not one each
                if self._plain is None:
                    from ._transport import DirectTransport

                    self._plain = DirectTransport(verify=_verify(self.configuration), trust_env=False)
            return self._plain
        return None

    def call(
        self,
        method: str,
        path: str,
        query: str,
        parse: Callable[[httpx.Response], T],
        *,
        headers: Mapping[str, str] | None = None,
        timeout: RequestTimeout = None,
        max_retries: int | None = None,
        check_status: bool = True,
        with_request: bool = False,
    ) -> tuple[T, httpx.Response]:
        """Send one request with retries; return ``(parse(response), response)``.

        ``with_request``: the response leaves the library, so it gets its ``httpx.Request`` (``.request``,
        ``raise_for_status()``) as a response from ``httpx.Client`` has; otherwise it is not built.
        """
        retries = self._retries(max_retries)
        self.configuration.check_key_transport()
        url = self._url(path, query)
        direct = self._direct_for(url)
        send: Callable[[], httpx.Response]
        if direct is not None:
            origin = self._route(path)
            wire = self._wire_headers(self.http_client.headers, origin, headers)
            extension = self._timeout_extension(timeout)
            wire_method = method.encode("ascii")

            def send() -> httpx.Response:
                response = direct.exchange(wire_method, origin, query, wire, extension)
                if with_request:
                    response.request = httpx.Request(method, url, headers=wire, extensions={"timeout": extension})
                return response
        else:
            http_client = self.http_client
            request = http_client.build_request(method, url, headers=self._headers(headers),
                                                timeout=_timeout(self.configuration, timeout))

            def send() -> httpx.Response:
                return http_client.send(request)
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = send()
                if not is_retryable_status(response.status_code) or attempt >= retries:
                    return self._outcome(response, parse, check_status), response
                why = f"HTTP {response.status_code}"
            except _TRANSIENT as exc:
                if attempt >= retries:
                    raise _connection_error(exc) from None
                why = type(exc).__name__
            except BodyError as exc:
                assert response is not None
                if attempt >= retries:
                    raise self._unreadable(response, exc) from None
                why = f"unreadable body: {exc}"
            attempt += 1
            delay = retry_delay(attempt, response)
            self._log_retry(method, httpx.URL(url).path, attempt, retries, why, delay)
            _sleep(delay)

    def __repr__(self) -> str:
        return f"ApiClient({self.configuration!r})"


class AsyncApiClient(_BaseClient):
    """Asynchronous twin of ``ApiClient`` over ``httpx.AsyncClient``; use ``async with``."""

    def __init__(
        self,
        configuration: Configuration | None = None,
        *,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(configuration)
        self._owns_client = http_client is None
        self._direct: AsyncDirectTransport | None = None
        self._env_proxied = False
        self._plain: AsyncDirectTransport | None = None
        if http_client is None:
            options, self._direct, self._env_proxied = _built_client(self.configuration, transport, asynchronous=True)
            http_client = httpx.AsyncClient(**options)
        self.http_client = http_client

    async def __aenter__(self) -> AsyncApiClient:
        return self

    async def __aexit__(self, et: type[BaseException] | None, ev: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_client:
            await self.http_client.aclose()
        if self._plain is not None:
            await self._plain.aclose()

    def _direct_for(self, url: str) -> AsyncDirectTransport | None:
        """As ``ApiClient._direct_for`` (one event loop: no lock needed to make the plain-http one)."""
        if self.http_client.is_closed:
            return None
        if self._direct is not None:
            return self._direct
        if self._env_proxied and not _trust_env(url):
            if self._plain is None:
                from ._transport import AsyncDirectTransport

                self._plain = AsyncDirectTransport(verify=_verify(self.configuration), trust_env=False)
            return self._plain
        return None

    async def call(
        self,
        method: str,
        path: str,
        query: str,
        parse: Callable[[httpx.Response], T],
        *,
        headers: Mapping[str, str] | None = None,
        timeout: RequestTimeout = None,
        max_retries: int | None = None,
        check_status: bool = True,
        with_request: bool = False,
    ) -> tuple[T, httpx.Response]:
        retries = self._retries(max_retries)
        self.configuration.check_key_transport()
        url = self._url(path, query)
        direct = self._direct_for(url)
        send: Callable[[], Awaitable[httpx.Response]]
        if direct is not None:
            origin = self._route(path)
            wire = self._wire_headers(self.http_client.headers, origin, headers)
            extension = self._timeout_extension(timeout)
            wire_method = method.encode("ascii")

            async def send() -> httpx.Response:
                response = await direct.exchange(wire_method, origin, query, wire, extension)
                if with_request:
                    response.request = httpx.Request(method, url, headers=wire, extensions={"timeout": extension})
                return response
        else:
            http_client = self.http_client
            request = http_client.build_request(method, url, headers=self._headers(headers),
                                                timeout=_timeout(self.configuration, timeout))

            async def send() -> httpx.Response:
                return await http_client.send(request)
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = await send()
                if not is_retryable_status(response.status_code) or attempt >= retries:
                    return self._outcome(response, parse, check_status), response
                why = f"HTTP {response.status_code}"
            except _TRANSIENT as exc:
                if attempt >= retries:
                    raise _connection_error(exc) from None
                why = type(exc).__name__
            except BodyError as exc:
                assert response is not None
                if attempt >= retries:
                    raise self._unreadable(response, exc) from None
                why = f"unreadable body: {exc}"
            attempt += 1
            delay = retry_delay(attempt, response)
            self._log_retry(method, httpx.URL(url).path, attempt, retries, why, delay)
            await _async_sleep(delay)

    def __repr__(self) -> str:
        return f"AsyncApiClient({self.configuration!r})"
