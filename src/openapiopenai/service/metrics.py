"""The service's Prometheus metrics (``prometheus-client``), in a registry of their own.

Counters are counted as things happen; the gauges that describe an archive (events held, the high-water
mark, each sink's backlog and dead letters) are the archive's own figures, read from it at the end of
each cycle, so a scrape says what the files say. The lag is worked out at scrape time (now minus the
high-water mark), so it keeps growing while syncs fail. docs/operations.md lists them with the alerts
worth setting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["ArchiveFigures", "Metrics", "SinkFigures"]

_PREFIX = "openapiopenai"


@dataclass
class SinkFigures:
    backlog: int
    dead_letters: int
    last_delivery: float | None


@dataclass
class ArchiveFigures:
    """What one organisation's archive says after a cycle."""

    events: dict[str, int] = field(default_factory=dict)
    """Per partition (``organization``, ``tenant``)."""
    high_water: dict[str, int] = field(default_factory=dict)
    """Per partition: the archive is complete up to here (exclusive), Unix seconds."""
    sinks: dict[str, SinkFigures] = field(default_factory=dict)


class _ArchiveCollector(Collector):
    def __init__(self, figures: dict[str, ArchiveFigures], last_success: dict[str, float],
                 clock: Callable[[], float]) -> None:
        self._figures = figures
        self._last_success = last_success
        self._clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self._clock()
        events = GaugeMetricFamily(f"{_PREFIX}_events_archived", "Events the organisation's archive holds.",
                                   labels=["org", "partition"])
        high = GaugeMetricFamily(f"{_PREFIX}_high_water_mark_timestamp_seconds",
                                 "The archive is complete up to this time (exclusive).", labels=["org", "partition"])
        lag = GaugeMetricFamily(f"{_PREFIX}_lag_seconds", "Now minus the high-water mark.",
                                labels=["org", "partition"])
        success = GaugeMetricFamily(f"{_PREFIX}_last_successful_sync_timestamp_seconds",
                                    "When the organisation's last sync of every partition succeeded.", labels=["org"])
        backlog = GaugeMetricFamily(f"{_PREFIX}_sink_backlog_events", "Archived events the sink has not acknowledged.",
                                    labels=["org", "sink"])
        dead = GaugeMetricFamily(f"{_PREFIX}_sink_dead_letters", "Events the sink refused for good (kept, re-sendable).",
                                 labels=["org", "sink"])
        delivery = GaugeMetricFamily(f"{_PREFIX}_sink_last_delivery_timestamp_seconds",
                                     "When the sink last acknowledged a batch.", labels=["org", "sink"])
        # Copies first (one C-level step each): a cycle thread may add a partition or sink meanwhile.
        for org, fig in sorted(dict(self._figures).items()):
            for partition, count in sorted(dict(fig.events).items()):
                events.add_metric([org, partition], count)
            for partition, mark in sorted(dict(fig.high_water).items()):
                high.add_metric([org, partition], mark)
                lag.add_metric([org, partition], max(0.0, now - mark))
            for sink, s in sorted(dict(fig.sinks).items()):
                backlog.add_metric([org, sink], s.backlog)
                dead.add_metric([org, sink], s.dead_letters)
                if s.last_delivery is not None:
                    delivery.add_metric([org, sink], s.last_delivery)
        for org, at in sorted(dict(self._last_success).items()):
            success.add_metric([org], at)
        yield from (events, high, lag, success, backlog, dead, delivery)


class Metrics:
    """Every metric of the service; `render()` is what ``/metrics`` answers."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.registry = CollectorRegistry()
        self.figures: dict[str, ArchiveFigures] = {}
        self.last_success: dict[str, float] = {}
        self.registry.register(_ArchiveCollector(self.figures, self.last_success, clock))
        r = self.registry
        self.sync_duration = Histogram(f"{_PREFIX}_sync_duration_seconds", "One partition's sync, start to commit.",
                                       ["org", "partition"], registry=r,
                                       buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600))
        self.synced = Counter(f"{_PREFIX}_events_synced", "Events new to the archive, by partition.",
                              ["org", "partition"], registry=r)
        self.errors = Counter(f"{_PREFIX}_errors", "Failed steps of a cycle, by kind.", ["org", "kind"], registry=r)
        self.rate_limited = Counter(f"{_PREFIX}_rate_limited", "429 answers the syncs were given.", ["org"],
                                    registry=r)
        self.retries = Counter(f"{_PREFIX}_sync_retries", "Requests the syncs tried again (5xx, 429, resets).",
                               ["org"], registry=r)
        self.matches = Counter(f"{_PREFIX}_detection_matches", "Detections matched on new events.",
                               ["org", "rule", "title", "level"], registry=r)
        self.notifications = Counter(f"{_PREFIX}_notifications", "Match notifications, by outcome.",
                                     ["org", "outcome"], registry=r)
        self.delivered = Counter(f"{_PREFIX}_sink_delivered_events", "Events a sink acknowledged.", ["org", "sink"],
                                 registry=r)
        self.cycles = Counter(f"{_PREFIX}_cycles", "Cycles run, by outcome (ok, failed).", ["org", "outcome"],
                              registry=r)
        self.overruns = Counter(f"{_PREFIX}_cycle_overruns", "Cycles not started because the last one still ran.",
                                ["org"], registry=r)

    def error(self, org: str, kind: str) -> None:
        self.errors.labels(org=org, kind=kind).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def prime(self, orgs: list[str]) -> None:
        """Series that exist from the start (at 0), so a rate() over them works before the first failure."""
        for org in orgs:
            for outcome in ("ok", "failed"):
                self.cycles.labels(org=org, outcome=outcome)
            self.rate_limited.labels(org=org)
            self.overruns.labels(org=org)

    def sample(self, name: str, labels: dict[str, str]) -> Any:
        """One value as a scrape would show it (for tests and `--once` summaries)."""
        return self.registry.get_sample_value(name, labels)
