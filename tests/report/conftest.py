"""Fixtures for the report tests: the demo organisation's report, a real Chromium, hostile events."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))

from _cdp import Browser, chromium_path  # noqa: E402
from _cli_helpers import run_script  # noqa: E402


@pytest.fixture(scope="session")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(archive, report) as `openapiopenai demo` leaves them, found by the path it prints."""
    folder = tmp_path_factory.mktemp("demo")
    db = folder / "demo-audit.sqlite"
    proc = run_script("demo", "--events", "6000", "--db", str(db), timeout=240)
    assert proc.returncode == 0, proc.stderr
    found = re.search(r"Access-review report of the last 30 days: (\S+)", proc.stdout)
    assert found, proc.stdout
    report = Path(found.group(1))
    assert report.is_file() and report.suffix == ".html"
    return db, report


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    if chromium_path() is None:
        pytest.fail("Chromium is not installed: apt-get install -y chromium (.ci/run installs it)")
    profile = tmp_path / "profile"
    profile.mkdir()
    b = Browser(profile)
    try:
        yield b
    finally:
        b.close()


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
