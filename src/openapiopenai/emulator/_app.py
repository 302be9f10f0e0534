"""The ASGI application: `GET /v1/organization/audit_logs` as the live service answers it, plus `/_emulator/`.

Request flow: `EmulatorApp.__call__` stamps an `x-request-id`, then, for API paths, adds latency,
applies the rate limit and maybe injects a fault; what is left goes to starlette's router.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import secrets
import socket
import struct
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from openapiopenai.emulator._faults import FaultInjector, Faults
from openapiopenai.emulator._generator import is_tenant_scoped
from openapiopenai.emulator._live import LiveFeed
from openapiopenai.emulator._store import MAX_LIMIT, CursorNotFound, EventStore

API_PATH = "/v1/organization/audit_logs"
CONTROL_PREFIX = "/_emulator/"
LIST_PARAMS = {
    "project_ids[]": "project_ids", "event_types[]": "event_types", "actor_ids[]": "actor_ids",
    "actor_emails[]": "actor_emails", "resource_ids[]": "resource_ids",
}
TIME_PARAMS = {"effective_at[gt]": "gt", "effective_at[gte]": "gte", "effective_at[lt]": "lt",
               "effective_at[lte]": "lte"}
_INTEGER = re.compile(r"-?[0-9]+\Z")
_SERVER_ERRORS = {
    500: "The server had an error while processing your request. Sorry about that!",
    502: "Bad gateway.",
    503: "The server is overloaded or not ready yet.",
}
_encode = msgspec.json.Encoder().encode


class EmulatedDisconnect(ConnectionError):
    """Raised to an in-process (ASGI transport) client where a socket server would reset or cut the connection."""


class BadParameter(Exception):
    def __init__(self, param: str, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.param = param
        self.message = message
        self.code = code


def error_response(status: int, message: str, *, param: str | None = None, code: str | None = None,
                   kind: str = "invalid_request_error", headers: Mapping[str, str] | None = None) -> Response:
    """The live service's error shape: `{"error": {"message", "type", "param", "code"}}`."""
    body = _encode({"error": {"message": message, "type": kind, "param": param, "code": code}})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


