"""Archives with chosen events, for the report tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def hostile_events(now: int) -> list[tuple[dict[str, Any], bool]]:
    """Events whose values try to break out of the report's HTML (event, tenant-scoped)."""
    agent = '<script>document.title="pwned";window.pwned=1</script>'
    email = '"><img src=x onerror="window.pwned=2">@evil.example'

    def session(country: str) -> dict[str, Any]:
        return {"type": "session", "session": {
            "user": {"id": "user-evil", "email": email}, "ip_address": "203.0.113.9", "user_agent": agent,
            "ip_address_details": {"country": country, "city": "</td>"}}}

    return [
        ({"id": "audit_log-evil01", "type": "login.failed", "effective_at": now - 100, "actor": session("<b>XX</b>"),
          "login.failed": {"error_code": "<i>bad</i>", "error_message": "| pipe | `tick`"}}, False),
        ({"id": "audit_log-evil02", "type": "login.succeeded", "effective_at": now - 90,
          "actor": session("<b>XX</b>"), "login.succeeded": {}}, False),
        ({"id": "audit_log-evil03", "type": "api_key.created", "effective_at": now - 80, "actor": session("ZZ"),
          "api_key.created": {"id": "key_evil", "name": "</table><script>window.pwned=3</script>",
                              "data": {"scopes": ["all"]}}}, False),
        ({"id": "audit_log-evil04", "type": "invite.sent", "effective_at": now - 70, "actor": session("ZZ"),
          "invite.sent": {"id": "invite-evil", "data": {"email": "x@<svg onload=alert(1)>", "role": "owner"}}}, False),
    ]


def write_archive(path: Path, events: list[tuple[dict[str, Any], bool]]) -> None:
    from openapiopenai.archive import Archive
    from openapiopenai.archive._rows import INSERT_SQL, event_row

    with Archive(path) as archive:
        for event, tenant in events:
            archive.connection.execute(INSERT_SQL, event_row(event, json.dumps(event), tenant=tenant))
        archive.connection.commit()
