"""The public surface: exported names, the seed's import paths, py.typed, and a light import."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import openapiopenai

EXPORTED = [
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


def test_exported_names_are_pinned_and_importable() -> None:
    assert sorted(openapiopenai.__all__) == sorted(EXPORTED)
    assert len(set(openapiopenai.__all__)) == len(openapiopenai.__all__)
    for name in openapiopenai.__all__:
        assert getattr(openapiopenai, name) is not None, name
    namespace: dict[str, object] = {}
    exec("from openapiopenai import *", namespace)
    assert set(EXPORTED) - {"__version__"} <= set(namespace)
    assert sorted(dir(openapiopenai)) == sorted(EXPORTED)


def test_unknown_attribute_raises_attribute_error() -> None:
    try:
        openapiopenai.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_lazy_model_names_are_the_model_classes() -> None:
    from openapiopenai import models

    for name in ("AuditLog", "AuditLogEventType", "ListAuditLogsResponse", "ListAuditLogsEffectiveAtParameter",
                 "EVENT_CLASSES", "ErrorResponse"):
        assert getattr(openapiopenai, name) is getattr(models, name)


def test_seed_import_paths() -> None:
    from openapiopenai.models.audit_log_event_type import AuditLogEventType
    from openapiopenai.models.list_audit_logs_effective_at_parameter import ListAuditLogsEffectiveAtParameter
    from openapiopenai.models.list_audit_logs_response import ListAuditLogsResponse
    from openapiopenai.rest import ApiException

    assert AuditLogEventType is openapiopenai.AuditLogEventType
    assert ListAuditLogsEffectiveAtParameter is openapiopenai.ListAuditLogsEffectiveAtParameter
    assert ListAuditLogsResponse is openapiopenai.ListAuditLogsResponse
    assert ApiException is openapiopenai.ApiException
    # openapi-generator's other module names people import from.
    assert importlib.import_module("openapiopenai.api_client").ApiClient is openapiopenai.ApiClient
    assert importlib.import_module("openapiopenai.configuration").Configuration is openapiopenai.Configuration
    assert importlib.import_module("openapiopenai.api").AuditLogsApi is openapiopenai.AuditLogsApi
    assert importlib.import_module("openapiopenai.api_response").ApiResponse is openapiopenai.ApiResponse
    assert importlib.import_module("openapiopenai.exceptions").ApiException is openapiopenai.ApiException


def test_version() -> None:
    from importlib.metadata import version

    assert openapiopenai.__version__ == version("openapiopenai")


def test_py_typed_is_shipped() -> None:
    package = Path(openapiopenai.__file__).parent
    assert (package / "py.typed").is_file()
    # And the wheel includes it: hatch packages the whole src/openapiopenai folder.
    pyproject = (Path(__file__).parent.parent / "pyproject.toml").read_text()
    assert 'packages = ["src/openapiopenai"]' in pyproject


def test_import_stays_light() -> None:
    # No models, no parser (msgspec pulls in typing_extensions), no server stack, no asyncio, and not
    # httpx's own command line (rich, pygments), which openapiopenai._httpx_cli defers.
    code = (
        "import json, sys, openapiopenai\n"
        "openapiopenai.AuditLogsApi(openapiopenai.ApiClient(openapiopenai.Configuration(access_token='k')))\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(json.loads(out))
    assert "openapiopenai" in loaded
    for heavy in ("openapiopenai.models", "openapiopenai.models.audit_log", "openapiopenai.emulator",
                  "openapiopenai.archive", "openapiopenai.cli", "openapiopenai._parse", "msgspec", "asyncio",
                  "starlette", "uvicorn", "sqlite3", "rich", "pygments"):
        assert heavy not in loaded, heavy


def test_httpx_command_line_still_works_after_the_deferral() -> None:
    code = (
        "import sys, openapiopenai, httpx\n"
        "openapiopenai.ApiClient(openapiopenai.Configuration(access_token='k'))\n"
        "assert 'rich' not in sys.modules\n"
        "sys.argv = ['httpx', '--help']\n"
        "httpx.main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Usage" in proc.stdout and "--help" in proc.stdout