class EmulatorApp(Starlette):
    """A starlette app with the emulator's state attached: `store`, `injector`, `live`, `counters`."""

    def __init__(self, store: EventStore, *, admin_key: str, faults: Faults | None = None,
                 live_rate: float = 0.0) -> None:
        routes = [
            Route(API_PATH, self.list_audit_logs, methods=["GET"]),
            Route(CONTROL_PREFIX + "events", self.control_insert, methods=["POST"]),
            Route(CONTROL_PREFIX + "faults", self.control_faults, methods=["GET", "POST"]),
            Route(CONTROL_PREFIX + "counters", self.control_counters, methods=["GET"]),
            Route(CONTROL_PREFIX + "reset-counters", self.control_reset_counters, methods=["POST"]),
            Route(CONTROL_PREFIX + "scenarios", self.control_scenarios, methods=["GET", "POST"]),
        ]
        handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
            404: self._not_found, 405: self._not_found,
        }
        super().__init__(routes=routes, exception_handlers=handlers)
        self.store = store
        self._admin_key = admin_key.encode()
        self.injector = FaultInjector(faults)
        self.live = LiveFeed(store, live_rate)
        self.counters: Counter[str] = Counter()

    # -- the outer layer: request id, latency, rate limit, faults ---------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request_id = "req_" + secrets.token_hex(16)
        header = (b"x-request-id", request_id.encode())
        api = not scope["path"].startswith(CONTROL_PREFIX)
        status = 0

        async def send_stamped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        if not api:
            await super().__call__(scope, receive, send_stamped)
            return
        self.counters["requests"] += 1
        if not await self._intercept(scope, receive, send_stamped, send):
            await super().__call__(scope, receive, send_stamped)
        if status:  # a reset connection has no status
            self.counters[f"status_{status}"] += 1

    async def _intercept(self, scope: Scope, receive: Receive, send: Send, raw_send: Send) -> bool:
        """Apply latency, the rate limit and fault injection; True when the request was answered here."""
        faults = self.injector.faults
        if faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)
        retry_after = self.injector.retry_after()
        if retry_after is not None:
            self.counters["rate_limited"] += 1
            response = error_response(
                429, f"Rate limit reached for requests. Please try again in {retry_after}s.",
                code="rate_limit_exceeded", kind="requests", headers={"Retry-After": str(retry_after)})
            await response(scope, receive, send)
            return True
        kind = self.injector.draw()
        if kind is None:
            return False
        self.counters[f"fault_{kind}"] += 1
        if kind == "reset":
            await _reset(raw_send)
        elif kind == "truncate":
            await self._truncated(scope, receive, send, raw_send)
        else:
            code = int(kind)
            await error_response(code, _SERVER_ERRORS[code], kind="server_error")(scope, receive, send)
        return True

    async def _truncated(self, scope: Scope, receive: Receive, send: Send, raw_send: Send) -> None:
        """Answer for real, but send only half the body under the full Content-Length, then close."""
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        await super().__call__(scope, receive, capture)
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        transport = _transport(raw_send)
        if transport is None:
            raise EmulatedDisconnect("emulated truncated body")
        await send(messages[0])
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        transport.close()
        await _until_disconnected(raw_send)

    # -- the endpoint ------------------------------------------------------------------------------

    async def list_audit_logs(self, request: Request) -> Response:
        denied = self._authenticate(request)
        if denied is not None:
            return denied
        try:
            query = _parse_query(request.query_params.multi_items())
        except BadParameter as exc:
            return error_response(400, exc.message, param=exc.param, code=exc.code)
        self.live.catch_up()
        try:
            page = self.store.list_page(**query)
        except CursorNotFound as exc:
            return error_response(400, f"No audit log found with id '{exc.value}'.", param=exc.param,
                                  code="invalid_cursor")
        first = _encode(page.ids[0]) if page.ids else b"null"
        last = _encode(page.ids[-1]) if page.ids else b"null"
        # The stored compact texts, joined: no event is decoded or re-encoded to answer a page.
        body = b"".join((b'{"object":"list","data":[', b",".join(page.raws), b'],"first_id":', first,
                         b',"last_id":', last, b',"has_more":', b"true" if page.has_more else b"false", b"}"))
        return Response(body, media_type="application/json")

    def _authenticate(self, request: Request) -> Response | None:
        header = request.headers.get("authorization")
        scheme, _, key = (header or "").partition(" ")
        if not header or scheme.lower() != "bearer" or not key.strip():
            return error_response(
                401, "You didn't provide an API key. You need to provide your API key in an Authorization "
                     "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
        # Constant-time comparison, and the key is never echoed back.
        if not hmac.compare_digest(key.strip().encode("utf-8", "surrogateescape"), self._admin_key):
            return error_response(401, "Incorrect API key provided.", code="invalid_api_key")
        return None

    async def _not_found(self, request: Request, exc: Exception) -> Response:
        return error_response(404, f"Invalid URL ({request.method} {request.url.path})")

    # -- the control API ---------------------------------------------------------------------------

    async def control_insert(self, request: Request) -> Response:
        refused = _loopback_only(request)
        if refused is not None:
            return refused
        try:
            events = msgspec.json.decode(await request.body())
        except msgspec.DecodeError:
            return error_response(400, "Body must be a JSON list of event objects.")
        if isinstance(events, dict):
            events = [events]
        if not isinstance(events, list):
            return error_response(400, "Body must be a JSON list of event objects.")
        try:
            completed = self.store.insert(events)
        except ValueError as exc:
            return error_response(400, str(exc))
        return Response(_encode(completed), media_type="application/json")

    async def control_scenarios(self, request: Request) -> Response:
        """GET: the scenario names; POST ``{"name": ..., "at": unix}`` (or a list): plant, report the ids."""
        from openapiopenai.emulator._scenarios import SCENARIOS, plant_request

        refused = _loopback_only(request)
        if refused is not None:
            return refused
        if request.method == "GET":
            return Response(_encode({n: s.description for n, s in SCENARIOS.items()}), media_type="application/json")
        try:
            planted = plant_request(self.store, msgspec.json.decode(await request.body()))
        except (msgspec.DecodeError, ValueError) as exc:
            return error_response(400, str(exc))
        return Response(_encode(planted), media_type="application/json")

    async def control_faults(self, request: Request) -> Response:
        refused = _loopback_only(request)
        if refused is not None:
            return refused
        if request.method == "POST":
            try:
                changes = msgspec.json.decode(await request.body())
                if not isinstance(changes, dict):
                    raise ValueError("body must be a JSON object of fault settings")
                self.injector.configure(self.injector.faults.updated(changes), reseed="seed" in changes)
            except (msgspec.DecodeError, ValueError) as exc:
                return error_response(400, str(exc))
        return Response(_encode(self.injector.faults.to_json()), media_type="application/json")

    async def control_counters(self, request: Request) -> Response:
        refused = _loopback_only(request)
        if refused is not None:
            return refused
        return Response(_encode(self.counter_snapshot()), media_type="application/json")

    async def control_reset_counters(self, request: Request) -> Response:
        refused = _loopback_only(request)
        if refused is not None:
            return refused
        self.counters.clear()
        return Response(_encode(self.counter_snapshot()), media_type="application/json")

    def counter_snapshot(self) -> dict[str, Any]:
        """API requests served (control calls are not counted), by status, faults injected, events stored."""
        # dict() copies in one step under the GIL: the server thread may be counting meanwhile.
        counts = dict(self.counters)
        return {
            "requests": counts.get("requests", 0),
            "by_status": {k[7:]: v for k, v in sorted(counts.items()) if k.startswith("status_")},
            "faults": {k[6:]: v for k, v in sorted(counts.items()) if k.startswith("fault_")},
            "rate_limited": counts.get("rate_limited", 0),
            "events": self.store.count(),
        }


def create_app(store: EventStore, *, admin_key: str, faults: Faults | None = None,
               live_rate: float = 0.0) -> EmulatorApp:
    """The emulator's ASGI app over `store`, accepting `Authorization: Bearer <admin_key>`."""
    return EmulatorApp(store, admin_key=admin_key, faults=faults, live_rate=live_rate)


def _parse_query(items: list[tuple[str, str]]) -> dict[str, Any]:
    """The query as the live service reads it; params it does not know (`gte=`, ...) are ignored."""
    query: dict[str, Any] = {}
    bounds: dict[str, int] = {}
    lists: dict[str, list[str]] = {}
    for name, value in items:
        if name in LIST_PARAMS:
            lists.setdefault(LIST_PARAMS[name], []).append(value)
        elif name in TIME_PARAMS:
            bounds[TIME_PARAMS[name]] = _integer(name, value)
        elif name == "limit":
            limit = _integer(name, value)
            if not 1 <= limit <= MAX_LIMIT:
                code = "integer_below_min_value" if limit < 1 else "integer_above_max_value"
                raise BadParameter("limit", f"Invalid 'limit': expected a value within 1..{MAX_LIMIT}, got {limit}.", code)
            query["limit"] = limit
        elif name in ("after", "before"):
            query[name] = value
        elif name == "tenant_only":
            if value.lower() not in ("true", "false"):
                raise BadParameter(name, f"Invalid 'tenant_only': expected a boolean, got '{value}'.", "invalid_type")
            query["tenant_only"] = value.lower() == "true"
    # Types are not checked against a list: the list grows monthly, and a type newer than this emulator
    # (or a test's made-up one, inserted through the control API) simply matches what it matches.
    for event_type in lists.get("event_types", ()):
        if query.get("tenant_only") and not is_tenant_scoped(event_type):
            raise BadParameter("event_types[]", f"With 'tenant_only' true, every event type must be tenant-scoped; "
                                                f"'{event_type}' is not.", "invalid_value")
    if bounds:
        query["effective_at"] = bounds
    query.update(lists)
    return query


def _integer(name: str, value: str) -> int:
    if not _INTEGER.match(value):
        raise BadParameter(name, f"Invalid '{name}': expected an integer, got '{value}'.", "invalid_type")
    return int(value)


def _loopback_only(request: Request) -> Response | None:
    host = request.client.host if request.client else ""
    if host == "::1" or host.startswith("127.") or host == "localhost":
        return None
    return error_response(403, "The emulator's control API answers loopback clients only.")


def _transport(send: Send) -> Any:
    """The asyncio transport behind uvicorn's `send` (a bound method of its request cycle), if any."""
    return getattr(getattr(send, "__self__", None), "transport", None)


async def _reset(send: Send) -> None:
    """Abort the connection with a TCP RST (SO_LINGER 0), as a crashing proxy would."""
    transport = _transport(send)
    if transport is None:
        raise EmulatedDisconnect("emulated connection reset")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    await _until_disconnected(send)


async def _until_disconnected(send: Send) -> None:
    """Wait (briefly) until the server has noticed the closed connection, so it does not log an incomplete
    response as an application error."""
    cycle = getattr(send, "__self__", None)
    deadline = time.monotonic() + 0.5
    while not getattr(cycle, "disconnected", True) and time.monotonic() < deadline:
        await asyncio.sleep(0.001)

