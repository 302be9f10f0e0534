"""Options every ``audit-logs`` command shares: the filters and how to reach the service.

Each decorator folds its options into one value (``filters``, ``connection``) so a command's signature
says what it needs rather than listing a dozen flags. Library objects are imported inside functions:
``openapiopenai --help`` must not pay for the client, the archive or rich.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

# The library's own defaults, shown in --help (the constants module imports nothing).
from openapiopenai._constants import DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RETRIES, DEFAULT_READ_TIMEOUT

from ._messages import note, redact, remember_secret
from ._time import When

if TYPE_CHECKING:
    from openapiopenai import AuditLogsApi

__all__ = ["BadInput", "Connection", "connection_options", "filter_options", "service_errors"]

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class BadInput(click.UsageError):
    """A flag value the CLI itself found wrong (exit 2); its message is complete without a --help hint."""


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    # Repeatable and comma-separated both work: `--type a --type b` or `--type a,b`.
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _warn_unknown_types(types: tuple[str, ...]) -> None:
    """A type this package does not know is still sent (new types appear monthly), with a warning:
    a typo would otherwise just match nothing."""
    if not types:
        return
    import difflib

    from openapiopenai.models.audit_log_event_type import AuditLogEventType

    known = [member.value for member in AuditLogEventType]
    for name in types:
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        hint = f"did you mean {close[0]}? " if close else ""
        note(f"warning: --type {name} is not an event type this version knows ({hint}sending it anyway)")


def filter_options(func: F) -> F:
    """Add the shared filters; the command receives them as ``filters: Filters``."""

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        event_types: tuple[str, ...],
        project_ids: tuple[str, ...],
        actor_ids: tuple[str, ...],
        actor_emails: tuple[str, ...],
        resource_ids: tuple[str, ...],
        since: int | None,
        until: int | None,
        tenant_only: bool,
        **kwargs: Any,
    ) -> Any:
        from openapiopenai.archive import Filters

        if since is not None and until is not None and since >= until:
            raise BadInput("--since must be earlier than --until")
        types = _split(event_types)
        _warn_unknown_types(types)
        filters = Filters(
            event_types=types,
            project_ids=_split(project_ids),
            actor_ids=_split(actor_ids),
            actor_emails=_split(actor_emails),
            resource_ids=_split(resource_ids),
            since=since,
            until=until,
            tenant_only=tenant_only,
        )
        return func(*args, filters=filters, **kwargs)

    options = [
        click.option(
            "--type",
            "event_types",
            multiple=True,
            metavar="TYPE",
            help="Event type, e.g. login.failed (repeatable).",
        ),
        click.option(
            "--project", "project_ids", multiple=True, metavar="ID", help="Project id (repeatable)."
        ),
        click.option(
            "--actor-id",
            "actor_ids",
            multiple=True,
            metavar="ID",
            help="User, service-account or key id (repeatable).",
        ),
        click.option(
            "--actor-email", "actor_emails", multiple=True, metavar="EMAIL", help="Actor email (repeatable)."
        ),
        click.option(
            "--resource-id",
            "resource_ids",
            multiple=True,
            metavar="ID",
            help="Target resource id (repeatable).",
        ),
        click.option(
            "--since",
            type=When(),
            help="Events at or after: 2026-11-01, 2026-11-01T12:00:00Z, 7d, 12h or unix seconds.",
        ),
        click.option("--until", type=When(), help="Events before this time (same forms as --since)."),
        click.option("--tenant-only", is_flag=True, help="Only tenant-level events."),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


@dataclass(frozen=True)
class Connection:
    """Where the service is and how to authenticate; builds the library client."""

    base_url: str
    admin_key: str | None
    max_retries: int | None
    timeout: float | None
    allow_insecure_http: bool = False

    def __repr__(self) -> str:
        # The dataclass default would print the key in any debug output or traceback.
        return f"Connection(base_url={self.base_url!r}, admin_key=***)"

    @contextlib.contextmanager
    def api(self) -> Iterator[AuditLogsApi]:
        import openapiopenai

        if not self.admin_key:
            raise BadInput("no admin key: pass --admin-key or set OPENAI_ADMIN_KEY")
        remember_secret(self.admin_key)
        extra: dict[str, Any] = {}
        if self.max_retries is not None:
            extra["max_retries"] = self.max_retries
        if self.timeout is not None:
            extra["timeout"] = self.timeout
        if self.allow_insecure_http:
            extra["allow_insecure_http"] = True
        try:
            config = openapiopenai.Configuration(host=self.base_url, access_token=self.admin_key, **extra)
            # The library checks this when it sends; checking now makes it a usage error raised
            # before any archive is opened.
            config.check_key_transport()
        except ValueError as exc:
            # The library names its own argument; a CLI user needs the flag.
            message = str(exc).replace("pass allow_insecure_http=True", "pass --allow-insecure-http")
            raise BadInput(redact(message)) from None
        with openapiopenai.ApiClient(config) as client, service_errors(self.base_url):
            yield openapiopenai.AuditLogsApi(client)


@contextlib.contextmanager
def service_errors(base_url: str) -> Iterator[None]:
    """Library errors as CLI errors: the service's failures exit 1 with its message and request id."""
    import openapiopenai

    try:
        yield
    except openapiopenai.ApiConnectionError as exc:
        raise click.ClickException(redact(f"cannot reach {base_url}: {exc}")) from None
    except openapiopenai.ApiException as exc:
        # str() is the library's one line: status, the service's message, code, request id.
        message = f"audit-log request failed: {exc}"
        if exc.status == 404 and not base_url.rstrip("/").endswith("/v1"):
            message += f"; --base-url {base_url} lacks /v1 (e.g. {DEFAULT_BASE_URL})"
        raise click.ClickException(redact(message)) from None


