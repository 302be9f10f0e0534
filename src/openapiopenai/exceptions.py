"""Every error the library raises on purpose, in one tree.

    ApiException                      any failure of a call (status, reason, body, headers, message,
    │                                 type, code, param, request_id)
    ├── ApiConnectionError            no usable response: refused, reset, cut off mid-body, DNS, TLS
    │   └── ApiTimeoutError           connect or read timeout
    ├── ApiResponseValidationError    a 2xx whose body is not the page the spec describes (or is not
    │   │                             JSON at all, e.g. truncated, after the retries)
    │   └── PaginationError           the service repeated a cursor or made no progress
    ├── BadRequestException           400
    ├── UnauthorizedException         401
    ├── ForbiddenException            403
    ├── NotFoundException             404
    ├── ConflictException             409
    ├── UnprocessableEntityException  422
    ├── RateLimitException            429 (``retry_after`` in seconds when the service sent one)
    └── ServiceException              5xx

Bad arguments are caught before anything is sent and raise ``ValueError`` (not part of this tree),
as do configuration mistakes. ``api_exception_for()`` is the one place a response becomes an error.

No exception text ever contains the admin key: messages are built from the status, the service's
error object and the request id, never from request headers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "ApiConnectionError",
    "ApiException",
    "ApiResponseValidationError",
    "ApiTimeoutError",
    "BadRequestException",
    "ConflictException",
    "ForbiddenException",
    "NotFoundException",
    "PaginationError",
    "RateLimitException",
    "ServiceException",
    "UnauthorizedException",
    "UnprocessableEntityException",
    "api_exception_for",
]


class ApiException(Exception):
    """A call to the service failed. ``str()`` gives one readable line."""

    def __init__(
        self,
        status: int | None = None,
        reason: str | None = None,
        *,
        body: str | None = None,
        headers: Mapping[str, str] | None = None,
        message: str | None = None,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.status = status
        self.reason = reason
        self.body = body
        self.headers: dict[str, str] = dict(headers or {})
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.request_id = request_id or self.headers.get("x-request-id")
        super().__init__(self._line())

    # openapi-generator's ApiException exposes the body as ``data`` too.
    @property
    def data(self) -> str | None:
        return self.body

    def _line(self) -> str:
        parts: list[str] = []
        if self.status is not None:
            parts.append(f"HTTP {self.status}" + (f" {self.reason}" if self.reason else ""))
        elif self.reason:
            parts.append(self.reason)
        if self.message:
            parts.append(self.message)
        if self.code:
            parts.append(f"code={self.code}")
        if self.param:
            parts.append(f"param={self.param}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return ": ".join(parts[:2]) + ("" if len(parts) <= 2 else " (" + ", ".join(parts[2:]) + ")")

    def __str__(self) -> str:
        return self._line()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, message={self.message!r}, request_id={self.request_id!r})"


class ApiConnectionError(ApiException):
    """No usable response arrived: the connection failed, was reset, or the body was cut short."""


class ApiTimeoutError(ApiConnectionError):
    """The service did not connect or answer within the timeout."""


class ApiResponseValidationError(ApiException):
    """A successful status, but the body is not what the spec describes."""


class PaginationError(ApiResponseValidationError):
    """The service handed back a cursor it had already given, or a page that does not advance."""


class BadRequestException(ApiException):
    pass


class UnauthorizedException(ApiException):
    pass


class ForbiddenException(ApiException):
    pass


class NotFoundException(ApiException):
    pass


class ConflictException(ApiException):
    pass


class UnprocessableEntityException(ApiException):
    pass


class RateLimitException(ApiException):
    @property
    def retry_after(self) -> float | None:
        from ._retry import parse_retry_after

        return parse_retry_after(self.headers.get("retry-after"))


class ServiceException(ApiException):
    pass


_BY_STATUS: dict[int, type[ApiException]] = {
    400: BadRequestException,
    401: UnauthorizedException,
    403: ForbiddenException,
    404: NotFoundException,
    409: ConflictException,
    422: UnprocessableEntityException,
    429: RateLimitException,
}


def api_exception_for(status: int, reason: str | None, body: bytes, headers: Mapping[str, str]) -> ApiException:
    """Map an error response to its exception, with the service's error object unpacked."""
    cls = _BY_STATUS.get(status) or (ServiceException if status >= 500 else ApiException)
    text = body.decode("utf-8", "replace")
    fields: dict[str, Any] = {}
    try:
        # The stdlib parser: error bodies are small, and it keeps msgspec out of start-up.
        payload = json.loads(body)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        payload = None
    err = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(err, dict):
        for name in ("message", "type", "code", "param"):
            value = err.get(name)
            if value is not None:
                fields[name] = str(value)
    elif text.strip() and len(text) < 300:
        fields["message"] = text.strip()
    return cls(status, reason, body=text, headers={k.lower(): v for k, v in headers.items()}, **fields)
