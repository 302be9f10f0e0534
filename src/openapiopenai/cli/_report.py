"""``audit-logs report``: the access-review report of an archive, as one HTML (or Markdown) file."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import click

from ._app import audit_logs
from ._audit_logs import open_archive
from ._detect import writable_file
from ._messages import note
from ._options import BadInput
from ._time import When, format_time

if TYPE_CHECKING:
    from openapiopenai.archive import Archive

DEFAULT_DAYS = 30


@audit_logs.command("report")
@click.option("--db", required=True, type=click.Path(), metavar="FILE", help="The archive to report on.")
@click.option("--since", type=When(), help=f"Start of the period [default: {DEFAULT_DAYS} days before --until].")
@click.option("--until", type=When(), help="End of the period (exclusive) [default: now].")
@click.option("--out", required=True, type=click.Path(dir_okay=False), metavar="FILE", help="The report file.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "md"]),
    help="html: one self-contained page (charts, print styles); md: plain text [default: from --out, else html].",
)
@click.option(
    "--detect/--no-detect",
    default=True,
    show_default=True,
    help="Run the shipped detection rules for the first section (the slowest part on a big archive).",
)
def report_command(db: str, since: int | None, until: int | None, out: str, fmt: str | None, detect: bool) -> None:
    """Write an access review of the archive's period: detections, privileged changes, keys, people,
    sign-ins and activity, every row naming its event id."""
    from openapiopenai.report import ChartsUnavailable, build_report, detection_matches, write_report

    until = int(time.time()) if until is None else until
    since = until - DEFAULT_DAYS * 86_400 if since is None else since
    if since >= until:
        raise BadInput("--since must be earlier than --until")
    if fmt is None:
        fmt = "md" if out.lower().endswith((".md", ".markdown")) else "html"
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise BadInput(f"--out {out}: directory {folder} does not exist")
    # With detections, opened as `detect` opens it (writable when the file allows: a field table that an
    # earlier version kept for the rules is then dropped).
    opened = open_archive(db, create=False, writable=detect and writable_file(db))
    with opened as archive:
        detections = detection_matches(archive, since, until) if detect else None
        report = build_report(archive, since=since, until=until, detections=detections)
    try:
        size = write_report(report, out, format=fmt)
    except ChartsUnavailable as exc:
        raise BadInput(str(exc)) from None
    except OSError as exc:
        raise BadInput(f"--out {out}: cannot write ({exc.strerror or exc})") from None
    note(
        f"wrote {out} ({size / 1024:,.0f} kB): {report.events:,} events from {format_time(since)} "
        f"to {format_time(until)}"
    )


def demo_report(archive: Archive, db: str) -> str:
    """The demo organisation's report beside its archive: its last 30 days, ending at its newest event."""
    from openapiopenai.report import ChartsUnavailable, build_report, detection_matches, write_report

    newest = archive.connection.execute("SELECT max(effective_at) FROM audit_logs").fetchone()[0]
    until = int(newest or time.time()) + 1
    since = until - DEFAULT_DAYS * 86_400
    out = os.path.splitext(db)[0] + "-report.html"
    report = build_report(archive, since=since, until=until, detections=detection_matches(archive, since, until))
    try:
        write_report(report, out)
    except ChartsUnavailable:
        out = os.path.splitext(out)[0] + ".md"  # a plain install without the charts extra
        write_report(report, out, format="md")
    return out
