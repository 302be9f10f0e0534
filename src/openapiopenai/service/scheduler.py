"""Running every organisation's cycles on its interval: bounded, independent, never overlapping.

One thread decides; a pool of ``concurrency`` threads runs cycles. An organisation whose cycle is
still running (or still queued for a free thread) when its next one is due skips that turn, counted
in ``cycle_overruns_total`` and logged once per turn, so a slow organisation never piles up cycles
and never delays the others' turns. A failing organisation only fails its own cycles.

`Service.stop()` (the CLI wires SIGTERM and SIGINT to it) starts no new cycle and asks the running
ones to stop at their next commit; `Service.run` returns once they did or `STOP_BUDGET_S` passed,
saying which.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for

from openapiopenai.service.config import ServiceConfig
from openapiopenai.service.cycle import CycleReport, OrgCycle
from openapiopenai.service.metrics import Metrics

__all__ = ["STOP_BUDGET_S", "Service"]

log = logging.getLogger("openapiopenai.service")

#: How long running cycles get to reach a commit once asked to stop: inside the 10 s a supervisor
#: (systemd's TimeoutStopSec, Kubernetes' grace period) is told to allow, with room to exit.
STOP_BUDGET_S = 7.0
#: The decision loop wakes at least this often (a stop request or a finished cycle is noticed fast).
_TICK_S = 0.5


class Service:
    def __init__(self, config: ServiceConfig, metrics: Metrics, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.metrics = metrics
        self.clock = clock
        self.stopping = threading.Event()
        self._stop_asked_at: float | None = None
        self.cycles = {org.name: OrgCycle(org, metrics, self.stopping) for org in config.orgs}
        self.reports: list[CycleReport] = []
        metrics.prime([org.name for org in config.orgs])

    def stop(self) -> None:
        """Safe from a signal handler: only sets flags."""
        if self._stop_asked_at is None:
            self._stop_asked_at = self.clock()
        self.stopping.set()

    def run(self, *, once: bool = False, max_cycles: int | None = None) -> bool:
        """Run until `stop()` (or, with ``once``, one cycle of each organisation).

        Returns True when every started cycle finished or stopped at a commit, False when some were still
        running at the end of the stop budget (their committed work is kept; the caller exits anyway).
        ``max_cycles`` bounds the cycles started per organisation (for tests and benchmarks).
        """
        orgs = {org.name: org for org in self.config.orgs}
        due = {name: self.clock() for name in orgs}
        started = {name: 0 for name in orgs}
        running: dict[str, Future[CycleReport]] = {}
        pool = ThreadPoolExecutor(max_workers=self.config.concurrency, thread_name_prefix="cycle")
        try:
            while not self.stopping.is_set():
                now = self.clock()
                for name, org in orgs.items():
                    if (max_cycles is not None and started[name] >= max_cycles) or (once and started[name]):
                        continue
                    if now < due[name]:
                        continue
                    future = running.get(name)
                    if future is not None and not future.done():
                        self.metrics.overruns.labels(org=name).inc()
                        log.warning("cycle still running after its interval (%gs): this turn is skipped",
                                    org.interval, extra={"org": name})
                    else:
                        running[name] = pool.submit(self._cycle, name)
                        started[name] += 1
                    # The next turn keeps to the grid when on time, and starts afresh after a long stall.
                    due[name] = max(due[name] + org.interval, now)
                active = [f for f in running.values() if not f.done()]
                finished = all(
                    (max_cycles is not None and started[n] >= max_cycles) or (once and started[n]) for n in orgs)
                if finished and not active:
                    break
                next_due = min(due.values()) - self.clock()
                self.stopping.wait(min(_TICK_S, max(0.01, next_due)) if not active else min(_TICK_S, 0.1))
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        active = [f for f in running.values() if not f.done()]
        if not active:
            return True
        asked = self._stop_asked_at if self._stop_asked_at is not None else self.clock()
        remaining = max(0.0, asked + STOP_BUDGET_S - self.clock())
        _, not_done = wait_for(active, timeout=remaining)
        if not_done:
            log.warning("%d cycle(s) still running after %gs: leaving them; what they committed is kept and "
                        "the next start resumes from it", len(not_done), STOP_BUDGET_S)
        return not not_done

    def _cycle(self, name: str) -> CycleReport:
        report = self.cycles[name].run()
        self.reports.append(report)
        if report.ok and not report.stopped:
            log.info("cycle done in %.2fs: %s new, %d matches, %d notified, %d delivered", report.seconds,
                     "+".join(str(report.inserted[p]) for p in sorted(report.inserted)) or "0", report.matches,
                     report.notified, report.delivered, extra={"org": name, "duration": report.seconds})
        return report
