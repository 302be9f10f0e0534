"""The seed document's example, run exactly as ``shared/seed/AuditLogsApi.md`` writes it, against
the emulator over real HTTP.

The code is read from the seed document itself (beside the repository, as CI lays it out), and only
its placeholders are replaced, by real values: ``'project_ids_example'`` and the other ``*_example``
strings by ids the emulator holds, and ``openapiopenai.AuditLogEventType()`` (no value: a placeholder)
by ``openapiopenai.AuditLogEventType('login.failed')``. The seed uses ``os`` without importing it,
as a notebook cell would; it runs with ``os`` in its namespace. Its host comes from
``OPENAI_BASE_URL`` (the seed's ``Configuration`` names none), and it passes ``after`` and ``before``
together, which the client sends and the emulator reads as two bounds (spec/README.md).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

PLACEHOLDERS = {
    "'project_ids_example'": "'proj_seed'",
    "'actor_ids_example'": "'user-seed'",
    "'actor_emails_example'": "'seed@example.com'",
    "'resource_ids_example'": "'res_seed'",
    "'after_example'": "'audit_log-seed9'",
    "'before_example'": "'audit_log-seed1'",
    "openapiopenai.AuditLogEventType()": "openapiopenai.AuditLogEventType('login.failed')",
}


def seed_document() -> Path:
    """``shared/seed/AuditLogsApi.md`` beside the repository (or beside a folder holding its worktree), else the
    copy kept in ``tests/client/data`` (see its PROVENANCE.md)."""
    here = Path(__file__).resolve()
    for folder in here.parents:
        candidate = folder / "shared" / "seed" / "AuditLogsApi.md"
        if candidate.is_file():
            return candidate
    return here.parent / "data" / "AuditLogsApi.md"


def seed_code() -> str:
    text = seed_document().read_text(encoding="utf-8")
    match = re.search(r"```python\n(.*?)```", text, re.S)
    assert match, "the seed document has no python block"
    code = match.group(1)
    for placeholder, value in PLACEHOLDERS.items():
        assert placeholder in code, placeholder  # the seed changed: this test must be looked at
        code = code.replace(placeholder, value)
    assert "_example'" not in code
    return code


def seed_event(i: int, **overrides: Any) -> dict[str, Any]:
    event = {
        "id": f"audit_log-seed{i}",
        "type": "login.failed",
        "effective_at": 1_995_000_000 + i,
        "project": {"id": "proj_seed", "name": "Seed"},
        "actor": {"type": "session", "session": {"user": {"id": "user-seed", "email": "seed@example.com"},
                                                 "ip_address": "127.0.0.1"}},
        "login.failed": {"id": "res_seed", "error_code": "invalid_password"},
    }
    event.update(overrides)
    return event


@pytest.fixture
def seeded(emulator: Any) -> Any:
    emulator.insert_events([
        seed_event(1), seed_event(2),
        seed_event(3, actor={"type": "session", "session": {"user": {"id": "user-other", "email": "o@example.com"}}}),
        seed_event(4, type="login.succeeded", **{"login.succeeded": {"id": "res_seed"}}),
        seed_event(9),  # the `after` cursor: newer than everything the page should show
    ])
    return emulator


def test_seed_example_as_written(seeded: Any, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BEARER_TOKEN", seeded.admin_key)
    monkeypatch.setenv("OPENAI_BASE_URL", seeded.base_url)
    exec(compile(seed_code(), "AuditLogsApi.md", "exec"), {"__name__": "__seed__", "os": os})
    out = capsys.readouterr().out
    assert "Exception when calling" not in out, out
    assert out.startswith("The response of AuditLogsApi->list_audit_logs:\n")
    assert "ListAuditLogsResponse(" in out and "LoginFailedEvent(" in out
    # Exactly the event that matches every filter and lies between the cursors (older than
    # seed9, newer than seed1).
    assert "audit_log-seed2" in out
    for absent in ("audit_log-seed1", "audit_log-seed3", "audit_log-seed4", "audit_log-seed9"):
        assert absent not in out
    assert "has_more=False" in out
    assert os.environ["BEARER_TOKEN"] not in out


def test_the_client_sends_both_cursors(seeded: Any) -> None:
    import openapiopenai

    config = openapiopenai.Configuration(host=seeded.base_url, access_token=seeded.admin_key)
    with openapiopenai.ApiClient(config) as client:
        page = openapiopenai.AuditLogsApi(client).list_audit_logs(
            after="audit_log-seed9", before="audit_log-seed1", limit=20
        )
    # With `after` alone seed1 and every older event would follow; with `before` alone, seed9.
    assert [event.id for event in page.data] == ["audit_log-seed4", "audit_log-seed3", "audit_log-seed2"]
    assert not page.has_more
