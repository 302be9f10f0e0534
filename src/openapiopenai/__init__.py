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

from ._httpx_cli import defer_httpx_cli
from ._version import __version__

defer_httpx_cli()

if TYPE_CHECKING:
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

# Every public name is imported on first use. ``import openapiopenai`` itself is nearly free, so the
# CLI's ``--help`` and ``openapiopenai.cli`` do not pay for httpx (which pulls in rich and pygments when
# they are installed) or for the 250 generated model classes.
_LAZY: dict[str, str] = {
    "AsyncAuditLogsApi": ".api.audit_logs_api",
    "AuditLogsApi": ".api.audit_logs_api",
    "ApiClient": ".api_client",
    "AsyncApiClient": ".api_client",
    "ApiResponse": ".api_response",
    "Configuration": ".configuration",
    **dict.fromkeys(
        [
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
        ],
        ".exceptions",
    ),
    **dict.fromkeys(
        [
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
        ],
        ".models",
    ),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'openapiopenai' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


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
