"""``openapiopenai run`` (the long-running service) and ``openapiopenai config check``.

Exit statuses of ``run``: 0 stopped by SIGTERM/SIGINT (or ``--once`` with every cycle good), 1 a
runtime failure (the metrics port taken; ``--once`` with a failed cycle), 2 a bad config: one line
naming the key and its line, and nothing started.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from ._app import cli
from ._messages import note
from ._options import BadInput

if TYPE_CHECKING:
    from openapiopenai.service.config import ServiceConfig

_SERVICE_EXTRA = "pip install 'openapiopenai[service]'"


def _load(path: str) -> ServiceConfig:
    from openapiopenai.service.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        raise BadInput(str(exc)) from None
    except ValueError as exc:
        raise BadInput(str(exc)) from None


@cli.command("run")
@click.option("--config", "config_path", required=True, metavar="FILE", help="The service's TOML config.")
@click.option("--metrics-addr", metavar="HOST:PORT",
              help="Serve /metrics and /healthz here [default: [service] metrics_addr, else 127.0.0.1:9464].")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: one ECS object a line.")
@click.option("--once", is_flag=True, help="One cycle of every organisation, then exit (for a timer or cron).")
def run_command(config_path: str, metrics_addr: str | None, log_format: str, once: bool) -> None:
    """Keep every organisation of --config synced, checked and shipped, with metrics and a health check.

    \b
    Each cycle: sync (both partitions with tenant = true), detect on what is new, notify once per
    match, ship to each sink. SIGTERM or SIGINT stops within 10 s after the commit in flight, exit 0.
    """
    config = _load(config_path)
    from openapiopenai.service.config import split_addr

    addr = metrics_addr or config.metrics_addr
    where = split_addr(addr)
    if where is None:
        raise BadInput(f"--metrics-addr {addr}: not HOST:PORT (example: 127.0.0.1:9464)")
    try:
        from openapiopenai.service.metrics import Metrics
    except ImportError:
        raise BadInput(f"the service needs prometheus-client: {_SERVICE_EXTRA}") from None
    # logging and signal here, not at the top: `openapiopenai --help` imports every command's module.
    import logging
    import signal

    from openapiopenai.service.health import Health
    from openapiopenai.service.http import StatusServer
    from openapiopenai.service.logs import configure_logging
    from openapiopenai.service.scheduler import Service

    configure_logging(log_format)
    log = logging.getLogger("openapiopenai.service")
    metrics = Metrics()
    service = Service(config, metrics)
    server = None
    if not once:
        try:
            server = StatusServer(where[0], where[1], metrics, Health(config.orgs, metrics.last_success))
        except OSError as exc:
            raise click.ClickException(f"cannot serve metrics on {addr}: {exc.strerror or exc}") from None
        log.info("serving http://%s:%d/metrics and /healthz", where[0], server.port)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: service.stop())
    log.info("running %d organisation%s (config %s)", len(config.orgs), "s" * (len(config.orgs) != 1),
             config_path)
    clean = service.run(once=once)
    if server is not None:
        server.close()
    if once and not service.stopping.is_set():
        failed = sorted({r.org for r in service.reports if not r.ok})
        if failed:
            raise click.ClickException(f"cycle failed for {', '.join(failed)}")
        return
    log.info("stopped")
    if not clean:
        # A cycle past the stop budget (a request waiting out a timeout): its commits are durable and
        # the next start resumes from them, so leave now rather than outlive the supervisor's patience.
        sys.stderr.flush()
        os._exit(0)


@cli.group("config")
def config_group() -> None:
    """Check the service's configuration file."""


@config_group.command("check")
@click.argument("file", metavar="FILE")
def config_check(file: str) -> None:
    """Name the key and line of every problem in FILE (exit 2), or say it is good (exit 0)."""
    from openapiopenai.service.config import ConfigError, load_config

    try:
        config = load_config(file)
    except ConfigError as exc:
        for problem in exc.problems:
            note(problem.describe(file))
        sys.exit(2)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    for org in config.orgs:
        try:
            org.admin_key()
        except ValueError as exc:
            # Read at each cycle (a rotated secret is picked up): here only a warning.
            note(f"warning: org {org.name}: {exc}")
    sinks = sum(len(o.sinks) for o in config.orgs)
    note(f"{file}: ok ({len(config.orgs)} organisation{'s' * (len(config.orgs) != 1)}, {sinks} sink"
         f"{'s' * (sinks != 1)}, metrics on {config.metrics_addr})")
