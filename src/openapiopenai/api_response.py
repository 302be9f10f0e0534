"""``ApiResponse``: what the ``*_with_http_info`` methods return (openapi-generator's shape)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

__all__ = ["ApiResponse"]


@dataclass(frozen=True)
class ApiResponse(Generic[T]):
    status_code: int
    headers: Mapping[str, str]
    data: T
    raw_data: bytes

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-request-id")
