"""``audit-logs tail``: print new events as they appear, each exactly once.

Each poll re-reads a window that reaches ``--lookback`` behind the newest event seen, because events
can appear late with an older ``effective_at``, and several can share one second. Ids seen inside the
window are remembered, so nothing prints twice; ids older than the window are forgotten, so memory
stays bounded however long the tail runs.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from ._app import audit_logs
from ._options import Connection, connection_options, filter_options
from ._output import display_cells, jsonl_line
from ._schema import in_schema, schema_option
from ._time import Duration

if TYPE_CHECKING:
    from openapiopenai import AuditLogsApi
    from openapiopenai.archive import Filters

# Separated so tests can drive the loop (and insert events between polls) without waiting.
_sleep: Callable[[float], None] = time.sleep


class Follower:
    """Finds the events that are new since the previous poll."""

    def __init__(self, api: AuditLogsApi, filters: Filters, lookback: int) -> None:
        self.api = api
        self.filters = filters
        self.lookback = lookback
        self.seen: dict[str, int] = {}
        # The newest effective_at seen. Without --since it starts at the service's newest event, not
        # at this machine's clock: a skewed clock must not hide events or replay old ones.
        self.high: int | None = filters.since

    def poll(self) -> list[tuple[int, str, str]]:
        """New events as (effective_at, id, raw JSON), oldest first."""
        if self.high is None:
            newest = self.api.list_audit_logs(**self.filters.list_kwargs(), limit=1).data
            self.high = newest[0].effective_at if newest else None
        window = self.filters
        if self.high is not None:
            start = self.high - self.lookback
            if self.filters.since is not None:
                start = max(start, self.filters.since)
            if self.filters.until is not None and start >= self.filters.until:
                return []  # the window has moved past --until: nothing new can match
            window = dataclasses.replace(self.filters, since=start)
        new: list[tuple[int, str, str]] = []
        for event in self.api.iter_audit_logs(**window.list_kwargs(), limit=100):
            if event.id not in self.seen:
                self.seen[event.id] = event.effective_at
                new.append((event.effective_at, event.id, event.raw_json))
        new.sort()
        if new:
            self.high = new[-1][0] if self.high is None else max(self.high, new[-1][0])
            cutoff = self.high - self.lookback
            self.seen = {key: at for key, at in self.seen.items() if at >= cutoff}
        return new


def _line(raw: str, fmt: str) -> str:
    if fmt == "jsonl":
        return jsonl_line(raw)
    return "  ".join(cell or "-" for cell in display_cells(json.loads(raw)))


@audit_logs.command("tail")
@filter_options
@connection_options
@click.option(
    "--interval", type=Duration(minimum=0.05), default="30s", show_default=True, help="Time between polls."
)
@click.option(
    "--lookback",
    type=Duration(),
    default="15m",
    show_default=True,
    help="How far back each poll looks for late events.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True)
@click.option(
    "--max-polls", type=click.IntRange(1), hidden=True, help="Stop after N polls (for tests and scripts)."
)
@schema_option
def tail_command(
    filters: Filters,
    connection: Connection,
    interval: float,
    lookback: float,
    fmt: str,
    max_polls: int | None,
    schema: str,
) -> None:
    """Print new events as they appear, oldest first, until interrupted.

    With --since, events since then are printed first.
    """
    convert = in_schema(schema, fmt)
    with connection.api() as api:
        follower = Follower(api, filters, int(lookback))
        try:
            polls = 0
            while max_polls is None or polls < max_polls:
                if polls:
                    _sleep(interval)
                events = follower.poll()
                if polls or filters.since is not None:
                    for raw in convert(raw for _, _, raw in events):
                        sys.stdout.write(_line(raw, fmt) + "\n")
                    sys.stdout.flush()
                if not polls:
                    click.echo(f"following new events every {interval:g}s (Ctrl-C to stop)", err=True)
                polls += 1
        except KeyboardInterrupt:
            # Ctrl-C is how a tail ends: a clean exit, no traceback, no "aborted".
            click.echo("", err=True)
