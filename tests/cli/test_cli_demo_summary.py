"""The demo's summary, as a security engineer reads it on an 80-column terminal."""

from __future__ import annotations

import collections
import json
import os
import re
from pathlib import Path

import pytest
from _cli_helpers import archive_raws, run_in_terminal, script_env

from openapiopenai.cli._findings import BROAD_KEYS, HIGH_RISK_TYPES

pytestmark = pytest.mark.usefixtures("needs_emulator")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("demo")
    db = folder / "demo-audit.sqlite"
    status, out = run_in_terminal(
        ["demo", "--events", "3000", "--db", str(db), "--seed", "2"],
        {**script_env(), "NO_COLOR": "1"},
        columns=80,
        timeout=120,
    )
    assert status == 0, out
    # Before any test reads the archive (a read-only open leaves its own -wal/-shm behind).
    # The sync's lock file (issue 8) stays beside the archive by design: it holds no data.
    left = sorted(os.listdir(folder))
    assert left == [db.name, f"{db.name}.sync-lock"], "the demo left more than its archive"
    return db, out


def test_findings_come_before_the_volume_counts(demo_run) -> None:
    _, out = demo_run
    order = [out.index(h) for h in ("High-risk changes", "Failed logins:", "Events by type", "Top actors")]
    assert order == sorted(order)
    for event_type in HIGH_RISK_TYPES:
        assert event_type in out


def test_failed_logins_grouped_by_user_ip_and_country(demo_run) -> None:
    db, out = demo_run
    events = [json.loads(raw) for raw in archive_raws(str(db))]
    failed = [e for e in events if e["type"] == "login.failed"]
    groups = collections.Counter(
        (
            e["actor"]["session"]["user"]["email"],
            e["actor"]["session"]["ip_address"],
            e["actor"]["session"].get("ip_address_details", {}).get("country", "-"),
        )
        for e in failed
    )
    assert f"Failed logins: {len(failed):,}, by user, IP and country" in out
    (user, ip, country), count = groups.most_common(1)[0]
    top_row = next(line for line in out.splitlines() if user in line and ip in line and country in line)
    assert re.search(rf"\b{count}\b", top_row), top_row


def test_high_risk_counts_match_the_archive(demo_run) -> None:
    db, out = demo_run
    events = [json.loads(raw) for raw in archive_raws(str(db))]
    counts = collections.Counter(e["type"] for e in events)
    broad = sum(
        1
        for e in events
        if e["type"] == "api_key.created"
        and any(s.endswith(".write") or s == "all" for s in e["api_key.created"].get("data", {}).get("scopes", []))
    )
    assert broad > 0  # the emulated organisation has some, so the row below is tested
    lines = [line.strip() for line in out.splitlines()]
    for what, count in [*((t, counts[t]) for t in HIGH_RISK_TYPES), (BROAD_KEYS, broad)]:
        row = next(line for line in lines if line.startswith(what + " "))
        assert row[len(what):].split()[0] == f"{count:,}", row


def test_query_hints_are_not_hard_wrapped(demo_run) -> None:
    _, out = demo_run
    lines = out.splitlines()
    for needle in ("GROUP BY type ORDER BY 2 DESC LIMIT 5\"", "--out failed-logins.csv", "--out events.parquet"):
        line = next(line for line in lines if needle in line)
        command = line.strip()
        assert command.startswith(("sqlite3 ", "openapiopenai ")), command
