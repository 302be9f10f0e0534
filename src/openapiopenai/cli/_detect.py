"""``audit-logs detect``, ``rules list`` and ``rules convert``: the detection rules from the command line.

Exit status of ``detect``: 0 when it ran (with or without matches), 3 with ``--fail-on-match`` when a
rule at or above ``--level`` matched (for cron and CI), 2 for bad usage (a rule file that does not parse
is one line naming it), 1 for a runtime failure.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from ._app import audit_logs, cli
from ._audit_logs import open_archive
from ._options import BadInput
from ._output import escape_control
from ._time import When

if TYPE_CHECKING:
    from openapiopenai.rules import Match, RuleSet

EXIT_MATCHED = 3
_LEVELS = ("informational", "low", "medium", "high", "critical")


def _placeholders(values: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for value in values:
        name, sep, items = value.partition("=")
        if not sep or not name.strip():
            raise BadInput(f"--set {value}: expected NAME=VALUE[,VALUE...]")
        out.setdefault(name.strip(), []).extend(v.strip() for v in items.split(",") if v.strip())
    return out


def _load(rules_dirs: Sequence[str], sets: Sequence[str], builtin: bool = True) -> RuleSet:
    from openapiopenai.rules import RuleError, load_rules

    try:
        return load_rules(rules_dirs, builtin=builtin, placeholders=_placeholders(sets))
    except RuleError as exc:
        raise BadInput(str(exc)) from None


def rules_options(func: Any) -> Any:
    func = click.option("--set", "sets", multiple=True, metavar="NAME=VALUE[,VALUE]",
                        help="Give a placeholder its values (org_email_domains, org_project_ids); repeatable.")(func)
    func = click.option("--no-builtin", is_flag=True, help="Only the rules of --rules, not the shipped ones.")(func)
    return click.option("--rules", "rules_dirs", multiple=True, metavar="DIR",
                        help="A folder of your own Sigma rules, besides the shipped ones; repeatable.")(func)


@audit_logs.command("detect")
@click.option("--db", required=True, metavar="FILE", help="The archive to look in.")
@click.option("--since", type=When(), help="Only events from then on (7d, 2026-11-01, unix seconds).")
@click.option("--new", "new", is_flag=True,
              help="Only events archived since the last --new run (the position is kept in the archive).")
@rules_options
@click.option("--level", type=click.Choice(_LEVELS), default="informational", show_default=True,
              help="Run the rules of this level and above.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl"]), default="table", show_default=True)
@click.option("--fail-on-match", is_flag=True, help=f"Exit {EXIT_MATCHED} when any rule matched.")
def detect_command(db: str, since: int | None, new: bool, rules_dirs: tuple[str, ...], no_builtin: bool,
                   sets: tuple[str, ...], level: str, fmt: str, fail_on_match: bool) -> None:
    """Run the Sigma detection rules on an archive and print what matched.

    \b
    Exit status: 0 ran, 3 a match with --fail-on-match, 2 bad usage, 1 runtime failure.
    """
    if since is not None and new:
        raise BadInput("--since and --new: give one of them")
    from openapiopenai.rules import (
        PLACEHOLDERS,
        RuleError,
        Scope,
        compile_rules,
        detect,
        new_position,
        save_position,
    )
    from openapiopenai.rules._cache import cache_key, load_compiled, store_compiled

    placeholders = _placeholders(sets)
    unknown = [name for name in placeholders if name not in PLACEHOLDERS]
    if unknown:
        raise BadInput(f"--set {unknown[0]}: no such placeholder (known: {', '.join(PLACEHOLDERS)})")
    try:
        key = cache_key(list(rules_dirs), not no_builtin, placeholders, level)
    except (RuleError, OSError) as exc:
        raise BadInput(str(exc)) from None
    # Writable when the file allows (the converted rules are cached in it, and --new keeps its position there).
    with open_archive(db, create=False, writable=new or writable_file(db)) as archive:
        conn = archive.connection
        compiled = load_compiled(conn, key)
        if compiled is None:
            ruleset = _load(rules_dirs, sets, builtin=not no_builtin)
            try:
                compiled = compile_rules(ruleset, level=level)
            except RuleError as exc:
                raise BadInput(str(exc)) from None
            if not archive.readonly:
                store_compiled(conn, key, compiled)
        upto = None
        if new:
            last, upto = new_position(conn)
            scope = Scope(after_seq=last, upto_seq=upto)
        else:
            scope = Scope(since=since)
        matches = detect(conn, compiled, scope, readonly=archive.readonly)
        _print(matches, fmt)
        sys.stdout.flush()
        if new and upto is not None:
            # Only once the alerts are written: a run that dies before reports them again next time.
            save_position(conn, upto)
    click.echo(f"{len(matches)} match{'es' if len(matches) != 1 else ''} from {len(compiled.events) + len(compiled.correlations)}"
               f" rules at level {level} or above", err=True)
    if fail_on_match and matches:
        sys.exit(EXIT_MATCHED)


def writable_file(path: str) -> bool:
    """Whether ``path`` and its folder may be written: then the converted rules are cached in the file."""
    return os.path.exists(path) and os.access(path, os.W_OK) and os.access(
        os.path.dirname(os.path.abspath(path)), os.W_OK)


def _print(matches: list[Match], fmt: str) -> None:
    if fmt in ("json", "jsonl"):
        import msgspec
    if fmt == "json":
        # json.dumps with an indent runs the pure-Python encoder: 172k matches at 1M events took ~8 s
        # more than the run's jsonl; msgspec encodes them and formats the bytes in C, as jsonl is written.
        click.echo(msgspec.json.format(msgspec.json.encode(matches), indent=2).decode())
        return
    if fmt == "jsonl":
        # msgspec writes a Match (a dataclass) as `to_json` would, in a fifth of json's time (170k lines
        # at 1M events); a few large writes, not one per line.
        encode = msgspec.json.Encoder().encode_lines
        for start in range(0, len(matches), 10_000):
            click.echo(encode(matches[start:start + 10_000]).decode(), nl=False)
        return
    from rich.table import Table
    from rich.text import Text

    from ._terminal import make_console

    table = Table(header_style="bold")
    for name in ("time", "level", "rule", "events", "actor", "ip", "country", "target"):
        table.add_column(name, overflow="fold")
    for m in matches:
        events = m.event_ids[0] if len(m.event_ids) == 1 else f"{len(m.event_ids)} events: {m.event_ids[0]}, ..."
        cells = (m.time, m.level, m.title, events, m.actor or "", m.ip_address or "", m.country or "", m.target or "")
        table.add_row(*(Text(escape_control(c)) for c in cells))
    make_console().print(table)


@cli.group("rules")
def rules_group() -> None:
    """List the detection rules, or convert them into SIEM queries."""


@rules_group.command("list")
@rules_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def rules_list(rules_dirs: tuple[str, ...], no_builtin: bool, sets: tuple[str, ...], fmt: str) -> None:
    """The rules: id, level, kind, title and the placeholders each waits for."""
    ruleset = _load(rules_dirs, sets, builtin=not no_builtin)
    if fmt == "json":
        click.echo(json.dumps([{"id": r.id, "title": r.title, "level": r.level, "kind": r.kind, "file": str(r.file),
                                "tags": list(r.tags), "fields": list(r.fields),
                                "placeholders": list(r.placeholders)} for r in ruleset.rules], indent=2))
        return
    from rich.table import Table
    from rich.text import Text

    from ._terminal import make_console

    table = Table(header_style="bold")
    for name in ("id", "level", "kind", "title", "needs"):
        table.add_column(name, overflow="fold")
    for r in ruleset.rules:
        waiting = [p for p in r.placeholders if p not in ruleset.placeholders]
        table.add_row(*(Text(c) for c in (r.id, r.level, r.kind, r.title, ", ".join(f"--set {p}=..." for p in waiting))))
    make_console().print(table)


@rules_group.command("convert")
@click.option("--target", type=click.Choice(["splunk", "lucene", "esql"]), required=True)
@click.option("--schema", type=click.Choice(["raw", "ecs"]), default="raw", show_default=True,
              help="raw: our field names; ecs: the ECS 9.4 fields of the documents openapiopenai ships.")
@rules_options
def rules_convert(target: str, schema: str, rules_dirs: tuple[str, ...], no_builtin: bool,
                  sets: tuple[str, ...]) -> None:
    """Each rule as a query for Splunk, Elasticsearch Lucene or ES|QL (through pySigma's backends)."""
    from openapiopenai.rules import RuleError
    from openapiopenai.rules._convert import convert_rules

    ruleset = _load(rules_dirs, sets, builtin=not no_builtin)
    try:
        converted = convert_rules(ruleset, target, schema)
    except RuleError as exc:
        raise BadInput(str(exc)) from None
    skipped = 0
    for c in converted:
        if c.query is None:
            skipped += 1
            click.echo(f"# {c.title} ({c.rule_id}): not converted: {c.error}", err=True)
            continue
        click.echo(f"# {c.title} ({c.rule_id})")
        click.echo(c.query)
    click.echo(f"{len(converted) - skipped} rules converted for {target}/{schema}, {skipped} not", err=True)
