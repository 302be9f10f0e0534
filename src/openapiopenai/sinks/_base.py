"""The sink contract: what the shipper hands a sink, what a sink answers, and how it fails.

A sink is one destination system (a PostgreSQL table, a directory of files, a SIEM endpoint). The shipper
(`_ship`) owns the delivery ledger; a sink only sends a batch and says, by returning, that the destination
acknowledged it. Everything a sink raises is a `SinkError` whose message is one line without secrets:

    SinkError
    ├── SinkConfigError   bad URL, options or credentials, known before anything is sent (also a ValueError;
    │                     the CLI exits 2)
    ├── SinkUnavailable   transient (outage, 429, 5xx, reset): the shipper backs off and re-sends the same batch
    └── SinkFailed        permanent failure of the whole sink (a 401 mid-run): the CLI exits 1

Secrets (a password in the URL, `?password_env=VAR`, `?password_file=PATH`, and the same for any other secret
parameter such as `token`) are read once into `Secret` values that print as ``'***'``; `SinkURL.redacted()`
is the URL as it may be shown.
"""

from __future__ import annotations

import abc
import importlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

__all__ = [
    "LOOKUP_COLUMNS",
    "SECRET_PARAMETERS",
    "BatchResult",
    "Item",
    "Rejected",
    "Secret",
    "Sink",
    "SinkConfigError",
    "SinkError",
    "SinkFailed",
    "SinkURL",
    "SinkUnavailable",
    "import_extra",
    "parse_sink_url",
]

#: The archive's lookup columns an `Item` carries (`Item.columns`), in this order.
LOOKUP_COLUMNS = ("tenant", "actor_type", "actor_id", "actor_email", "api_key_id", "project_id", "ip_address",
                  "resource_id")

#: Query parameters whose value is a secret: taken out of the query (so never shown), and each may instead
#: be given as ``<name>_env=VAR`` (read from the environment) or ``<name>_file=PATH`` (read from a file).
SECRET_PARAMETERS = ("password", "token", "secret", "hmac_secret", "api_key")


class Secret:
    """A secret string that never shows itself: ``repr``/``str`` are ``'***'``; `reveal()` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:
        # Never pickled into a log, a cache or another process by accident.
        raise TypeError("a Secret cannot be pickled")


# -- what a sink is given and answers ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Item:
    """One archived event on its way to a sink."""

    seq: int
    """The archive's insertion sequence: the ledger position."""
    event_id: str
    effective_at: int
    """Unix seconds."""
    event_type: str
    raw: str
    """The event's JSON exactly as the service sent it."""
    doc: Mapping[str, Any] | None
    """The event in the chosen schema; ``None`` for raw (the sink then sends `raw` as it is)."""
    schema: str
    """``"raw"``, ``"ocsf"`` or ``"ecs"``."""
    columns: tuple[Any, ...] = ()
    """The archive's lookup columns, in `LOOKUP_COLUMNS` order (empty when the item was not read from an
    archive, or the sink does not read them: `Sink.reads_lookup_columns`); a sink with columns of its own
    (PostgreSQL) copies them instead of decoding `raw` again."""


@dataclass(frozen=True)
class Rejected:
    """An item the sink refused for good (a mapping error, a per-item 400): it goes to the dead letters."""

    seq: int
    event_id: str
    reason: str
    """One line, no secrets."""


@dataclass(frozen=True)
class BatchResult:
    """A sink's acknowledgement of a whole batch."""

    rejected: tuple[Rejected, ...] = ()
    """Items refused for good."""
    duplicates: int = 0
    """Items the sink already had (a 409, ON CONFLICT): delivered all the same."""


# -- errors ------------------------------------------------------------------------------------------------
class SinkError(Exception):
    """Any sink failure; ``str()`` is one line and never holds a secret."""


class SinkConfigError(SinkError, ValueError):
    """Bad URL, options or credentials, known before anything is sent (the CLI exits 2)."""


class SinkUnavailable(SinkError):
    """A transient failure of a whole batch; the shipper waits and sends the same batch again."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        """Seconds the sink asked us to wait (a Retry-After), if it said."""


class SinkFailed(SinkError):
    """The sink cannot go on (credentials revoked mid-run, a table dropped): the CLI exits 1."""


# -- the URL -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SinkURL:
    """A sink URL, parsed once, with its secrets kept out of ``repr``/``str``."""

    scheme: str
    host: str | None
    port: int | None
    path: str
    query: Mapping[str, str]
    """Every parameter except the secrets (and their ``_env``/``_file`` forms are kept: they name, not hold)."""
    username: str | None
    password: Secret | None
    """From the URL's user info, ``?password=``, ``?password_env=VAR`` or ``?password_file=PATH``."""
    secrets: Mapping[str, Secret] = field(default_factory=dict, repr=False)
    """Every secret parameter given (see `SECRET_PARAMETERS`), resolved, by name (``password`` included)."""

    def secret(self, name: str) -> Secret | None:
        """The secret parameter `name` (``token``, ``hmac_secret``...), however it was given."""
        return self.secrets.get(name)

    def redacted(self) -> str:
        """``scheme://user@host:port/path?query`` without any secret: the form that may be shown or logged."""
        netloc = ""
        if self.username:
            netloc += quote(self.username, safe="") + "@"
        if self.host:
            netloc += f"[{self.host}]" if ":" in self.host else self.host
        if self.port is not None:
            netloc += f":{self.port}"
        text = f"{self.scheme}://{netloc}{self.path}"
        if self.query:
            text += "?" + urlencode(sorted(self.query.items()))
        return text

    def __str__(self) -> str:
        return self.redacted()


