"""What the network sinks (search, Splunk HEC, syslog, webhook) share: their settings, TLS, the plain-text
rule, and the bounded retry of a sink that retries part of a batch itself.

Settings come from the URL's query (``?timeout=10&ca_file=/etc/ca.pem``), overridden by the options the
caller passes; secrets never pass through here (they are `SinkURL.secret` values).
"""

from __future__ import annotations

import ipaddress
import random
import ssl
import time
from collections.abc import Mapping

from openapiopenai.sinks._base import SinkConfigError, SinkURL

__all__ = [
    "ITEM_RETRIES",
    "Settings",
    "backoff_delay",
    "is_loopback",
    "not_trusted",
    "one_line",
    "refuse_untrusted",
    "untrusted_certificate",
    "utc_timestamp",
]

#: How many times a sink re-sends the items its server refused for a moment (a per-item 429 or 5xx) before
#: giving the whole batch back to the shipper as unavailable.
ITEM_RETRIES = 3
#: First delay between those tries; doubles each time, up to the cap.
INITIAL_ITEM_DELAY = 0.5
MAX_ITEM_DELAY = 4.0
#: Connect/read timeout of one request, seconds, unless ``?timeout=`` says otherwise.
DEFAULT_TIMEOUT = 30.0

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def backoff_delay(attempt: int) -> float:
    """Seconds before in-batch retry number `attempt` (1-based), with jitter so many shippers spread out."""
    return min(INITIAL_ITEM_DELAY * 2.0 ** (attempt - 1), MAX_ITEM_DELAY) * (1.0 - 0.25 * random.random())


def is_loopback(host: str | None) -> bool:
    if host in ("localhost", "localhost."):
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def utc_timestamp(seconds: int) -> str:
    """``2026-11-01T00:00:07Z``: RFC 3339 in UTC (a third of datetime's cost, per event)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def untrusted_certificate(exc: BaseException) -> str | None:
    """Why the server's certificate failed verification, when that is what lies under a library's
    connection error: a configuration mistake (a missing ``ca_file``), not an outage to wait out."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 16:
        if isinstance(current, ssl.SSLCertVerificationError):
            return str(current.verify_message or current.reason or "certificate verify failed")
        current = current.__cause__ or current.__context__
        seen += 1
    return None


def not_trusted(where: str, why: str) -> SinkConfigError:
    return SinkConfigError(f"{where}: the server's certificate is not trusted ({why}); give ca_file=PATH")


def refuse_untrusted(where: str, exc: BaseException) -> None:
    """Raise `not_trusted` when a library's connection error is, underneath, a failed certificate check;
    return otherwise (the caller then treats `exc` as the outage it is)."""
    why = untrusted_certificate(exc)
    if why is not None:
        raise not_trusted(where, why) from None


def one_line(text: object, limit: int = 300) -> str:
    """A server's message fit for an error or a dead letter: one line, bounded."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class Settings:
    """A sink's non-secret settings: the caller's options over the URL's query."""

    def __init__(self, url: SinkURL, options: Mapping[str, str], known: frozenset[str], *,
                 strict: bool = True) -> None:
        """`strict`: any other query parameter is a mistake (not so for a webhook, whose URL may carry the
        receiver's own parameters)."""
        self._values = {**url.query, **options}
        self._url = url
        # A typo in the URL is caught here; the caller's options may hold settings meant for other sinks.
        # The `_env`/`_file` forms of secrets stay in the query (they name a source); they are not settings.
        unknown = sorted(k for k in url.query if k not in known and not k.endswith(("_env", "_file")))
        if unknown and strict:
            raise SinkConfigError(f"{url.scheme}:// sink: unknown setting {unknown[0]!r}; "
                                  f"known: {', '.join(sorted(known))}")

    def text(self, name: str, default: str | None = None) -> str | None:
        return self._values.get(name, default)

    def flag(self, name: str, default: bool) -> bool:
        value = self._values.get(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise SinkConfigError(f"{name} must be true or false, not {value!r}")

    def number(self, name: str, default: float, *, low: float, high: float) -> float:
        value = self._values.get(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            raise SinkConfigError(f"{name} must be a number, not {value!r}") from None
        if not low <= number <= high:
            raise SinkConfigError(f"{name} must be between {low:g} and {high:g}, not {value}")
        return number

    def timeout(self) -> float:
        """One request's connect/read timeout: ``?timeout=`` seconds, else `DEFAULT_TIMEOUT`."""
        return self.number("timeout", DEFAULT_TIMEOUT, low=0.1, high=600)

    def endpoint(self, *, tls: bool) -> str:
        """The host, once the plain-text rule allows sending to it (`require_tls_or_loopback`)."""
        host = self.host()
        self.require_tls_or_loopback(tls)
        return host

    def host(self) -> str:
        if not self._url.host:
            raise SinkConfigError(f"{self._url.scheme}:// sink URL needs a host")
        return self._url.host

    def require_tls_or_loopback(self, tls: bool) -> None:
        """Credentials and events in plain text only to this machine, unless the user says otherwise."""
        if not tls and not is_loopback(self._url.host) and not self.flag("allow_insecure_http", False):
            raise SinkConfigError(f"refusing plain-text {self._url.scheme}:// to {self._url.host}: use TLS, "
                                  "or allow_insecure_http=true")

    def ssl_context(self) -> ssl.SSLContext:
        """TLS as the URL asks: ``ca_file`` (else the system's roots), ``verify=false`` (no checks at all),
        ``cert_file``/``key_file`` for a client certificate."""
        ca_file = self._path("ca_file")
        try:
            context = ssl.create_default_context(cafile=ca_file)
        except ssl.SSLError as exc:
            raise SinkConfigError(f"ca_file: {ca_file} holds no usable certificate ({one_line(exc, 120)})") from None
        if not self.flag("verify", True):
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        cert = self._path("cert_file")
        if cert is not None:
            try:
                context.load_cert_chain(cert, self._path("key_file"))
            except (OSError, ssl.SSLError) as exc:
                raise SinkConfigError(f"cert_file: cannot load {cert} ({one_line(exc, 120)})") from None
        return context

    def _path(self, name: str) -> str | None:
        path = self._values.get(name)
        if path is not None:
            try:
                with open(path, "rb"):
                    pass
            except OSError as exc:
                raise SinkConfigError(f"{name}: cannot read {path} ({exc.strerror})") from None
        return path


#: Settings every network sink understands.
COMMON_SETTINGS = frozenset({"timeout", "ca_file", "verify", "cert_file", "key_file", "allow_insecure_http"})
