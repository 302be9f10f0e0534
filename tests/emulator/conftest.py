"""Fixtures of the emulator's own tests: the spec, an AuditLog validator, and HTTP clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jsonschema_rs
import pytest
import yaml
from _emulator_helpers import SPEC_PATH

from openapiopenai.emulator import Emulator


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
