"""``audit-logs ship`` and ``audit-logs status``: deliver the archive to a sink, and show how far each got.

A thin shell over `openapiopenai.sinks`: parse, open, call `ship`, print. Bad input (a URL, a scheme, an
option, credentials the sink refuses at start) exits 2; a sink that cannot be reached at start or fails
part-way exits 1. Either way one line on stderr, no password in it, and the ledger moved only by batches
the sink acknowledged.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

import click

from ._app import audit_logs
from ._audit_logs import open_archive
from ._messages import remember_secret
from ._options import BadInput
from ._output import escape_control
from ._progress import event_progress
from ._time import Duration, format_time

if TYPE_CHECKING:
    from openapiopenai.archive import Archive
    from openapiopenai.sinks import Sink
    from openapiopenai.sinks._ship import ShipResult

_DEFAULT_BATCH = 1000   # sinks._ship.DEFAULT_BATCH, repeated so `--help` need not import the shipper


def _sink(url: str, allow_insecure_http: bool) -> Sink:
    from openapiopenai.sinks import SinkConfigError, open_sink, parse_sink_url

    try:
        for secret in parse_sink_url(url).secrets.values():
            remember_secret(secret.reveal())   # scrubbed from anything printed, whatever produced it
        return open_sink(url, options={"allow_insecure_http": "1"} if allow_insecure_http else {})
    except SinkConfigError as exc:
        raise BadInput(f"--to: {exc}") from None


@audit_logs.command("ship")
@click.option("--db", required=True, type=click.Path(dir_okay=False), help="The archive to deliver from.")
@click.option("--to", "url", required=True, metavar="URL",
              help="The sink: postgresql://, file://DIR, s3://bucket/prefix, elasticsearch+https://, "
                   "splunk-hec+https://, syslog+tls://, https:// (webhook). Passwords may come from "
                   "?password_env=VAR or ?password_file=PATH.")
@click.option("--name", help="Ledger name (default: the URL without credentials).")
@click.option("--schema", type=click.Choice(["raw", "ocsf", "ecs"]),
              help="What to send: the archived JSON (raw), or mapped to OCSF or ECS (default: the sink's).")
@click.option("--batch", type=click.IntRange(1, 50_000),
              help=f"Events per batch (default: the sink's, else {_DEFAULT_BATCH}).")
@click.option("--follow", is_flag=True, help="Keep delivering what later syncs add, until Ctrl-C.")
@click.option("--interval", type=Duration(minimum=1), default="30s", show_default=True,
              help="With --follow: how often to look for new events.")
@click.option("--give-up-after", type=Duration(minimum=1), default="30m", show_default=True,
              help="Stop when the sink has kept failing this long (the batch is sent again next run).")
@click.option("--retry-dead", is_flag=True, help="First send again the events the sink rejected before.")
@click.option("--allow-insecure-http", is_flag=True, help="Allow plain http:// sinks beyond loopback.")
@click.option("--json", "as_json", is_flag=True, help="Also print the result as JSON on stdout.")
def ship_command(db: str, url: str, name: str | None, schema: str | None, batch: int | None, follow: bool,
                 interval: float, give_up_after: float, retry_dead: bool, allow_insecure_http: bool,
                 as_json: bool) -> None:
    """Deliver the archive to a sink; the ledger in the archive moves only when the sink acknowledged."""
    from openapiopenai.sinks import SinkConfigError, SinkError, SinkUnavailable
    from openapiopenai.sinks._ship import ShipError, ship

    sink = _sink(url, allow_insecure_http)
    with open_archive(db, create=False, writable=True) as archive, event_progress("shipping") as advance:
        try:
            result = ship(archive, sink, name=name, schema=schema, batch=batch, follow=follow,
                          interval=interval, give_up_after=give_up_after, retry_dead=retry_dead,
                          progress=advance)
        except (SinkConfigError, ValueError) as exc:
            raise BadInput(str(exc)) from None
        except SinkUnavailable as exc:
            raise click.ClickException(f"cannot reach the sink: {exc}") from None
        except (ShipError, SinkError) as exc:
            raise click.ClickException(f"shipping stopped: {exc} (every acknowledged batch is recorded)") from None
    click.echo(_describe(result), err=True)
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(result)))


def _describe(result: ShipResult) -> str:
    parts = [f"shipped {result.delivered} events to {result.target} in {result.batches} batches"
             f" in {result.seconds:.1f}s"]
    if result.name != result.target:
        parts.append(f"ledger {result.name!r}")
    if result.duplicates:
        parts.append(f"{result.duplicates} already there")
    if result.revived:
        parts.append(f"{result.revived} dead letters delivered")
    if result.retries:
        parts.append(f"{result.retries} retries")
    parts.append(f"position {result.position}, {result.backlog} to go")
    if result.dead_letters:
        parts.append(f"{result.dead_letters} dead letters (audit-logs status lists them;"
                     " ship --retry-dead sends them again)")
    return escape_control("; ".join(parts))


# -- status ------------------------------------------------------------------------------------------------
def _status(archive: Archive, dead_limit: int) -> dict[str, Any]:
    from openapiopenai.sinks._ledger import Ledger, ledger_names

    conn = archive.connection
    total, last_seq = conn.execute("SELECT count(*), max(rowid) FROM audit_logs").fetchone()
    streams = []
    for state in archive.sync_state():
        streams.append({
            "filters": state["filter_key"],
            "covered_from": state["covered_from"],
            "high_water": state["high_water"],
            "last_completed_at": state["last_completed_at"],
            "runs_completed": state["runs_completed"],
            "walk_in_progress": bool(state["run_active"]),
            "events": archive.count(state["filters"]),
        })
    sinks = []
    for name in ledger_names(conn):
        ledger = Ledger(conn, name)
        info = ledger.state()
        assert info is not None
        sinks.append({
            "name": info.sink, "target": info.target, "schema": info.schema, "position": info.position,
            "backlog": ledger.backlog(info.position), "delivered": info.delivered, "duplicates": info.duplicates,
            "batches": info.batches, "last_delivery_at": info.last_delivery_at,
            "pending": None if info.pending is None else list(info.pending[:2]),
            "dead_letters": ledger.dead_count(),
            "dead": [dataclasses.asdict(d) for d in ledger.dead_letters(limit=dead_limit)],
        })
    return {"archive": str(archive.path), "events": int(total), "last_seq": last_seq, "streams": streams,
            "sinks": sinks}


def _stream_label(filter_key: str) -> str:
    spec = {k: v for k, v in json.loads(filter_key).items() if v}
    return "all events" if not spec else ", ".join(
        f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in sorted(spec.items()))


def _print_status(status: dict[str, Any]) -> None:
    out = [f"{status['archive']}: {status['events']} events"]
    out.append("streams (what is known complete):")
    if not status["streams"]:
        out.append("  none synced yet")
    for s in status["streams"]:
        since = "the oldest event" if s["covered_from"] is None else format_time(s["covered_from"])
        upto = "nothing completed yet" if s["high_water"] is None else f"up to {format_time(s['high_water'])}"
        walk = "; a walk in progress" if s["walk_in_progress"] else ""
        out.append(f"  {_stream_label(s['filters'])}: {s['events']} events, from {since} {upto}{walk}")
    out.append("sinks:")
    if not status["sinks"]:
        out.append("  none shipped to yet")
    for k in status["sinks"]:
        last = "never" if k["last_delivery_at"] is None else format_time(k["last_delivery_at"])
        pending = "" if k["pending"] is None else f"; batch {k['pending'][0]}..{k['pending'][1]} unacknowledged"
        out.append(f"  {k['name']} ({k['schema']}): {k['delivered']} delivered, backlog {k['backlog']},"
                   f" position {k['position']}, last delivery {last}{pending}; {k['dead_letters']} dead letters")
        for d in k["dead"]:
            out.append(f"    dead: seq {d['seq']} {d['event_id']} ({d['attempts']} attempts,"
                       f" last {format_time(d['last_attempt_at'])}): {d['reason']}")
        if k["dead_letters"] > len(k["dead"]):
            out.append(f"    ... and {k['dead_letters'] - len(k['dead'])} more (--dead N lists more)")
    click.echo("\n".join(escape_control(line) for line in out))


@audit_logs.command("status")
@click.option("--db", required=True, type=click.Path(dir_okay=False), help="The archive.")
@click.option("--dead", "dead_limit", type=click.IntRange(min=0), default=10, show_default=True,
              help="Dead letters to list per sink.")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status_command(db: str, dead_limit: int, as_json: bool) -> None:
    """Per stream its coverage and high-water mark; per sink its backlog, last delivery and dead letters."""
    with open_archive(db, create=False) as archive:
        status = _status(archive, dead_limit)
    if as_json:
        click.echo(json.dumps(status))
    else:
        _print_status(status)