def _read_secret(name: str, query: dict[str, str]) -> Secret | None:
    """Resolve ``name``, ``name_env`` or ``name_file`` from the query (removing the plain secret from it)."""
    value = query.pop(name, None)
    env = query.get(f"{name}_env")
    path = query.get(f"{name}_file")
    if sum(v is not None for v in (value, env, path)) > 1:
        raise SinkConfigError(f"give {name} one way only ({name}, {name}_env or {name}_file)")
    if env is not None:
        value = os.environ.get(env)
        if value is None:
            raise SinkConfigError(f"{name}_env: environment variable {env} is not set")
    elif path is not None:
        try:
            value = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise SinkConfigError(f"{name}_file: cannot read {path} ({exc.strerror or type(exc).__name__})") from None
    return None if value is None else Secret(value)


def parse_sink_url(url: str) -> SinkURL:
    """Parse a sink URL; raises `SinkConfigError` (one line, the secret left out) when it is malformed."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise SinkConfigError("malformed sink URL (bad port or brackets)") from None
    if not parts.scheme or "://" not in url:
        raise SinkConfigError("a sink URL needs a scheme, like postgresql://host/db or file:///path")
    query: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in query:
            raise SinkConfigError(f"sink URL parameter {key!r} is given twice")
        query[key] = value
    url_password = unquote(parts.password) if parts.password is not None else None
    secrets: dict[str, Secret] = {}
    for name in SECRET_PARAMETERS:
        secret = _read_secret(name, query)
        if secret is not None:
            secrets[name] = secret
    if url_password is not None:
        if "password" in secrets:
            raise SinkConfigError("give password one way only (in the URL, password, password_env or password_file)")
        secrets["password"] = Secret(url_password)
    scheme = parts.scheme.lower()
    # A file URL's "host" may be a relative directory, whose case matters.
    host = parts.netloc.rpartition("@")[2] or None if scheme == "file" else parts.hostname
    return SinkURL(
        scheme=scheme,
        host=host,
        port=port,
        path=unquote(parts.path),
        query=query,
        username=unquote(parts.username) if parts.username else None,
        password=secrets.get("password"),
        secrets=secrets,
    )


def import_extra(module: str, extra: str) -> ModuleType:
    """Import a sink's third-party library, or fail with one line naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise SinkConfigError(
            f"this sink needs {module.split('.')[0]}: pip install 'openapiopenai[{extra}]'"
        ) from None


# -- the sink ----------------------------------------------------------------------------------------------
class Sink(abc.ABC):
    """One destination. Construct (no I/O), `open`, `send` batches, `close`."""

    scheme: ClassVar[tuple[str, ...]]
    """The URL schemes this class serves, e.g. ``("postgresql", "postgres")``."""
    guarantee: ClassVar[str]
    """``"exactly-once"`` or ``"at-least-once"``."""
    default_schema: ClassVar[str] = "raw"
    """The schema shipped when the user names none."""
    preferred_batch: ClassVar[int | None] = None
    """Events per batch when the user names no ``--batch`` (None: the shipper's default). A sink whose
    acknowledgement costs a flush to disk (a file, a commit) does better with larger batches."""
    reads_lookup_columns: ClassVar[bool] = False
    """Whether `send` reads the archive's lookup columns (`Item.columns`, `Batch.columns`): the shipper
    reads them from the archive only for a sink that does (they cost a third of the archive read)."""
    reads_event_fields: bool = True
    """Whether `send` reads each event's id and type (`Item.event_id` and `Item.event_type`, the `Batch`
    columns of those names). A sink that writes only the archived JSON (JSONL files of the raw schema) sets
    it False, per instance: the shipper then leaves them out of the archive read (a sixth of its time) and
    the batch holds None in their place."""

    def __init__(self, url: SinkURL, *, options: Mapping[str, str]) -> None:
        self.url = url
        self.options = dict(options)

    @abc.abstractmethod
    def open(self) -> None:
        """Connect and check the credentials; raises `SinkConfigError` or `SinkUnavailable`."""

    def prepare(self, batch: Sequence[Item]) -> Any:
        """Work on `batch` that depends on its events alone (encoding it), done ahead of `send`: the
        shipper calls it in its read-ahead thread while this sink is still sending the batch before, and
        `send` finds the result as `Batch.prepared`. It must touch neither the sink's state nor the
        destination (it may run beside `send`). A failure here is not reported: `send` does the work
        itself and fails there. Default: nothing to prepare (None)."""
        return None

    @abc.abstractmethod
    def send(self, batch: Sequence[Item]) -> BatchResult:
        """Deliver `batch`, returning only once the sink acknowledged it; raises `SinkUnavailable` for a
        transient failure of the whole batch, `SinkFailed` when the sink cannot go on."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections; safe to call twice and after a failed `open`."""

    def describe(self) -> str:
        """The URL without credentials: the default ledger name."""
        return self.url.redacted()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()!r})"

    def __enter__(self) -> Sink:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
