"""One organisation's cycle in-process: notifications once per match across a target's outage, logs, health."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from _service_helpers import Webhook

from openapiopenai.emulator import Emulator
from openapiopenai.emulator._scenarios import plant_all
from openapiopenai.service.config import parse_config
from openapiopenai.service.cycle import OrgCycle
from openapiopenai.service.health import Health
from openapiopenai.service.logs import EcsFormatter
from openapiopenai.service.metrics import Metrics

KEY = "sk-admin-SERVICE-CYCLE-9f204b558d1a7c3e"


def org_config(tmp_path: Path, emu: Emulator, *targets: str, since: str = "all") -> Any:
    notify = ", ".join(f'"{t}"' for t in targets)
    return parse_config(f"""
[[org]]
name = "acme"
base_url = "{emu.base_url}"
admin_key_env = "CYCLE_KEY"
archive = "{tmp_path / 'acme.sqlite'}"
interval = "1m"
[org.detect]
min_level = "high"
notify = [{notify}]
since = "{since}"
""").orgs[0]


@pytest.fixture
def emu() -> Any:
    with Emulator(events=300, seed=9, admin_key=KEY) as emulator:
        plant_all(emulator.store, ["account_lockout", "external_key_removed"])
        yield emulator


def test_a_target_that_was_down_gets_what_it_missed_and_the_other_nothing_twice(
        tmp_path: Path, emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CYCLE_KEY", KEY)
    up, down = Webhook(), Webhook()
    try:
        down.fail = True
        metrics = Metrics()
        cycle = OrgCycle(org_config(tmp_path, emu, up.url, down.url), metrics, threading.Event())
        first = cycle.run()
        assert not first.ok and [k for k, _ in first.errors] == ["notify"]
        assert first.matches == len(up.bodies) > 0 and down.bodies == []
        # Nothing new in the archive, the detections still look again: the missed target is owed.
        down.fail = False
        second = cycle.run()
        assert second.ok and second.matches == 0
        assert sorted(b["key"] for b in down.bodies) == sorted(b["key"] for b in up.bodies)
        assert len(up.bodies) == first.matches       # the target that was up got nothing twice
        third = cycle.run()
        assert third.ok and third.notified == 0
        # New events: only their matches are sent.
        plant_all(emu.store, ["external_key_removed"], at=int(time.time()) - 300)   # within the lookback
        fourth = cycle.run()
        assert fourth.matches >= 1 and len(up.bodies) == first.matches + fourth.matches
        assert metrics.sample("openapiopenai_notifications_total", {"org": "acme", "outcome": "failed"}) == 1
        assert metrics.sample("openapiopenai_errors_total", {"org": "acme", "kind": "notify"}) == 1
    finally:
        up.close()
        down.close()


@pytest.mark.parametrize(("since", "history_alerts"), [("start", False), ("1000d", True)])
def test_detect_since_keeps_a_first_cycle_from_alerting_on_history(
        tmp_path: Path, emu: Emulator, monkeypatch: pytest.MonkeyPatch, since: str, history_alerts: bool) -> None:
    # The fixture planted its scenarios hours before the newest event: history, back-filled by cycle one.
    monkeypatch.setenv("CYCLE_KEY", KEY)
    hook = Webhook()
    try:
        config = org_config(tmp_path, emu, hook.url, since=since)
        assert config.detect.since == (0.0 if since == "start" else 1000 * 86_400.0)
        cycle = OrgCycle(config, Metrics(), threading.Event())
        cycle.started_at = time.time() - 600   # started ten minutes ago (the history is hours older)
        first = cycle.run()
        assert first.ok and sum(first.inserted.values()) > 0
        assert (first.matches > 0) is history_alerts, first
        assert len(hook.bodies) == first.matches
        # What happens after the start alerts whatever the setting.
        plant_all(emu.store, ["external_key_removed"], at=int(time.time()) - 300)   # within the lookback
        second = cycle.run()
        assert second.ok and second.matches >= 1
        assert {b["title"] for b in hook.bodies[first.matches:]} == {"Customer-Managed Encryption Key Removed"}
    finally:
        hook.close()


def test_detect_since_is_start_all_or_a_duration() -> None:
    def since(value: str) -> Any:
        return parse_config(f"""
