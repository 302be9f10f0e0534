"""Fixtures of the emulator's own tests: the spec, an AuditLog validator, and HTTP clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
import yaml

from openapiopenai.emulator import Emulator

SPEC_PATH = Path(__file__).resolve().parents[2] / "spec" / "audit-logs.openapi.yaml"
LIST = "/organization/audit_logs"


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="session")
def validate_audit_log(spec: dict[str, Any]) -> Callable[[Any], None]:
    """Raises jsonschema_rs.ValidationError unless the value is a valid `AuditLog` of the spec."""
    validator = jsonschema_rs.validator_for(
        {"$ref": "#/components/schemas/AuditLog", "components": spec["components"]}
    )
    return validator.validate


@pytest.fixture
def client(emulator: Emulator) -> Iterator[httpx.Client]:
    """An authenticated client of the shared emulator; `client.get(LIST, params=...)`."""
    headers = {"Authorization": f"Bearer {emulator.admin_key}"}
    with httpx.Client(base_url=emulator.base_url, headers=headers, timeout=10) as c:
        yield c


def control_url(emu: Emulator, name: str) -> str:
    return emu.base_url.removesuffix("/v1") + "/_emulator/" + name
