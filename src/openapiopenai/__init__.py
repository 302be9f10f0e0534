"""openapiopenai: a client for OpenAI's organization Audit Logs API that keeps everything it is sent.

    import openapiopenai

    configuration = openapiopenai.Configuration(access_token=os.environ["OPENAI_ADMIN_KEY"])
    with openapiopenai.ApiClient(configuration) as api_client:
        api = openapiopenai.AuditLogsApi(api_client)
        for event in api.iter_audit_logs(event_types=["login.failed"]):
            print(event.effective_at, event.actor)

The models (``AuditLog``, ``AuditLogEventType``, ...) are imported on first use: a script that only
builds a client does not pay for the 250 generated classes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .api.audit_logs_api import AsyncAuditLogsApi, AuditLogsApi
from .api_client import ApiClient, AsyncApiClient
from .api_response import ApiResponse
from .configuration import Configuration
from .exceptions import (
    ApiConnectionError,
    ApiException,
    ApiResponseValidationError,
    ApiTimeoutError,
    BadRequestException,
    ConflictException,
    ForbiddenException,
    NotFoundException,
    PaginationError,
    RateLimitException,
    ServiceException,
    UnauthorizedException,
    UnprocessableEntityException,
)

if TYPE_CHECKING:
    from .models import (
        EVENT_CLASSES,
        AuditLog,
        AuditLogActor,
        AuditLogActorApiKey,
        AuditLogActorServiceAccount,
        AuditLogActorSession,
        AuditLogActorUser,
        AuditLogEventType,
        AuditLogPayload,
        AuditLogProject,
        Error,
        ErrorResponse,
        ListAuditLogsEffectiveAtParameter,
        ListAuditLogsResponse,
    )

_LAZY_MODELS = frozenset({
    "EVENT_CLASSES",
    "AuditLog",
    "AuditLogActor",
    "AuditLogActorApiKey",
    "AuditLogActorServiceAccount",
    "AuditLogActorSession",
    "AuditLogActorUser",
    "AuditLogEventType",
    "AuditLogPayload",
    "AuditLogProject",
    "Error",
    "ErrorResponse",
    "ListAuditLogsEffectiveAtParameter",
    "ListAuditLogsResponse",
})


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODELS:
        value = getattr(importlib.import_module(".models", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'openapiopenai' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "EVENT_CLASSES",
    "ApiClient",
    "ApiConnectionError",
    "ApiException",
    "ApiResponse",
    "ApiResponseValidationError",
    "ApiTimeoutError",
    "AsyncApiClient",
    "AsyncAuditLogsApi",
    "AuditLog",
    "AuditLogActor",
    "AuditLogActorApiKey",
    "AuditLogActorServiceAccount",
    "AuditLogActorSession",
    "AuditLogActorUser",
    "AuditLogEventType",
    "AuditLogPayload",
    "AuditLogProject",
    "AuditLogsApi",
    "BadRequestException",
    "Configuration",
    "ConflictException",
    "Error",
    "ErrorResponse",
    "ForbiddenException",
    "ListAuditLogsEffectiveAtParameter",
    "ListAuditLogsResponse",
    "NotFoundException",
    "PaginationError",
    "RateLimitException",
    "ServiceException",
    "UnauthorizedException",
    "UnprocessableEntityException",
    "__version__",
]