[[org]]
name = "acme"
admin_key_env = "K"
archive = "/tmp/a.sqlite"
[org.detect]
since = "{value}"
""").orgs[0].detect.since

    assert (since("start"), since("all"), since("2h")) == (0.0, None, 7200.0)
    from openapiopenai.service.config import ConfigError

    with pytest.raises(ConfigError, match="since"):
        since("yesterday-ish")


def test_a_missing_key_fails_that_cycle_by_kind_and_says_where(tmp_path: Path, emu: Emulator,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CYCLE_KEY", raising=False)
    metrics = Metrics()
    report = OrgCycle(org_config(tmp_path, emu), metrics, threading.Event()).run()
    assert report.errors == [("key", "the environment variable CYCLE_KEY is not set")]
    assert not (tmp_path / "acme.sqlite").exists()
    assert metrics.sample("openapiopenai_cycles_total", {"org": "acme", "outcome": "failed"}) == 1


def test_health_is_two_intervals(tmp_path: Path, emu: Emulator) -> None:
    now = [1000.0]
    org = org_config(tmp_path, emu)
    last: dict[str, float] = {}
    health = Health((org,), last, clock=lambda: now[0])
    now[0] += 120
    assert health.check()[0]
    now[0] += 1
    assert health.check() == (False, "acme: no successful sync for 121s (interval 60s)")
    last["acme"] = now[0] - 30
    assert health.check()[0]


def test_json_logs_are_ecs_and_never_hold_a_key() -> None:
    from openapiopenai.cli._messages import remember_secret

    remember_secret(KEY)
    record = logging.LogRecord("openapiopenai.service", logging.ERROR, __file__, 1, "auth failed: %s", (KEY,), None)
    record.org, record.kind, record.duration = "acme", "auth", 0.25
    line = EcsFormatter().format(record)
    doc = json.loads(line)
    assert KEY not in line and doc["message"] == "auth failed: [redacted key]"
    assert doc["log.level"] == "error" and doc["organization"]["name"] == "acme"
    assert doc["error"] == {"type": "auth", "message": "auth failed: [redacted key]"}
    assert doc["event"]["duration"] == 250_000_000 and doc["ecs"]["version"]
    assert list(doc)[:3] == ["@timestamp", "log.level", "message"]
    assert io.StringIO(line).read().count("\n") == 0


def test_after_a_restart_without_a_key_the_lag_is_still_the_archives(tmp_path: Path, emu: Emulator,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CYCLE_KEY", KEY)
    org = org_config(tmp_path, emu)
    assert OrgCycle(org, Metrics(), threading.Event()).run().ok
    monkeypatch.delenv("CYCLE_KEY")
    restarted = Metrics()
    assert not OrgCycle(org, restarted, threading.Event()).run().ok
    labels = {"org": "acme", "partition": "organization"}
    mark = restarted.sample("openapiopenai_high_water_mark_timestamp_seconds", labels)
    with sqlite3.connect(tmp_path / "acme.sqlite") as conn:
        assert mark == conn.execute("SELECT max(high_water) FROM sync_state").fetchone()[0]
        assert restarted.sample("openapiopenai_events_archived", labels) == conn.execute(
            "SELECT count(*) FROM audit_logs WHERE tenant = 0").fetchone()[0]
    assert 0 <= restarted.sample("openapiopenai_lag_seconds", labels) < 120


def test_other_services_go_through_apprise(tmp_path: Path, emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    # apprise's json:// (a generic JSON POST, as its Slack/Teams/email plugins are, each to its own API)
    # pointed at a loopback receiver: the real library end to end, nothing leaving the machine.
    monkeypatch.setenv("CYCLE_KEY", KEY)
    hook = Webhook()
    try:
        target = hook.url.replace("http://", "json://")
        report = OrgCycle(org_config(tmp_path, emu, target), Metrics(), threading.Event()).run()
        assert report.ok and report.notified == report.matches == len(hook.bodies) > 0
        assert all(b["title"].startswith("[high] ") and "in acme at" in b["message"] for b in hook.bodies)
    finally:
        hook.close()


def test_a_sync_that_gives_up_still_counts_the_429s_it_was_given(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # One request a hundred seconds: past the first, every answer is a 429 (Retry-After: 100). The sync
    # honours a Retry-After up to MAX_RETRY_AFTER, cut here to half a second so that the test does not sit
    # out a minute, then gives up `give_up_after` (1 s) after its last progress.
    from openapiopenai.archive import _pacing

    monkeypatch.setattr(_pacing, "MAX_RETRY_AFTER", 0.5)
    monkeypatch.setenv("CYCLE_KEY", KEY)
    with Emulator(events=300, seed=9, admin_key=KEY, rate_limit=0.01) as emu:
        config = parse_config(f"""
[[org]]
name = "acme"
base_url = "{emu.base_url}"
admin_key_env = "CYCLE_KEY"
archive = "{tmp_path / 'acme.sqlite'}"
interval = "1m"
give_up_after = "1s"
""").orgs[0]
        metrics = Metrics()
        report = OrgCycle(config, metrics, threading.Event()).run()
        given = emu.counters()["rate_limited"]
    assert not report.ok and [kind for kind, _ in report.errors] == ["rate_limit"], report.errors
    counted = metrics.sample("openapiopenai_rate_limited_total", {"org": "acme"})
    assert given >= 2 and counted == given, (counted, given)   # every 429 the emulator sent, the last one too
    assert metrics.sample("openapiopenai_sync_retries_total", {"org": "acme"}) >= counted
