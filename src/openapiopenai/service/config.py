"""The service's configuration file (TOML): what each organisation is, where its key comes from, what runs.

    [service]
    metrics_addr = "127.0.0.1:9464"

    [[org]]
    name = "acme"
    admin_key_env = "ACME_OPENAI_ADMIN_KEY"     # or admin_key_file = "/run/secrets/acme"
    archive = "/var/lib/openapiopenai/acme.sqlite"
    interval = "5m"
    tenant = true

    [org.detect]
    min_level = "high"
    notify = ["https://hooks.example.com/audit"]

    [[org.sink]]
    to = "postgresql://audit@db.internal/audit"
    schema = "raw"

`load_config` reads and checks it all and raises `ConfigError` holding every problem, each with its key
and line (`Problem`); nothing is started from a file with any. An admin key is never in the file: only
the name of the environment variable or the path of the file that holds it, read at each cycle (so a
rotated secret is picked up without a restart).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openapiopenai.service._positions import KeyPath, key_lines, line_of

__all__ = ["DEFAULT_METRICS_ADDR", "ConfigError", "DetectConfig", "OrgConfig", "Problem", "ServiceConfig",
           "SinkConfig", "load_config", "parse_config"]

DEFAULT_METRICS_ADDR = "127.0.0.1:9464"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_INTERVAL = 300.0
DEFAULT_LOOKBACK = 900.0
LEVELS = ("informational", "low", "medium", "high", "critical")
SCHEMAS = ("raw", "ocsf", "ecs")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
#: Notification targets sent as a JSON POST by us; any other scheme goes through apprise.
WEBHOOK_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class Problem:
    key: str
    """Dotted, as a reader finds it in the file: ``org[1].detect.min_level``."""
    line: int
    message: str

    def describe(self, path: str) -> str:
        return f"{path}:{self.line}: {self.key}: {self.message}"


class ConfigError(ValueError):
    """The file cannot be used; `problems` says every reason, with its key and line."""

    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        first = problems[0].describe(path)
        more = f" (and {len(problems) - 1} more: run 'openapiopenai config check {path}')" if len(problems) > 1 else ""
        super().__init__(first + more)


@dataclass(frozen=True)
class DetectConfig:
    rules: tuple[str, ...] = ()
    """Folders of one's own Sigma rules, besides the shipped ones (unless ``builtin = false``)."""
    builtin: bool = True
    min_level: str = "high"
    notify: tuple[str, ...] = ()
    placeholders: dict[str, list[str]] = field(default_factory=dict)
    """``[org.detect.set]``: values of the rules' placeholders (org_email_domains, org_project_ids)."""
    since: float | None = 0.0
    """Only matches of events that happened at most this many seconds before the service started, or
    later (``since = "start"``, the default: 0; ``"1h"``, ``"7d"``...); None (``"all"``): every event the
    archive holds, so a first cycle over a back-filled archive alerts on all of its history."""

    def __repr__(self) -> str:
        # A webhook URL often carries its token (Slack's, Teams'): only scheme and host are shown.
        from openapiopenai.service.notify import describe_target

        return (f"DetectConfig(min_level={self.min_level!r}, rules={self.rules!r}, "
                f"notify={[describe_target(t) for t in self.notify]!r})")


@dataclass(frozen=True)
class SinkConfig:
    to: str
    schema: str = "raw"
    name: str | None = None
    """The ledger name (default: the URL without credentials)."""

    def __repr__(self) -> str:
        # A URL may carry a password: never printed whole.
        return f"SinkConfig(name={self.name!r}, schema={self.schema!r})"


