"""Payload realism over real HTTP: distinct ids in list payloads, and `external_storage.registered`
shaped as the official `openai` SDK (3.57) models it, validated by that SDK's own pydantic models."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from openapiopenai.emulator import Emulator

KEY = "sk-admin-REALISM-0123456789"


@pytest.fixture(scope="module")
def newer_org() -> Iterator[Emulator]:
    with Emulator(events=20000, seed=3, admin_key=KEY, newer_types=True) as emu:
        yield emu


def _events(emu: Emulator, event_type: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    params: dict[str, Any] = {"event_types[]": event_type, "limit": 100}
    with httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {KEY}"}) as client:
        for _ in range(100):
            page = client.get("/organization/audit_logs", params=params).json()
            out.extend(page["data"])
            if not page["has_more"]:
                return out
            params["after"] = page["last_id"]
    raise AssertionError("too many pages")


@pytest.mark.parametrize(
    ("event_type", "key"),
    [("certificates.activated", "certificates"), ("certificates.deactivated", "certificates"),
     ("ip_allowlist.config.activated", "configs"), ("ip_allowlist.config.deactivated", "configs")],
)
def test_listed_objects_have_distinct_ids(newer_org: Emulator, event_type: str, key: str) -> None:
    events = _events(newer_org, event_type)
    listed = [e[event_type][key] for e in events if len(e[event_type].get(key, [])) > 1]
    assert listed, "no event lists more than one object: the check below would test nothing"
    for entries in listed:
        ids = [entry["id"] for entry in entries]
        assert len(set(ids)) == len(ids), ids
        prefixes = {i.split("_")[0] for i in ids}
        assert len(prefixes) == 1, ids  # the same kind of object, each its own


def test_external_storage_registered_parses_as_the_sdk_models_it(newer_org: Emulator) -> None:
    from openai.types.admin.organization.audit_log_list_response import AuditLogListResponse

    events = _events(newer_org, "external_storage.registered")
    assert len(events) >= 5
    kinds = set()
    for event in events:
        parsed = AuditLogListResponse.model_validate(event)  # the SDK's required fields must be there
        details = parsed.external_storage_registered
        assert details is not None and details.id and details.data is not None
        assert details.data.geography in ("US", "EU")
        provider = details.data.provider
        assert provider is not None and provider.region and provider.type
        # Every field the SDK declares for that provider, no more.
        declared = set(type(provider).model_fields)
        assert set(event["external_storage.registered"]["data"]["provider"]) == declared
        kinds.add(provider.type)
    assert "aws" in kinds and len(kinds) >= 2
