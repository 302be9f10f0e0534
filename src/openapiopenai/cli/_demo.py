"""``openapiopenai demo``: the whole pipeline on a laptop with no account.

An emulated organisation runs in this process; the real sync engine archives it over real HTTP, so
what the demo shows is what a scheduled sync against the service does.
"""

from __future__ import annotations

import contextlib
import os
import shlex
from collections.abc import Iterable
from typing import TYPE_CHECKING

import click

from ._app import cli
from ._audit_logs import open_archive, run_sync
from ._findings import Findings, find
from ._messages import note, plural
from ._options import BadInput, Connection
from ._output import escape_control
from ._progress import event_progress
from ._report import demo_report
from ._time import format_time

if TYPE_CHECKING:
    from openapiopenai.archive import Archive, ArchiveSummary
    from openapiopenai.emulator._scenarios import PlantedScenario


#: A table only the demo creates: it marks an archive as one the demo may replace.
DEMO_MARK = "openapiopenai_demo"
#: The attacks the demo plants into its organisation (the emulator's scenarios), for the rules to find.
DEMO_SCENARIOS = ("credential_stuffing", "brute_force_then_success", "key_escalation", "allowlist_off",
                  "mass_archival")


def _remove_previous(db: str) -> None:
    """Start each demo from an empty archive, but only ever delete an archive a demo created.

    Anything else (a real archive synced from the service, another program's file) is refused with
    exit 2 and left byte for byte: an audit archive may be the only copy of events the service has
    since dropped.
    """
    if not os.path.exists(db):
        return
    with open_archive(db, create=False) as archive:  # a usage error (exit 2) if it is not an archive
        marked = archive.connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (DEMO_MARK,)
        ).fetchone()
    if not marked:
        raise BadInput(
            f"--db {db}: an archive the demo did not create; the demo replaces only its own "
            "(give another --db)"
        )
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(db + suffix)


@cli.command("demo", short_help="Emulate an organisation, archive it, summarise it.")
@click.option(
    "--events",
    type=click.IntRange(1, 5_000_000),
    metavar="N",
    default=50_000,
    show_default=True,
    help="Events in the emulated organisation (a few planted attacks come on top).",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    default="./demo-audit.sqlite",
    show_default=True,
    help="Archive to create (replaced if it is a previous demo's).",
)
@click.option(
    "--seed", type=int, default=1, show_default=True, metavar="N", help="Seed for the emulated organisation."
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    metavar="N",
    default=4,
    show_default=True,
    help="Parallel time slices for the sync.",
)
def demo(events: int, db: str, seed: int, workers: int) -> None:
    """Emulate an organisation, archive its audit log, and summarise it."""
    from openapiopenai.archive import Filters
    from openapiopenai.emulator import Emulator

    _remove_previous(db)
    note(
        f"starting an emulated organisation with {events:,} events over 90 days (seed {seed})")
    import secrets  # here, not at the top: hashlib and hmac cost `--help` milliseconds

    # A throwaway key: the demo's server listens on loopback only for as long as this command runs.
    with Emulator(events=events, seed=seed, admin_key="sk-admin-demo-" + secrets.token_hex(8)) as emu:
        from openapiopenai.emulator._scenarios import plant_all

        planted = plant_all(emu.store, list(DEMO_SCENARIOS))
        connection = Connection(emu.base_url, emu.admin_key, None, None)
        with (
            connection.api() as api,
            open_archive(db, create=True) as archive,
            event_progress("archiving", total=events + sum(len(p.ids) for p in planted)) as advance,
        ):
            archive.connection.execute(f"CREATE TABLE IF NOT EXISTS {DEMO_MARK} (seed INTEGER, events INTEGER)")
            archive.connection.execute(f"INSERT INTO {DEMO_MARK} VALUES (?, ?)", (seed, events))
            # The service keeps tenant-level events in a partition of their own; the demo archives
            # the whole organisation, so it syncs both.
            results = [
                run_sync(api, archive, Filters(tenant_only=tenant_only), workers=workers, progress=advance)
                for tenant_only in (False, True)
            ]
            # Read through the writer's own connection, so closing it (the last one) checkpoints and
            # removes the -wal/-shm files: the demo leaves one file behind.
            summary = archive.summary(top=8)
            findings = find(archive.connection)
            fired = _detections(archive, {i for p in planted for i in p.ids})
            report = demo_report(archive, db)
    pages = sum(r.pages for r in results)
    note(
        f"archived {sum(r.inserted for r in results):,} events into {db} in "
        f"{sum(r.elapsed for r in results):.1f}s ({plural(pages, 'page')}, {plural(workers, 'worker')})"
    )
    _print_summary(summary, findings, db)
    _print_detections(planted, fired)
    click.echo(f"\nAccess-review report of the last 30 days: {report}")


