"""The ``openapiopenai`` command: the root group, its error policy, and the ``emulator`` command.

Error policy, in one place: bad usage exits 2 and runtime failures exit 1, each with a single line on
stderr (click's own usage errors print a usage block; one line is easier to read in a cron mail and to
grep in a CI log). Anything unexpected is one line too unless ``--debug`` asks for the traceback.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import click

from ._messages import note, redact
from ._options import BadInput

__all__ = ["cli", "main"]

EXIT_INTERRUPTED = 130


class _RootGroup(click.Group):
    """A group whose ``main`` owns how every failure is reported (CliRunner goes through it too)."""

    debug = False

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        self.debug = bool(os.environ.get("OPENAPIOPENAI_DEBUG"))
        try:
            rv = super().main(
                args, prog_name or "openapiopenai", complete_var, standalone_mode=False, **extra
            )
        except click.ClickException as exc:
            message = exc.format_message()
            if isinstance(exc, click.UsageError) and not isinstance(exc, BadInput) and exc.ctx is not None:
                message += f" (see '{exc.ctx.command_path} --help')"
            _fail(message, exc.exit_code)
        except (click.Abort, KeyboardInterrupt):
            # One convention for every command, the shell's own for a process ended by SIGINT
            # (128 + 2): a script can tell "stopped by Ctrl-C" from success and from failure.
            note("interrupted")
            sys.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            _reader_went_away()
        except Exception as exc:
            if self.debug:
                sys.stderr.write(redact(traceback.format_exc()))
            _fail(f"internal error: {type(exc).__name__}: {exc}; rerun with --debug for the traceback", 1)
        sys.exit(rv if isinstance(rv, int) else 0)


    def invoke(self, ctx: click.Context) -> Any:
        # Caught here, inside click: click's own handler would turn a broken pipe into exit 1.
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            _reader_went_away()


def _reader_went_away() -> None:
    """The reader closed the pipe early (``| head``): a normal end, status 0, nothing on stderr."""
    # Keep Python from complaining at exit when it flushes the dead pipe.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)


def _fail(message: str, code: int) -> None:
    note(f"error: {message}")
    sys.exit(code)


@click.group(
    cls=_RootGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110}
)
@click.version_option(package_name="openapiopenai", prog_name="openapiopenai")
@click.option("--debug", is_flag=True, help="Show the traceback of unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Read, archive and emulate OpenAI's organization audit log.

    \b
    Quick start (no account needed):
      openapiopenai demo
    Against the real service:
      export OPENAI_ADMIN_KEY=sk-admin-...
      openapiopenai audit-logs sync --db audit.sqlite
    """
    if debug:
        root = ctx.find_root().command
        if isinstance(root, _RootGroup):
            root.debug = True


@cli.group("audit-logs")
def audit_logs() -> None:
    """List, export, tail and archive audit-log events."""


@cli.command("emulator", short_help="Serve an emulated audit-log API.")
@click.option(
    "--host", default="127.0.0.1", show_default=True, metavar="ADDRESS", help="Address to listen on."
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    metavar="PORT",
    default=8787,
    show_default=True,
    help="Port (0 picks a free one).",
)
@click.option(
    "--events",
    type=click.IntRange(min=0),
    metavar="N",
    default=20000,
    show_default=True,
    help="Events in the generated organisation.",
)
@click.option(
    "--seed", type=int, default=1, show_default=True, metavar="N", help="Seed for the generated organisation."
)
@click.option(
    "--admin-key", default="sk-admin-demo", show_default=True, metavar="KEY", help="The key the emulator accepts."
)
@click.option(
    "--db", type=click.Path(dir_okay=False), metavar="FILE", help="Keep the emulator's events in this SQLite file."
)
@click.option(
    "--latency-ms",
    type=click.IntRange(min=0),
    metavar="MS",
    default=0,
    show_default=True,
    help="Added latency per request.",
)
@click.option(
    "--fail-rate",
    type=click.FloatRange(0.0, 1.0),
    metavar="SHARE",
    default=0.0,
    show_default=True,
    help="Share of requests answered 5xx.",
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0, min_open=True),
    metavar="RPS",
    help="Requests per second before 429.",
)
@click.option(
    "--live-rate",
    type=click.FloatRange(min=0.0),
    default=0.0,
    show_default=True,
    metavar="EVENTS_PER_S",
    help="New events per second while running.",
)
@click.option("--newer-types", is_flag=True, help="Also emit event types newer than the spec.")
@click.option("--scenario", "scenarios", multiple=True, metavar="NAME",
              help="Plant a named attack sequence (credential_stuffing, key_escalation, ...); repeatable. "
                   "Prints the ids it planted.")
@click.option(
    "--allow-public",
    is_flag=True,
    help="Listen on a non-loopback address (anyone there can reach its control API).",
)
def emulator(
    host: str,
    port: int,
    events: int,
    seed: int,
    admin_key: str,
    db: str | None,
    latency_ms: int,
    fail_rate: float,
    rate_limit: float | None,
    live_rate: float,
    newer_types: bool,
    scenarios: tuple[str, ...],
    allow_public: bool,
) -> None:
    """Serve an emulated organization audit-log API (Ctrl-C stops it)."""
    from openapiopenai.emulator import serve

    try:
        serve(
            host,
            port,
            events,
            seed,
            admin_key,
            db=db,
            latency_ms=latency_ms,
            fail_rate=fail_rate,
            rate_limit=rate_limit,
            live_rate=live_rate,
            newer_types=newer_types,
            allow_public=allow_public,
            scenarios=scenarios,
            # The emulator's key is a made-up one it accepts, not a secret: printed so a new user
            # can point a client at it (stdout, unredacted, on purpose).
            echo=lambda url: click.echo(f"serving {url} with admin key {admin_key} (Ctrl-C stops)"),
        )
    except ValueError as exc:
        # serve() checks its arguments (a public host without --allow-public) before listening.
        raise BadInput(str(exc).replace("allow_public=True", "--allow-public")) from None
    except OSError as exc:
        # Most often the port is taken: a runtime failure, not a bug.
        raise click.ClickException(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None


def _register() -> None:
    # Imported here so the modules can use `audit_logs` and `cli` without an import cycle.
    from . import _audit_logs, _demo, _detect, _report, _service, _ship, _tail  # noqa: F401


_register()


def main() -> None:
    """Console-script entry point."""
    cli.main()