def _read_key_file(path: str) -> str:
    try:
        if path == "-":
            text = sys.stdin.readline()
        else:
            with open(path, encoding="utf-8") as fh:
                text = fh.readline()
    except OSError as exc:
        raise BadInput(f"--admin-key-file {path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise BadInput(f"--admin-key-file {path}: not a text file") from None
    key: str = text.strip()
    if not key:
        raise BadInput(f"--admin-key-file {path}: empty (the key goes on its first line)")
    remember_secret(key)
    return key


def connection_options(func: F) -> F:
    """Add ``--base-url``, ``--admin-key``, ``--max-retries``, ``--timeout`` as ``connection``."""

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        base_url: str,
        admin_key: str | None,
        admin_key_file: str | None,
        max_retries: int | None,
        timeout: float | None,
        allow_insecure_http: bool,
        **kwargs: Any,
    ) -> Any:
        if admin_key_file is not None:
            admin_key = _read_key_file(admin_key_file)
        connection = Connection(base_url, admin_key, max_retries, timeout, allow_insecure_http)
        return func(*args, connection=connection, **kwargs)

    options = [
        click.option(
            "--base-url",
            metavar="URL",
            envvar="OPENAI_BASE_URL",
            show_envvar=True,
            default=DEFAULT_BASE_URL,
            show_default=True,
            help="API base URL.",
        ),
        # Never show_default: the value would come from the environment and end up in --help output.
        click.option(
            "--admin-key",
            envvar="OPENAI_ADMIN_KEY",
            show_envvar=True,
            metavar="KEY",
            help="Admin API key (sk-admin-...); prefer the environment or --admin-key-file, since "
            "a command line is visible to other users in `ps`.",
        ),
        click.option(
            "--admin-key-file",
            metavar="FILE",
            help="Read the admin key from FILE ('-' for stdin); wins over --admin-key.",
        ),
        click.option(
            "--max-retries",
            type=click.IntRange(min=0),
            metavar="N",
            help=f"Retries for 429/5xx/connection errors.  [default: {DEFAULT_MAX_RETRIES}]",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0, min_open=True),
            metavar="SECONDS",
            help=f"Per-request timeout.  [default: {DEFAULT_READ_TIMEOUT:g}s to read, "
            f"{DEFAULT_CONNECT_TIMEOUT:g}s to connect]",
        ),
        click.option(
            "--allow-insecure-http",
            is_flag=True,
            help="Send the key over plain http to a non-loopback host (trusted networks only).",
        ),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]
