"""One cycle of one organisation: sync its partitions, detect on what is new, notify, ship to each sink.

The steps are the library's own (`sync_archive`, `rules.detect` with the ``--new`` position,
`sinks.ship`); a cycle only sequences them and keeps going past a failed step where the next still
makes sense: a failed sync still ships what the archive holds, a sink that is down does not stop the
others. Every failure is counted by kind (``errors_total{kind=...}``) and logged in one line.

Stopping: the progress callbacks of the sync and of the shipper raise `Stopping` once the service was
asked to stop. Both call them only after a commit (a page and its slice position; a batch and its
ledger entry), so what was committed is kept and the next cycle resumes exactly from it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openapiopenai.service.config import OrgConfig
from openapiopenai.service.metrics import ArchiveFigures, Metrics, SinkFigures

if TYPE_CHECKING:
    from openapiopenai.archive import Archive, Filters
    from openapiopenai.rules._engine import Compiled

__all__ = ["CycleReport", "OrgCycle", "Stopping"]

log = logging.getLogger("openapiopenai.service")

PARTITIONS = ("organization", "tenant")


class Stopping(Exception):
    """The service is stopping: raised from a progress callback, right after a commit."""


@dataclass
class CycleReport:
    org: str
    ok: bool = True
    inserted: dict[str, int] = field(default_factory=dict)
    matches: int = 0
    notified: int = 0
    delivered: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    stopped: bool = False
    seconds: float = 0.0


class OrgCycle:
    """Runs the cycles of one organisation (never two at once: the scheduler sees to that)."""

    def __init__(self, org: OrgConfig, metrics: Metrics, stop: threading.Event) -> None:
        self.org = org
        self.metrics = metrics
        self.stop = stop
        self._compiled: Compiled | None = None
        #: When this service started (`detect.since` counts back from it).
        self.started_at = time.time()
        self.figures = metrics.figures.setdefault(org.name, ArchiveFigures())

    def _check_stop(self, _count: int = 0) -> None:
        if self.stop.is_set():
            raise Stopping

    def _fail(self, report: CycleReport, kind: str, message: str) -> None:
        report.ok = False
        report.errors.append((kind, message))
        self.metrics.error(self.org.name, kind)
        log.error("%s failed: %s", kind, message, extra={"org": self.org.name, "kind": kind})

    def run(self) -> CycleReport:
        report = CycleReport(self.org.name)
        started = time.perf_counter()
        try:
            self._run(report)
        except Stopping:
            report.stopped = True
            log.info("cycle stopped after its last commit (the next start resumes it)", extra={"org": self.org.name})
        except Exception as exc:  # one organisation's bug must not end the service for the others
            self._fail(report, "internal", f"{type(exc).__name__}: {exc}")
        if not self.figures.high_water and not report.stopped:
            self._figures_from_file()
        report.seconds = time.perf_counter() - started
        if not report.stopped:
            self.metrics.cycles.labels(org=self.org.name, outcome="ok" if report.ok else "failed").inc()
        return report

    def _run(self, report: CycleReport) -> None:
        import openapiopenai
        from openapiopenai.archive import Archive, ArchiveError
        from openapiopenai.cli._messages import remember_secret

        try:
            key = self.org.admin_key()
        except ValueError as exc:
            return self._fail(report, "key", str(exc))
        remember_secret(key)   # scrubbed from every log line, whatever produced it
        try:
            config = openapiopenai.Configuration(host=self.org.base_url, access_token=key)
            config.check_key_transport()
        except ValueError as exc:
            return self._fail(report, "config", str(exc))
        try:
            archive = Archive(self.org.archive, create=True)
        except (ArchiveError, OSError) as exc:
            return self._fail(report, "archive", str(exc))
        with archive, openapiopenai.ApiClient(config) as client:
            api = openapiopenai.AuditLogsApi(client)
            synced = all([self._sync(api, archive, report, partition)
                          for partition in PARTITIONS[: 2 if self.org.tenant else 1]])
            if synced:
                self.metrics.last_success[self.org.name] = time.time()
            self._check_stop()
            if self.org.detect is not None:
                self._detect(archive, report)
            for index in range(len(self.org.sinks)):
                self._check_stop()
                self._ship(archive, report, index)
            self._read_figures(archive)

    # -- steps --------------------------------------------------------------------------------------
    def _filters(self, partition: str) -> Filters:
        from openapiopenai.archive import Filters

        return Filters(event_types=self.org.event_types, project_ids=self.org.project_ids, since=self.org.since,
                       tenant_only=partition == "tenant")

    def _sync(self, api: Any, archive: Archive, report: CycleReport, partition: str) -> bool:
        from openapiopenai.archive import ArchiveError, SyncBusy, SyncError, sync_archive
        from openapiopenai.exceptions import ApiException

        name = self.org.name
        try:
            result = sync_archive(api, archive, self._filters(partition), lookback=int(self.org.lookback),
                                  workers=self.org.workers, progress=self._check_stop,
                                  give_up_after=self.org.patience, retried=self._retried)
        except SyncBusy as exc:
            # Another process (a hand-run sync, an overlapping cron job) holds this archive: not ours to wait for.
            self._fail(report, "busy", str(exc))
            return False
        except ApiException as exc:
            self._fail(report, _api_error_kind(exc), f"{partition}: {exc}")
            return False
        except (ArchiveError, SyncError) as exc:
            self._fail(report, "archive", f"{partition}: {exc}")
            return False
        self.metrics.sync_duration.labels(org=name, partition=partition).observe(result.elapsed)
        self.metrics.synced.labels(org=name, partition=partition).inc(result.inserted)
        self.figures.high_water[partition] = result.upper_bound
        report.inserted[partition] = result.inserted
        log.info("synced %s: %d new, %d pages in %.2fs (%d 429s)", partition, result.inserted, result.pages,
                 result.elapsed, result.rate_limited, extra={"org": name, "partition": partition,
                                                              "duration": result.elapsed})
        return True

    def _retried(self, rate_limited: bool) -> None:
        """A sync's request failed and is tried again: counted now, even if the sync gives up later."""
        self.metrics.retries.labels(org=self.org.name).inc()
        if rate_limited:
            self.metrics.rate_limited.labels(org=self.org.name).inc()

    def _rules(self) -> Compiled:
        if self._compiled is None:
            from openapiopenai.rules import compile_rules, load_rules

            assert self.org.detect is not None
            ruleset = load_rules(list(self.org.detect.rules), builtin=self.org.detect.builtin,
                                 placeholders=dict(self.org.detect.placeholders))
            self._compiled = compile_rules(ruleset, level=self.org.detect.min_level)
        return self._compiled

    def _detect(self, archive: Archive, report: CycleReport) -> None:
        from openapiopenai.service.notify import Notifier, NotifyError

        assert self.org.detect is not None
        try:
            from openapiopenai.rules import RuleError, Scope, detect, new_position, save_position
        except ImportError:
            return self._fail(report, "detect", "detections need pySigma: pip install 'openapiopenai[detect]'")
        try:
            compiled = self._rules()
        except (RuleError, ValueError) as exc:
            return self._fail(report, "detect", str(exc))
        conn = archive.connection
        last, upto = new_position(conn)
        if last is not None and upto <= last:
            return None
        # `detect.since`: events from before the service start (less the setting) never alert, so the first
        # cycle over a back-filled archive does not notify its whole history. (Once a position is kept, a
        # correlation still reads the window before its new events, floor or not.)
        floor = None if self.org.detect.since is None else int(self.started_at - self.org.detect.since)
        matches = detect(conn, compiled, Scope(since=floor, after_seq=last, upto_seq=upto))
        notifier = Notifier(conn, self.org.name)
        # A target that failed once is not tried again this cycle: a dead host costs one timeout, not one per match.
        failed: set[str] = set()
        for match in matches:
            self._check_stop()
            if notifier.first_seen(match):
                report.matches += 1
                self.metrics.matches.labels(org=self.org.name, rule=match.rule_id, title=match.title,
                                            level=match.level).inc()
                log.warning("match %s (%s): %s", match.rule_id, match.level, match.title,
                            extra={"org": self.org.name, "rule": match.rule_id, "level": match.level})
            for target in self.org.detect.notify:
                if target in failed:
                    continue
                try:
                    if notifier.send(target, match):
                        report.notified += 1
                        self.metrics.notifications.labels(org=self.org.name, outcome="sent").inc()
                except NotifyError as exc:
                    failed.add(target)
                    self.metrics.notifications.labels(org=self.org.name, outcome="failed").inc()
                    self._fail(report, "notify", f"{exc} (the matches it missed are sent next cycle)")
        if not failed:
            # Only once every target has every match: otherwise the next cycle looks again from the same
            # position and sends just what is missing (the notifications table knows what was sent).
            save_position(conn, upto)

    def _ship(self, archive: Archive, report: CycleReport, index: int) -> None:
        from openapiopenai.sinks import ShipError, SinkError, open_sink, ship

        sink_config = self.org.sinks[index]
        label = sink_config.name or f"sink{index}"
        try:
            sink = open_sink(sink_config.to)
            name = sink_config.name or sink.describe()
            result = ship(archive, sink, name=name, schema=sink_config.schema, give_up_after=self.org.patience,
                          progress=self._check_stop)
        except (ShipError, SinkError, ValueError) as exc:
            self._fail(report, "sink", f"{label}: {exc}")
            return
        finally:
            self._read_sink(archive, index)
        report.delivered += result.delivered
        self.metrics.delivered.labels(org=self.org.name, sink=label).inc(result.delivered)
        if result.rejected:
            log.warning("%s: %d events refused for good (dead letters)", label, result.rejected,
                        extra={"org": self.org.name, "sink": label})

    # -- what the archive says ---------------------------------------------------------------------
    def _read_sink(self, archive: Archive, index: int) -> None:
        from openapiopenai.sinks import open_sink
        from openapiopenai.sinks._ledger import Ledger

        sink_config = self.org.sinks[index]
        label = sink_config.name or f"sink{index}"
        try:
            name = sink_config.name or open_sink(sink_config.to).describe()
        except ValueError:
            return
        ledger = Ledger(archive.connection, name)
        state = ledger.state()
        position = state.position if state is not None else 0
        self.figures.sinks[label] = SinkFigures(backlog=ledger.backlog(position), dead_letters=ledger.dead_count(),
                                                last_delivery=state.last_delivery_at if state is not None else None)

    def _read_figures(self, archive: Archive) -> None:
        # The high-water mark as the archive records it, so the lag is known even when this process has
        # not synced yet (a restart during an outage must not hide how far behind the archive is).
        marks = {s["filter_key"]: s["high_water"] for s in archive.sync_state()}
        for partition in PARTITIONS[: 2 if self.org.tenant else 1]:
            filters = self._filters(partition)
            self.figures.events[partition] = archive.count(filters)
            if marks.get(filters.key()) is not None:
                self.figures.high_water[partition] = int(marks[filters.key()])

    def _figures_from_file(self) -> None:
        """After a cycle that could not open the archive for writing (no key, say): read what it says."""
        from openapiopenai.archive import Archive, ArchiveError

        if not os.path.exists(self.org.archive):
            return
        try:
            with Archive(self.org.archive, create=False, readonly=True) as archive:
                self._read_figures(archive)
        except (ArchiveError, OSError, sqlite3.Error) as exc:
            log.warning("cannot read the archive's figures: %s", exc, extra={"org": self.org.name})


def _api_error_kind(exc: Exception) -> str:
    from openapiopenai.exceptions import (
        ApiConnectionError,
        ForbiddenException,
        RateLimitException,
        UnauthorizedException,
    )

    if isinstance(exc, UnauthorizedException | ForbiddenException):
        return "auth"
    if isinstance(exc, RateLimitException):
        return "rate_limit"
    if isinstance(exc, ApiConnectionError):
        return "unreachable"
    return "service"
