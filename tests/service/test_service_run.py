"""``openapiopenai run`` against two emulators for a few short cycles, as an operator runs it."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from _service_helpers import RunningService, Webhook, wait_until

from openapiopenai.archive import Filters
from openapiopenai.emulator import Emulator
from openapiopenai.emulator._scenarios import SCENARIOS, plant_all

KEY_A = "sk-admin-SERVICE-A-3f9c1e5b2d406871"
KEY_B = "sk-admin-SERVICE-B-8d1a7c3e9f204b55"
PLANTED = ["account_lockout", "admin_key_created", "scim_tampering"]


def exact_ids(db: Path, emu: Emulator, tenant: bool, upper: int) -> list[str]:
    """The archive's ids of one partition below ``upper``, checked equal to the emulator's, newest first."""
    kwargs: dict[str, Any] = Filters(tenant_only=tenant).list_kwargs()
    kwargs["effective_at"] = {"lt": upper}
    expected = [e["id"] for e in emu.store.all_events(**kwargs)]
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        got = [r[0] for r in conn.execute(
            "SELECT id FROM audit_logs WHERE tenant = ? AND effective_at < ? ORDER BY effective_at DESC, id DESC",
            (int(tenant), upper))]
    assert sorted(got) == sorted(expected)
    return got


def archive_count(db: Path, tenant: bool) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT count(*) FROM audit_logs WHERE tenant = ?", (int(tenant),)).fetchone()[0])


def write_config(tmp_path: Path, a: Emulator, b: Emulator, hook: Webhook) -> Path:
    config = tmp_path / "openapiopenai.toml"
    config.write_text(f"""
[service]
metrics_addr = "127.0.0.1:0"

[[org]]
name = "faulty"
base_url = "{a.base_url}"
admin_key_env = "FAULTY_KEY"
archive = "{tmp_path / 'faulty.sqlite'}"
# Its faults and 429s make a cycle take a second or more when the machine is busy: at 1s it too turned
# unhealthy (late by two intervals) while the test waited for only the stopped organisation to.
interval = "3s"
give_up_after = "30s"
workers = 2

[[org]]
name = "live"
base_url = "{b.base_url}"
admin_key_file = "{tmp_path / 'live.key'}"
archive = "{tmp_path / 'live.sqlite'}"
interval = "1s"
give_up_after = "1s"
tenant = true

[org.detect]
min_level = "high"
notify = ["{hook.url}"]

[[org.sink]]
to = "file://{tmp_path / 'shipped'}"
schema = "raw"
name = "files"
""")
    (tmp_path / "live.key").write_text(KEY_B + "\n")
    return config


def ok_cycles(service: RunningService, org: str) -> float:
    return service.value("openapiopenai_cycles_total", org=org, outcome="ok") or 0.0


@pytest.mark.slow
def test_two_organisations_synced_checked_shipped_and_observable(tmp_path: Path, webhook: Webhook,
                                                                 start_service: Any) -> None:
    faulty = Emulator(events=1500, seed=4, admin_key=KEY_A, fail_rate=0.15, rate_limit=8, fault_seed=3).start()
    live = Emulator(events=800, seed=5, admin_key=KEY_B, live_rate=4.0).start()
    try:
        planted = plant_all(live.store, PLANTED)
        service = start_service(write_config(tmp_path, faulty, live, webhook), {"FAULTY_KEY": KEY_A})
        service.wait_port()
        # Several short cycles of each.
        wait_until("three good cycles of each organisation",
                   lambda: ok_cycles(service, "faulty") >= 3 and ok_cycles(service, "live") >= 3)
        assert service.get("/healthz")[0] == 200

        # The faulty emulator did fault and rate-limit, and the service counted its 429s.
        counters = faulty.counters()
        assert counters["rate_limited"] > 0 and sum(counters["faults"].values()) > 0, counters
        assert (service.value("openapiopenai_rate_limited_total", org="faulty") or 0) > 0

        # One emulator stops: /healthz turns 503 naming it, the other keeps going; back: 200 again.
        port = int(live.base_url.split(":")[2].split("/")[0])
        live.port = port
        live.stop()
        _, reason = wait_until("a 503", lambda: (r := service.get("/healthz"))[0] == 503 and r)
        assert "live:" in reason and "faulty" not in reason
        before = ok_cycles(service, "faulty")
        wait_until("faulty still cycling", lambda: ok_cycles(service, "faulty") > before)
        # Late is a matter of time; the failed cycle that counts the error ends after its own give-up.
        wait_until("live's unreachable counted",
                   lambda: (service.value("openapiopenai_errors_total", org="live", kind="unreachable") or 0) > 0)
        live.start()
        wait_until("a 200 again", lambda: service.get("/healthz")[0] == 200)

        # The live feed stops, so the archive can be compared with what the service holds.
        live.app.live.rate = 0
        settled = ok_cycles(service, "live")
        wait_until("two more cycles of live", lambda: ok_cycles(service, "live") >= settled + 2)
        metrics = service.metrics()
        for org, emu, partitions in (("faulty", faulty, [False]), ("live", live, [False, True])):
            for tenant in partitions:
                label = "tenant" if tenant else "organization"
                upper = int(service.value("openapiopenai_high_water_mark_timestamp_seconds", org=org,
                                          partition=label) or 0)
                ids = exact_ids(tmp_path / f"{org}.sqlite", emu, tenant, upper)
                assert len(ids) > (0 if tenant else 500)
                # The metric is what the archive says (no live events arrive any more).
                assert service.value("openapiopenai_events_archived", org=org, partition=label) == \
                    archive_count(tmp_path / f"{org}.sqlite", tenant)
        assert not any(k.startswith("openapiopenai_events_archived") and 'partition="tenant"' in k and "faulty" in k
                       for k in metrics)

        # Each match notified once, the planted ones among them, each counted once in the metrics.
        keys = [body["key"] for body in webhook.bodies]
        assert len(keys) == len(set(keys)) > 0
        rules = Counter(body["rule_id"] for body in webhook.bodies)
        titles = {body["title"] for body in webhook.bodies}
        assert all(body["organization"] == "live" for body in webhook.bodies)
        planted_ids = {i for p in planted for i in p.ids}
        assert planted_ids & {i for body in webhook.bodies for i in body["event_ids"]}
        matched = sum(v for k, v in metrics.items() if k.startswith("openapiopenai_detection_matches_total{"))
        assert matched == len(keys)
        for rule_id, n in rules.items():
            assert service.value("openapiopenai_detection_matches_total", org="live", rule=rule_id) == n
        assert len(titles) >= len([s for s in PLANTED if SCENARIOS[s].detects])

        # The file sink: every event of the archive once, nothing left over, no dead letters.
        rc, seconds = service.terminate()
        assert rc == 0 and seconds < 10
        shipped = [json.loads(line)["id"] for f in sorted((tmp_path / "shipped").rglob("*.jsonl"))
                   for line in f.read_text().splitlines()]
        with sqlite3.connect(tmp_path / "live.sqlite") as conn:
            archived = sorted(r[0] for r in conn.execute("SELECT id FROM audit_logs"))
            position = conn.execute("SELECT position FROM sink_ledger WHERE sink = 'files'").fetchone()[0]
            newest = conn.execute("SELECT max(seq) FROM audit_logs").fetchone()[0]
        assert sorted(set(shipped)) == archived and position == newest
        log = service.log()
        for key in (KEY_A, KEY_B, "secret-token-in-path"):
            assert key not in log
    finally:
        faulty.stop()
        live.stop()