@dataclass(frozen=True)
class OrgConfig:
    name: str
    archive: str
    admin_key_env: str | None = None
    admin_key_file: str | None = None
    base_url: str = DEFAULT_BASE_URL
    interval: float = DEFAULT_INTERVAL
    lookback: float = DEFAULT_LOOKBACK
    workers: int = 1
    tenant: bool = False
    """Also keep the tenant-scoped partition (``tenant_only=true`` listings)."""
    give_up_after: float | None = None
    """How long a sync or a sink may keep failing within a cycle (default: the interval)."""
    event_types: tuple[str, ...] = ()
    project_ids: tuple[str, ...] = ()
    since: int | None = None
    detect: DetectConfig | None = None
    sinks: tuple[SinkConfig, ...] = ()

    def admin_key(self) -> str:
        """The key, read now from where the file says it is; ``ValueError`` (naming the place, never the key)."""
        if self.admin_key_env is not None:
            value = os.environ.get(self.admin_key_env, "").strip()
            if not value:
                raise ValueError(f"the environment variable {self.admin_key_env} is not set")
            return value
        assert self.admin_key_file is not None
        try:
            value = Path(self.admin_key_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read admin_key_file {self.admin_key_file}: {getattr(exc, 'strerror', exc)}") from None
        if not value:
            raise ValueError(f"admin_key_file {self.admin_key_file} is empty")
        return value

    @property
    def patience(self) -> float:
        return self.give_up_after if self.give_up_after is not None else self.interval


@dataclass(frozen=True)
class ServiceConfig:
    orgs: tuple[OrgConfig, ...]
    metrics_addr: str = DEFAULT_METRICS_ADDR
    concurrency: int = 4
    """Organisations whose cycles run at the same time; the others wait their turn."""
    path: str = ""


def load_config(path: str | os.PathLike[str]) -> ServiceConfig:
    """Read and check ``path``; `ConfigError` with every problem, or `ValueError` if it cannot be read."""
    name = os.fspath(path)
    try:
        text = Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{name}: cannot read the config ({getattr(exc, 'strerror', None) or exc})") from None
    return parse_config(text, name)


def parse_config(text: str, path: str = "<config>") -> ServiceConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column \d+\)", message)
        line = int(match.group(1)) if match else 1
        raise ConfigError(path, [Problem("(syntax)", line, re.sub(r"\s*\(at line.*\)$", "", message)
                                         or "not valid TOML")]) from None
    checker = _Checker(key_lines(text))
    config = checker.service(data, path)
    if checker.problems:
        raise ConfigError(path, sorted(checker.problems, key=lambda p: p.line))
    assert config is not None
    return config


_SERVICE_KEYS = ("metrics_addr", "concurrency")
_ORG_KEYS = ("name", "base_url", "admin_key_env", "admin_key_file", "archive", "interval", "lookback", "workers",
             "tenant", "give_up_after", "types", "projects", "since", "detect", "sink")
_DETECT_KEYS = ("rules", "builtin", "min_level", "notify", "set", "since")
_SINK_KEYS = ("to", "schema", "name")
#: Keys that would put a secret in the file: refused with where the secret belongs instead.
_SECRET_KEYS = ("admin_key", "api_key", "key", "password", "token")


