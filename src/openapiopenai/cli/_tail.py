"""``audit-logs tail``: print new events as they appear, each exactly once, through outages.

Each poll re-reads a window that reaches ``--lookback`` behind the newest event seen, because events
can appear late with an older ``effective_at``, and several can share one second. Ids printed inside
the window are remembered, so nothing prints twice; ids older than the window are forgotten, so memory
stays bounded however long the tail runs. An id is remembered only once it has been printed: a poll
that fails halfway prints nothing it has not finished reading, and the next poll reads it again.

A failed poll (the service unreachable, 5xx, 429 after the client's own retries) is an outage, not
the end: one stderr line, a growing wait, and the same window next time. ``--state-file`` keeps the
position (the newest time and the ids printed inside the window) across restarts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from ._app import audit_logs
from ._from_archive import archive_options, check_archive_options, follow_archive
from ._messages import note
from ._options import BadInput, Connection, connection_options, filter_options
from ._output import DISPLAY_HEADERS, display_cells, jsonl_line
from ._schema import event_in_schema, schema_option
from ._time import Duration

if TYPE_CHECKING:
    from openapiopenai import AuditLogsApi
    from openapiopenai.archive import Filters

# Separated so tests can drive the loop (and insert events between polls) without waiting.
_sleep: Callable[[float], None] = time.sleep

#: The longest wait between polls while the service is down.
MAX_OUTAGE_WAIT_S = 300.0
STATE_VERSION = 1


class Follower:
    """Finds the events that are new since the previous poll; ``printed`` records what was shown."""

    def __init__(self, api: AuditLogsApi, filters: Filters, lookback: int) -> None:
        self.api = api
        self.filters = filters
        self.lookback = lookback
        self.seen: dict[str, int] = {}
        # The newest effective_at seen. Without --since it starts at the service's newest event, not
        # at this machine's clock: a skewed clock must not hide events or replay old ones.
        self.high: int | None = filters.since

    def poll(self) -> list[tuple[int, str, str]]:
        """New events as (effective_at, id, raw JSON), oldest first; none is marked seen yet."""
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
        new = {
            event.id: (event.effective_at, event.id, event.raw_json)
            for event in self.api.iter_audit_logs(**window.list_kwargs(), limit=100)
            if event.id not in self.seen
        }
        return sorted(new.values())

    def printed(self, effective_at: int, event_id: str) -> None:
        self.seen[event_id] = effective_at
        self.high = effective_at if self.high is None else max(self.high, effective_at)

    def forget_old(self) -> None:
        if self.high is not None:
            cutoff = self.high - self.lookback
            self.seen = {key: at for key, at in self.seen.items() if at >= cutoff}

    # -- the position, for --state-file ------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "filters": self.filters.key(), "high": self.high, "seen": self.seen}

    def restore(self, state: dict[str, Any]) -> None:
        self.high = state["high"]
        self.seen = dict(state["seen"])


def _load_state(path: str, filters: Filters) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            state = json.load(fh)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise BadInput(f"--state-file {path}: not a tail state file ({exc})") from None
    if (
        not isinstance(state, dict)
        or state.get("version") != STATE_VERSION
        or not isinstance(state.get("seen"), dict)
        or not (state.get("high") is None or isinstance(state.get("high"), int))
    ):
        raise BadInput(f"--state-file {path}: not a tail state file")
    if state.get("filters") != filters.key():
        raise BadInput(f"--state-file {path}: written by a tail with other filters (use another file)")
    return state


def _save_state(path: str, state: dict[str, Any]) -> None:
    """Replace the state file atomically: a crash leaves the old position or the new, never half."""
    import tempfile  # here, not at the top: `--help` imports this module, and tempfile brings shutil

    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(state, fh)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _formatter(fmt: str) -> Callable[[str], str]:
    """One formatter for the whole tail, chosen once (with its header, on the first event)."""
    if fmt == "jsonl":
        return jsonl_line
    from ._terminal import bold, is_terminal, terminal_columns

    if is_terminal(sys.stdout):
        from ._columns import fit

        # Aligned like `list`, to the width the terminal has when the first event arrives.
        layout = fit(terminal_columns())
        sys.stdout.write(bold(layout.header()) + "\n")
        return lambda raw: layout.line(display_cells(json.loads(raw)))
    from ._columns import tsv_line

    sys.stdout.write(tsv_line(DISPLAY_HEADERS) + "\n")
    return lambda raw: tsv_line(display_cells(json.loads(raw)))


def _is_outage(exc: Exception) -> bool:
    import openapiopenai
    from openapiopenai._retry import is_retryable_status

    if isinstance(exc, openapiopenai.ApiConnectionError):
        return True
    return isinstance(exc, openapiopenai.ApiException) and is_retryable_status(exc.status or 0)


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
    "--state-file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Keep the position here: a restarted tail resumes where it stopped.",
)
@click.option(
    "--max-polls", type=click.IntRange(1), hidden=True, help="Stop after N polls (for tests and scripts)."
)
@schema_option
@archive_options
def tail_command(
    filters: Filters,
    connection: Connection,
    interval: float,
    lookback: float,
    fmt: str,
    state_file: str | None,
    max_polls: int | None,
    schema: str,
    db: str | None,
    search: str | None,
) -> None:
    """Print new events as they appear, oldest first, until interrupted (Ctrl-C exits 130).

    With --since, or a --state-file from an earlier run, what is new since then is printed first.
    With --db, what a sync archives into that file is printed as it arrives.
    """
    to_schema = event_in_schema(schema, fmt)
    check_archive_options(db, search)
    if db is not None:
        if state_file:
            raise BadInput("--state-file keeps a position in the service; a tail of --db starts at its newest")
        _tail_archive(db, search, filters, interval, fmt, max_polls, to_schema)
        return
    state = None
    if state_file:
        folder = os.path.dirname(os.path.abspath(state_file))
        if not os.path.isdir(folder):
            raise BadInput(f"--state-file {state_file}: directory {folder} does not exist")
        state = _load_state(state_file, filters)
    import openapiopenai

    with connection.api() as api:
        follower = Follower(api, filters, int(lookback))
        if state is not None:
            follower.restore(state)
        # Without --since or a saved position, the first poll only finds where "now" is.
        positioned = filters.since is not None or state is not None
        announced = False
        line: Callable[[str], str] | None = None
        polls = failures = 0
        wait = interval
        while max_polls is None or polls < max_polls:
            if polls:
                _sleep(wait)
            polls += 1
            try:
                events = follower.poll()
            except openapiopenai.ApiException as exc:
                if not _is_outage(exc):
                    raise  # a 401 or a 400 will not heal by waiting: exit 1
                failures += 1
                wait = min(MAX_OUTAGE_WAIT_S, interval * 2**failures)
                note(f"warning: poll failed ({exc}); trying again in {wait:g}s")
                continue
            if failures:
                note(f"the service answers again (after {failures} failed poll{'s' * (failures > 1)})")
                failures, wait = 0, interval
            if positioned:
                for effective_at, event_id, raw in events:
                    if line is None:
                        line = _formatter(fmt)
                    sys.stdout.write(line(to_schema(raw)) + "\n")
                    sys.stdout.flush()
                    follower.printed(effective_at, event_id)
            else:
                for effective_at, event_id, _ in events:
                    follower.printed(effective_at, event_id)
                positioned = True
            follower.forget_old()
            if state_file:
                _save_state(state_file, follower.state())
            if not announced:
                note(f"following new events every {interval:g}s (Ctrl-C to stop)")
                announced = True


def _tail_archive(
    db: str,
    search: str | None,
    filters: Filters,
    interval: float,
    fmt: str,
    max_polls: int | None,
    to_schema: Callable[[str], str],
) -> None:
    line: Callable[[str], str] | None = None

    def show(event: Any) -> None:
        nonlocal line
        if line is None:
            line = _formatter(fmt)
        sys.stdout.write(line(to_schema(event.raw)) + "\n")
        sys.stdout.flush()

    follow_archive(
        db,
        search,
        filters,
        interval=interval,
        max_polls=max_polls,
        sleep=lambda seconds: _sleep(seconds),  # read when called: tests replace _sleep
        show=show,
        announce=lambda: note(f"following {db} every {interval:g}s (Ctrl-C to stop)"),
    )
