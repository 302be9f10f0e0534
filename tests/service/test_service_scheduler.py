"""The scheduler: a cycle that overruns is not started twice, and a slow organisation never holds up another."""

from __future__ import annotations

import threading
from typing import Any

from _service_helpers import wait_until

from openapiopenai.service.config import parse_config
from openapiopenai.service.cycle import CycleReport
from openapiopenai.service.metrics import Metrics
from openapiopenai.service.scheduler import Service

CONFIG = """
[service]
concurrency = 2
[[org]]
name = "slow"
admin_key_env = "X"
archive = "slow.sqlite"
interval = "1s"
[[org]]
name = "quick"
admin_key_env = "X"
archive = "quick.sqlite"
interval = "1s"
"""


def test_an_overrunning_cycle_is_skipped_not_doubled_and_the_other_org_keeps_its_turns() -> None:
    metrics = Metrics()
    service = Service(parse_config(CONFIG), metrics)
    release = threading.Event()
    calls = {"slow": 0, "quick": 0}

    def slow() -> CycleReport:
        calls["slow"] += 1
        assert release.wait(30), "never released"
        return CycleReport("slow")

    def quick() -> CycleReport:
        calls["quick"] += 1
        return CycleReport("quick")

    service.cycles["slow"].run = slow  # type: ignore[method-assign]
    service.cycles["quick"].run = quick  # type: ignore[method-assign]
    result: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: result.setdefault("clean", service.run()))
    runner.start()
    try:
        wait_until("two skipped turns", lambda: (metrics.sample("openapiopenai_cycle_overruns_total",
                                                                {"org": "slow"}) or 0) >= 2)
        assert calls["slow"] == 1 and calls["quick"] >= 2
    finally:
        release.set()
        service.stop()
        runner.join(15)
    assert result == {"clean": True} and not runner.is_alive()
    assert metrics.sample("openapiopenai_cycle_overruns_total", {"org": "quick"}) == 0


def test_once_runs_each_organisation_one_cycle() -> None:
    service = Service(parse_config(CONFIG.replace("concurrency = 2", "concurrency = 1")), Metrics())
    seen: list[str] = []
    for name in ("slow", "quick"):
        service.cycles[name].run = lambda name=name: (seen.append(name), CycleReport(name))[1]  # type: ignore[method-assign]
    assert service.run(once=True) is True
    assert sorted(seen) == ["quick", "slow"] and len(service.reports) == 2
