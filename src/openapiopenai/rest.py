"""Where openapi-generator users import ``ApiException`` from (``openapiopenai.rest.ApiException``)."""

from __future__ import annotations

from .exceptions import ApiException

__all__ = ["ApiException"]