class _Checker:
    """Builds the config from the parsed TOML, collecting a `Problem` for everything wrong."""

    def __init__(self, lines: dict[KeyPath, int]) -> None:
        self.lines = lines
        self.problems: list[Problem] = []

    def problem(self, path: KeyPath, message: str) -> None:
        self.problems.append(Problem(_dotted(path), line_of(self.lines, path), message))

    def table(self, value: Any, path: KeyPath, known: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.problem(path, "must be a table")
            return {}
        for key in value:
            if key in _SECRET_KEYS:
                self.problem((*path, key), "secrets are never written in the config; give admin_key_env "
                             "(an environment variable's name) or admin_key_file (a file's path)")
            elif key not in known:
                self.problem((*path, key), f"unknown key (known here: {', '.join(known)})")
        return value

    def get(self, table: dict[str, Any], path: KeyPath, key: str, kind: type | tuple[type, ...],
            default: Any = None) -> Any:
        if key not in table:
            return default
        value = table[key]
        # bool is an int in Python; a TOML `true` is never a count.
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
            names = " or ".join(_KINDS.get(k, k.__name__) for k in _as_tuple(kind))
            self.problem((*path, key), f"must be {names}, not {_KINDS.get(type(value), type(value).__name__)}")
            return default
        return value

    def duration(self, table: dict[str, Any], path: KeyPath, key: str, default: float | None,
                 minimum: float) -> float | None:
        value = self.get(table, path, key, (str, int, float))
        if value is None:
            return default
        from openapiopenai.cli._time import parse_duration

        try:
            seconds = float(value) if isinstance(value, int | float) else parse_duration(value)
        except ValueError as exc:
            self.problem((*path, key), str(exc))
            return default
        if seconds < minimum:
            self.problem((*path, key), f"must be at least {minimum:g}s")
            return default
        return seconds

    def strings(self, table: dict[str, Any], path: KeyPath, key: str) -> tuple[str, ...]:
        value = self.get(table, path, key, list, [])
        if not all(isinstance(v, str) and v for v in value):
            self.problem((*path, key), "must be a list of non-empty strings")
            return ()
        return tuple(value)

    # -- the tables ---------------------------------------------------------------------------------
    def service(self, data: dict[str, Any], path: str) -> ServiceConfig | None:
        for key in data:
            if key not in ("service", "org"):
                self.problem((key,), "unknown table or key (known: [service], [[org]])")
        service = self.table(data.get("service", {}), ("service",), _SERVICE_KEYS)
        addr = self.get(service, ("service",), "metrics_addr", str, DEFAULT_METRICS_ADDR)
        if split_addr(addr) is None:
            self.problem(("service", "metrics_addr"), f"{addr!r} is not HOST:PORT (example: 127.0.0.1:9464)")
        concurrency = self.get(service, ("service",), "concurrency", int, 4)
        if concurrency < 1:
            self.problem(("service", "concurrency"), "must be at least 1")
        orgs_value = data.get("org")
        if not isinstance(orgs_value, list) or not orgs_value:
            self.problem(("org",), "no organisation: add at least one [[org]] table")
            orgs_value = []
        orgs = [self.org(value, ("org", i)) for i, value in enumerate(orgs_value)]
        seen: dict[str, int] = {}
        archives: dict[str, int] = {}
        for i, org in enumerate(orgs):
            if org is None:
                continue
            if org.name in seen:
                self.problem(("org", i, "name"), f"{org.name!r} is also the name of org[{seen[org.name]}]")
            seen.setdefault(org.name, i)
            where = os.path.abspath(org.archive)
            if where in archives:
                self.problem(("org", i, "archive"), f"org[{archives[where]}] uses the same archive")
            archives.setdefault(where, i)
        if self.problems:
            return None
        return ServiceConfig(tuple(o for o in orgs if o is not None), metrics_addr=addr, concurrency=concurrency,
                             path=path)

    def org(self, value: Any, path: KeyPath) -> OrgConfig | None:
        before = len(self.problems)
        table = self.table(value, path, _ORG_KEYS)
        name = self.get(table, path, "name", str)
        if name is None:
            if "name" not in table:
                self.problem(path, "missing name")
        elif not _NAME.fullmatch(name):
            self.problem((*path, "name"), "letters, digits, '.', '_' and '-' only (it labels metrics and logs)")
        archive = self.get(table, path, "archive", str)
        if archive is None and "archive" not in table:
            self.problem(path, "missing archive (the SQLite file this organisation is synced into)")
        key_env = self.get(table, path, "admin_key_env", str)
        key_file = self.get(table, path, "admin_key_file", str)
        if key_env is not None and key_file is not None:
            self.problem((*path, "admin_key_file"), "give admin_key_env or admin_key_file, not both")
        elif key_env is None and key_file is None and not ({"admin_key_env", "admin_key_file"} & set(table)):
            self.problem(path, "missing admin_key_env or admin_key_file (where the admin key comes from)")
        if key_env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key_env):
            self.problem((*path, "admin_key_env"), "must be an environment variable's name, not a key")
        base_url = self.get(table, path, "base_url", str, DEFAULT_BASE_URL)
        if not re.match(r"https?://[^/]", base_url):
            self.problem((*path, "base_url"), "must be an http:// or https:// URL")
        interval = self.duration(table, path, "interval", DEFAULT_INTERVAL, 1.0)
        lookback = self.duration(table, path, "lookback", DEFAULT_LOOKBACK, 0.0)
        give_up = self.duration(table, path, "give_up_after", None, 1.0)
        workers = self.get(table, path, "workers", int, 1)
        if not 1 <= workers <= 32:
            self.problem((*path, "workers"), "must be within 1..32")
        tenant = self.get(table, path, "tenant", bool, False)
        since = self.get(table, path, "since", (str, int))
        if isinstance(since, str):
            from openapiopenai.cli._time import parse_when

            try:
                since = parse_when(since)
            except ValueError as exc:
                self.problem((*path, "since"), str(exc))
        detect = self.detect(table["detect"], (*path, "detect")) if "detect" in table else None
        sinks_value = table.get("sink", [])
        if not isinstance(sinks_value, list):
            self.problem((*path, "sink"), "must be an array of tables: [[org.sink]]")
            sinks_value = []
        sinks = [self.sink(s, (*path, "sink", i)) for i, s in enumerate(sinks_value)]
        names = [s.name or s.to for s in sinks if s is not None]
        for i, s in enumerate(sinks):
            if s is not None and names.count(s.name or s.to) > 1 and names.index(s.name or s.to) != i:
                self.problem((*path, "sink", i), "two sinks share a ledger: give one of them a name")
        if len(self.problems) > before:
            return None
        assert name is not None and archive is not None and interval is not None and lookback is not None
        return OrgConfig(name=name, archive=archive, admin_key_env=key_env, admin_key_file=key_file,
                         base_url=base_url.rstrip("/"), interval=interval, lookback=lookback, workers=workers,
                         tenant=tenant, give_up_after=give_up, event_types=self.strings(table, path, "types"),
                         project_ids=self.strings(table, path, "projects"),
                         since=since if isinstance(since, int) else None, detect=detect,
                         sinks=tuple(s for s in sinks if s is not None))

    def detect(self, value: Any, path: KeyPath) -> DetectConfig | None:
        table = self.table(value, path, _DETECT_KEYS)
        level = self.get(table, path, "min_level", str, "high")
        if level not in LEVELS:
            self.problem((*path, "min_level"), f"{level!r} is not a level ({', '.join(LEVELS)})")
        notify = self.strings(table, path, "notify")
        for i, target in enumerate(notify):
            scheme = target.partition("://")[0].lower() if "://" in target else ""
            if not scheme:
                self.problem((*path, "notify", i), f"{_shown(target)} is not a URL (https://... or an apprise URL)")
            elif scheme not in WEBHOOK_SCHEMES and not _apprise_available():
                self.problem((*path, "notify"), f"{scheme}:// notifications need apprise: "
                             "pip install 'openapiopenai[service]'")
        placeholders: dict[str, list[str]] = {}
        sets = self.get(table, path, "set", dict, {})
        for key, items in sets.items():
            if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
                self.problem((*path, "set", key), "must be a list of strings")
            else:
                placeholders[key] = list(items)
        since: float | None = 0.0
        since_value = self.get(table, path, "since", str, "start")
        if since_value == "all":
            since = None
        elif since_value != "start":
            since = self.duration(table, path, "since", 0.0, 0.0)
        return DetectConfig(rules=self.strings(table, path, "rules"), builtin=self.get(table, path, "builtin", bool,
                                                                                         True),
                            min_level=level, notify=notify, placeholders=placeholders, since=since)

    def sink(self, value: Any, path: KeyPath) -> SinkConfig | None:
        table = self.table(value, path, _SINK_KEYS)
        to = self.get(table, path, "to", str)
        if to is None:
            if "to" not in table:
                self.problem(path, "missing to (the sink's URL)")
            return None
        from openapiopenai.sinks import KNOWN_SCHEMES

        scheme = to.partition("://")[0].lower()
        if "://" not in to or scheme not in KNOWN_SCHEMES:
            self.problem((*path, "to"), f"unknown sink scheme {scheme + '://' if '://' in to else _shown(to)}"
                         f" (known: {', '.join(s + '://' for s in sorted(KNOWN_SCHEMES))})")
        schema = self.get(table, path, "schema", str, "raw")
        if schema not in SCHEMAS:
            self.problem((*path, "schema"), f"{schema!r} is not a schema ({', '.join(SCHEMAS)})")
        return SinkConfig(to=to, schema=schema, name=self.get(table, path, "name", str))


def split_addr(addr: str) -> tuple[str, int] | None:
    """``127.0.0.1:9464`` / ``[::1]:9464`` / ``:9464`` -> (host, port), or None."""
    match = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*):(\d{1,5})", addr.strip())
    if not match or int(match.group(2)) > 65535:
        return None
    return match.group(1).strip("[]") or "0.0.0.0", int(match.group(2))


def _apprise_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("apprise") is not None


def _shown(text: str) -> str:
    # A value echoed back in a problem is cut short: a pasted key must not travel whole into a log.
    from openapiopenai.cli._messages import redact

    return repr(redact(text if len(text) <= 60 else text[:57] + "..."))


def _dotted(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


_KINDS: dict[type, str] = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
                           list: "an array", dict: "a table"}
