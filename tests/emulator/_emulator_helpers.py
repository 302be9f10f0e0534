"""Constants and small helpers of the emulator's tests (fixtures are in conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).resolve().parents[2] / "spec" / "audit-logs.openapi.yaml"
LIST = "/organization/audit_logs"


def control_url(emu: Any, name: str) -> str:
    """The URL of `/_emulator/<name>` of a running emulator."""
    return str(emu.base_url).removesuffix("/v1") + "/_emulator/" + name
