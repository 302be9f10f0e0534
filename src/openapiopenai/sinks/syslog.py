"""Syslog over TCP or TLS: RFC 5424 messages, octet-counted (RFC 6587), TLS as RFC 5425 describes.

    syslog+tls://siem.example:6514?ca_file=/etc/ssl/siem-ca.pem
    syslog+tcp://127.0.0.1:514?facility=local4

One message per event:

    <PRI>1 TIMESTAMP HOSTNAME openapiopenai - MSGID [openapiopenai@32473 event_id="..." seq="..."] MSG

PRI is facility ``audit`` (13, "log audit") and severity ``info`` unless the URL says otherwise; TIMESTAMP is
the event's ``effective_at`` in UTC; MSGID its type (cut to the 32 characters RFC 5424 allows); the
structured data carries the event id for de-duplication (32473 is the enterprise number RFC 5612 reserves
for documentation, as no number is registered for this project); MSG is the event's JSON as the service
sent it (or the mapped document), without a BOM so that it stays the service's bytes. Each frame is
``LEN SP MESSAGE``, so events may hold any byte.

Syslog over TCP has no acknowledgement, so the sink makes one of the end of the stream: each batch goes on
a connection of its own, which the sink closes from its side first (a TCP FIN, after a TLS close_notify) and
then waits, bounded by ``timeout``, for the receiver to close its side. A receiver closes after reading
every byte before our end of stream; one that goes away with bytes unread (stopped, restarted) resets the
connection instead, and the batch is sent again. So delivery is at least once across receiver restarts;
what the receiver had read but not yet written when it was SIGKILLed is the one loss this cannot see (RELP
would). Counting a batch delivered once the receiver's TCP stack has it, on one long connection, is not
enough: an rsyslog stopped between two batches dropped bytes its kernel had acknowledged when we tried it.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

import msgspec

from openapiopenai.sinks._base import (
    BatchResult,
    Item,
    Rejected,
    Sink,
    SinkConfigError,
    SinkUnavailable,
    SinkURL,
)
from openapiopenai.sinks._net import COMMON_SETTINGS, Settings, not_trusted, utc_timestamp

__all__ = ["FACILITIES", "SEVERITIES", "SyslogSink", "frame", "message"]

FACILITIES = {name: code for code, name in enumerate((
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
    "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
    "local7"))}
SEVERITIES = {name: code for code, name in enumerate((
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"))}
#: The SD-ID of our structured data: a name and the enterprise number RFC 5612 sets aside for examples.
SD_ID = "openapiopenai@32473"
#: A message longer than this is refused for the dead letters rather than cut (a cut event is not JSON).
#: RFC 5425 receivers must take 2048 octets and should take 8192; rsyslog's default limit is 8k, so raise
#: its ``maxMessageSize`` to match.
DEFAULT_MAX_MESSAGE_BYTES = 65536
_SETTINGS = COMMON_SETTINGS | {"facility", "severity", "hostname", "app_name", "server_name",
                               "max_message_bytes"}
_encode = msgspec.json.Encoder().encode


def _header_field(value: str, limit: int) -> str:
    """A HOSTNAME/APP-NAME/MSGID: printable US-ASCII without spaces (RFC 5424's PRINTUSASCII), or "-"."""
    cleaned = "".join(ch if 33 <= ord(ch) <= 126 else "_" for ch in value)[:limit]
    return cleaned or "-"


def _sd_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def message(item: Item, *, pri: int, hostname: str, app_name: str) -> bytes:
    """The RFC 5424 message of `item` (without the frame)."""
    head = (f"<{pri}>1 {utc_timestamp(item.effective_at)} {hostname} {app_name} - {_header_field(item.event_type, 32)} "
            f'[{SD_ID} event_id="{_sd_value(item.event_id)}" seq="{item.seq}"] ')
    body = item.raw.encode() if item.doc is None else _encode(item.doc)
    return head.encode() + body


def frame(data: bytes) -> bytes:
    """RFC 6587 octet counting: the length in decimal, a space, the message."""
    return b"%d %s" % (len(data), data)


class SyslogSink(Sink):
    scheme: ClassVar[tuple[str, ...]] = ("syslog+tcp", "syslog+tls")
    guarantee: ClassVar[str] = "at-least-once"
    default_schema: ClassVar[str] = "raw"

    def __init__(self, url: SinkURL, *, options: Mapping[str, str]) -> None:
        super().__init__(url, options=options)
        settings = Settings(url, options, _SETTINGS)
        self._host = settings.host()
        if url.username is not None or url.secrets:
            raise SinkConfigError(f"{url.scheme}:// sink takes no user or password (TLS client certificates: "
                                  "cert_file and key_file)")
        self._tls = url.scheme == "syslog+tls"
        self._port = url.port or (6514 if self._tls else 514)
        facility = _code(settings.text("facility", "audit") or "", FACILITIES, "facility", 23)
        severity = _code(settings.text("severity", "info") or "", SEVERITIES, "severity", 7)
        self._pri = facility * 8 + severity
        self._hostname = _header_field(settings.text("hostname") or socket.gethostname(), 255)
        self._app_name = _header_field(settings.text("app_name", "openapiopenai") or "", 48)
        self._max = int(settings.number("max_message_bytes", DEFAULT_MAX_MESSAGE_BYTES, low=480,
                                        high=16 * 1024 * 1024))
        self._timeout = settings.timeout()
        self._ssl = settings.ssl_context() if self._tls else None
        self._server_name = settings.text("server_name") or self._host
        self._clock: Callable[[], float] = time.monotonic

    # -- the connection ------------------------------------------------------------------------------------
    def _connect(self) -> socket.socket:
        try:
            sock = socket.create_connection((self._host, self._port), timeout=self._timeout)
        except OSError as exc:
            raise SinkUnavailable(f"{self.describe()} is unreachable ({_why(exc)})") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if self._ssl is None:
            return sock
        try:
            return self._ssl.wrap_socket(sock, server_hostname=self._server_name)
        except ssl.SSLCertVerificationError as exc:
            sock.close()
            raise not_trusted(self.describe(), str(exc.verify_message)) from None
        except (OSError, ssl.SSLError) as exc:
            sock.close()
            raise SinkUnavailable(f"{self.describe()}: TLS handshake failed ({_why(exc)})") from None

    # -- the contract --------------------------------------------------------------------------------------
    def open(self) -> None:
        """Reach the receiver once (and complete TLS), so a wrong address or certificate shows at start."""
        sock = self._connect()
        try:
            self._end_of_stream(sock)
        except (OSError, ValueError) as exc:
            raise SinkUnavailable(f"{self.describe()} dropped the first connection ({_why(exc)})") from None
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    def send(self, batch: Sequence[Item]) -> BatchResult:
        frames: list[bytes] = []
        rejected: list[Rejected] = []
        for item in batch:
            data = message(item, pri=self._pri, hostname=self._hostname, app_name=self._app_name)
            if len(data) > self._max:
                rejected.append(Rejected(item.seq, item.event_id, f"syslog message of {len(data)} bytes is over "
                                         f"max_message_bytes={self._max}"))
            else:
                frames.append(frame(data))
        # One connection per batch, closed from our side first: the receiver's orderly close in answer is
        # its word that it read every byte before our end of stream (a receiver that closes with bytes
        # unread resets the connection instead).
        sock = self._connect()
        try:
            sock.sendall(b"".join(frames))
            self._end_of_stream(sock)
        except (OSError, ValueError) as exc:
            raise SinkUnavailable(f"{self.describe()} did not take the whole batch ({_why(exc)})") from None
        finally:
            with contextlib.suppress(OSError):
                sock.close()
        return BatchResult(rejected=tuple(rejected))

    def _end_of_stream(self, sock: socket.socket) -> None:
        """Close our side and wait (bounded) for the receiver to close its side after reading everything."""
        if isinstance(sock, ssl.SSLSocket):
            # Our close_notify; the receiver answers with its own (or a plain TCP close) only after reading
            # every record before it. A reset instead raises, and the batch is sent again.
            with contextlib.suppress(ssl.SSLEOFError):
                sock.unwrap()
            return
        sock.shutdown(socket.SHUT_WR)
        deadline = self._clock() + self._timeout
        while sock.recv(4096):  # a syslog receiver sends nothing; whatever it does send is ignored
            if self._clock() > deadline:
                raise SinkUnavailable(f"{self.describe()} did not close the connection after the batch")

    def close(self) -> None:
        pass  # each batch's connection is closed when the batch is done


def _code(value: str, names: Mapping[str, int], what: str, highest: int) -> int:
    if value.isdigit() and int(value) <= highest:
        return int(value)
    if value.lower() in names:
        return names[value.lower()]
    raise SinkConfigError(f"{what} {value!r}: one of {', '.join(names)} (or 0-{highest})")


def _why(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason)
    if isinstance(exc, OSError) and exc.errno is not None and exc.errno in errno.errorcode:
        return errno.errorcode[exc.errno]
    return type(exc).__name__