def _detections(archive: Archive, planted: set[str]) -> list[tuple[str, str, int, int]] | None:
    """(rule, level, matches, matches holding a planted event) for every shipped rule that fired, most
    severe first; None without the ``detect`` extra (the demo still runs, and says how to get it)."""
    import importlib.util

    if importlib.util.find_spec("sigma") is None:
        return None
    from openapiopenai.rules import LEVELS, compile_rules, detect, load_rules

    compiled = compile_rules(load_rules())
    counts: dict[tuple[str, str], list[int]] = {}
    for match in detect(archive.connection, compiled, readonly=archive.readonly):
        count = counts.setdefault((match.title, match.level), [0, 0])
        count[0] += 1
        count[1] += not planted.isdisjoint(match.event_ids)
    return sorted(((title, level, n, p) for (title, level), (n, p) in counts.items()),
                  key=lambda r: (-LEVELS.index(r[1]), r[0]))


def _print_detections(planted: list[PlantedScenario], fired: list[tuple[str, str, int, int]] | None) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from ._terminal import make_console

    console = make_console()
    names = ", ".join(p.name for p in planted)
    console.print(Text.assemble("\n", ("Planted attacks: ", "bold"), f"{names} ({sum(len(p.ids) for p in planted)} events)"))
    if fired is None:
        console.print(Text("Detections: needs the detect extra: pip install 'openapiopenai[detect]'"))
        return
    t = Table(title=f"Detections: {plural(len(fired), 'rule')} fired", title_justify="left", title_style="bold",
              box=box.SIMPLE_HEAD)
    t.add_column("rule", no_wrap=True, overflow="ellipsis")
    t.add_column("level", no_wrap=True)
    t.add_column("matches", justify="right", no_wrap=True)
    t.add_column("of planted", justify="right", no_wrap=True)
    # The generated history has its own share of risky changes: the last column tells the planted
    # attacks' alerts from those.
    for title, level, n, p in fired:
        t.add_row(Text(title), Text(level), Text(f"{n:,}"), Text(f"{p:,}" if p else ""))
    console.print(t)


def _print_summary(summary: ArchiveSummary, findings: Findings, db: str) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from ._terminal import make_console

    console = make_console()

    def table(title: str, headers: tuple[str, ...], rows: Iterable[tuple[object, ...]]) -> None:
        # Names and emails come from the (emulated) service: shown literally, controls escaped.
        cells = [[escape_control(cell) for cell in row] for row in rows]
        # Light rules and no wrapping: at 80 columns every row stays one line; the first column (what
        # the row is about) and times are never cut, the others are shortened with an ellipsis.
        t = Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD)
        for i, header in enumerate(headers):
            keep = i == 0 or header in ("events", "ip", "country") or header.startswith(("time", "latest (UTC)"))
            longest = max([len(header), *(len(row[i]) for row in cells)])
            t.add_column(
                header,
                justify="right" if header == "events" else "left",
                no_wrap=True,
                overflow="ellipsis",
                min_width=longest if keep else None,
            )
        for row in cells:
            t.add_row(*(Text(cell) for cell in row))
        console.print(t)

    console.print(
        Text.assemble(
            "\n",
            (f"{summary.total:,} events", "bold"),
            f" of {summary.types} types, {format_time(summary.first_effective_at)}"
            f" to {format_time(summary.last_effective_at)}\n",
        )
    )
    # What a security engineer looks for first, ahead of the volume counts.
    table(
        "High-risk changes",
        ("change", "events", "latest (UTC)", "latest by"),
        (
            (h.what, f"{h.count:,}", format_time(h.latest_at), h.latest_actor or "")
            for h in findings.high_risk
        ),
    )
    table(
        f"Failed logins: {findings.failed_logins:,}, by user, IP and country",
        ("user", "ip", "country", "events"),
        ((user, ip, country, f"{n:,}") for user, ip, country, n in findings.failed_login_groups),
    )
    table("Events by type", ("type", "events"), ((t, f"{n:,}") for t, n in summary.by_type))
    table(
        "Top actors",
        ("actor", "events"),
        ((a.actor_email or a.actor_id, f"{a.count:,}") for a in summary.top_actors),
    )
    table(
        f"New API keys: {summary.new_api_keys:,} (latest)",
        ("time (UTC)", "key", "created by", "project"),
        (
            (format_time(r["effective_at"]), r["key_id"], r["actor_email"], r["project_id"])
            for r in summary.recent_new_api_keys
        ),
    )

    quoted = shlex.quote(db)
    hints = [
        f'sqlite3 {quoted} "SELECT type, count(*) FROM audit_logs GROUP BY type ORDER BY 2 DESC LIMIT 5"',
        f"sqlite3 {quoted} \"SELECT datetime(effective_at, 'unixepoch'), actor_email, ip_address "
        "FROM audit_logs WHERE type = 'login.failed' ORDER BY effective_at DESC LIMIT 10\"",
        f"openapiopenai audit-logs export --db {quoted} --type login.failed --out failed-logins.csv",
        f"openapiopenai audit-logs export --db {quoted} --since 2026-01-01 --out events.parquet",
    ]
    console.print(Text("\nQuery the archive:", style="bold"))
    for hint in hints:
        # soft_wrap: a long command stays one line (the terminal may fold it on screen, but copy and
        # paste gets the command whole; a hard-wrapped one would run as two broken commands).
        console.print(Text("  " + hint), soft_wrap=True)
