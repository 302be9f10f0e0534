"""Splunk's HTTP Event Collector, a batch counting as delivered only once Splunk says it is indexed.

    splunk-hec+https://splunk.example:8088?token_env=SPLUNK_HEC_TOKEN&index=audit
    splunk-hec+https://http-inputs-acme.splunkcloud.com?token_file=/run/secrets/hec&sourcetype=openai:audit

Splunk publishes no HEC client library (its SDK speaks the management API), so this is HTTP through httpx.
A batch goes out as one or more POSTs of concatenated event objects to ``/services/collector/event`` on a
channel of this sink (``X-Splunk-Request-Channel``, a GUID); each POST's answer carries an ``ackId``, and
``/services/collector/ack`` is polled until every one is true, which Splunk reports only once the events
are indexed. An answer that never comes (an indexer restart loses pending acks) ends the wait after
``ack_timeout`` seconds: the batch is unavailable and the shipper sends it again. So delivery is at least
once: each event carries its id as the indexed field ``event_id`` (and inside the event itself), for
de-duplicating at search time (``| dedup event_id``).

Each event: ``time`` (the event's ``effective_at``), ``host``, ``source``, ``sourcetype``, ``index`` when
given, ``fields`` {event_id, event_type}, and ``event``: the service's JSON as it was sent (raw schema) or
the mapped document.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import httpx
import msgspec

from openapiopenai._retry import parse_retry_after
from openapiopenai.sinks._base import (
    BatchResult,
    Item,
    Rejected,
    Sink,
    SinkConfigError,
    SinkError,
    SinkFailed,
    SinkUnavailable,
    SinkURL,
)
from openapiopenai.sinks._net import COMMON_SETTINGS, Settings, one_line, refuse_untrusted

__all__ = ["SplunkHecSink"]

_SETTINGS = COMMON_SETTINGS | {"index", "source", "sourcetype", "host", "channel", "ack", "ack_timeout",
                               "max_request_bytes"}
_EVENT_PATH = "/services/collector/event"
_ACK_PATH = "/services/collector/ack"
#: Splunk's documented default of ``max_content_length`` was 1 MB for years; stay under it unless told.
DEFAULT_MAX_REQUEST_BYTES = 1_000_000
#: How long a batch may wait for its indexer acknowledgement before it is sent again.
DEFAULT_ACK_TIMEOUT = 120.0
#: Ack polling starts fast (a healthy indexer acks within a second or two) and slows to this.
FIRST_ACK_POLL = 0.1
MAX_ACK_POLL = 2.0
#: HEC codes meaning one event of the request is bad (the answer names it by `invalid-event-number`).
_BAD_EVENT_CODES = frozenset({6, 12, 13, 15})
_encode = msgspec.json.Encoder().encode


class SplunkHecSink(Sink):
    scheme: ClassVar[tuple[str, ...]] = ("splunk-hec+https", "splunk-hec+http")
    guarantee: ClassVar[str] = "at-least-once"
    default_schema: ClassVar[str] = "raw"

    def __init__(self, url: SinkURL, *, options: Mapping[str, str]) -> None:
        super().__init__(url, options=options)
        settings = Settings(url, options, _SETTINGS)
        self._tls = url.scheme.endswith("+https")
        host = settings.endpoint(tls=self._tls)
        token = url.secret("token") or url.password
        if token is None or not token.reveal():
            raise SinkConfigError("splunk-hec:// sink needs the HEC token: token_env=VAR or token_file=PATH")
        self._token = token
        self._ack = settings.flag("ack", True)
        self._ack_timeout = settings.number("ack_timeout", DEFAULT_ACK_TIMEOUT, low=0.1, high=3600)
        self._timeout = settings.timeout()
        self._max_bytes = int(settings.number("max_request_bytes", DEFAULT_MAX_REQUEST_BYTES, low=1024,
                                              high=800_000_000))
        channel = settings.text("channel") or str(uuid.uuid4())
        try:
            self.channel = str(uuid.UUID(channel))
            """The HEC channel of this sink: acknowledgements are per channel."""
        except ValueError:
            raise SinkConfigError(f"channel must be a GUID, not {channel!r}") from None
        envelope: dict[str, Any] = {
            "host": settings.text("host") or socket.gethostname(),
            "source": settings.text("source", "openapiopenai"),
            "sourcetype": settings.text("sourcetype", "openai:audit"),
        }
        if settings.text("index"):
            envelope["index"] = settings.text("index")
        self._envelope = envelope
        shown = f"[{host}]" if ":" in host else host
        self._base = (f"{'https' if self._tls else 'http'}://{shown}:{url.port or 8088}"
                      f"{url.path.rstrip('/')}")
        self._verify = settings.ssl_context() if self._tls else False
        self._client: httpx.Client | None = None
        self._clock: Callable[[], float] = time.monotonic
        self._sleep: Callable[[float], None] = time.sleep
        """Ack polling waits through these seams, so tests need not wait."""

    # -- one event, one request ----------------------------------------------------------------------------
    def event(self, item: Item) -> bytes:
        """The HEC event object for `item`: the envelope, then the event itself as it was sent."""
        head = _encode({"time": item.effective_at, **self._envelope,
                        "fields": {"event_id": item.event_id, "event_type": item.event_type}})
        body = item.raw.encode() if item.doc is None else _encode(item.doc)
        return head[:-1] + b',"event":' + body + b"}"

    def _post(self, path: str, body: bytes) -> httpx.Response:
        assert self._client is not None
        try:
            return self._client.post(path, content=body)
        except httpx.TransportError as exc:
            refuse_untrusted(self.describe(), exc)
            raise SinkUnavailable(f"{self.describe()} is unreachable ({type(exc).__name__})") from None

    def _refused(self, response: httpx.Response, *, opening: bool = False) -> SinkError:
        """The error for a HEC answer that is not a success."""
        code, text = _code(response)
        said = f"{response.status_code} code {code} {text}".strip()
        if response.status_code in (401, 403):
            kind: type[SinkError] = SinkConfigError if opening else SinkFailed
            return kind(f"{self.describe()} refused the token ({said})")
        if response.status_code == 429 or response.status_code >= 500:
            return SinkUnavailable(f"{self.describe()} is busy or failing ({said})",
                                   retry_after=parse_retry_after(response.headers.get("retry-after")))
        if code == 7:
            return SinkFailed(f"{self.describe()}: the token may not write to index "
                              f"{self._envelope.get('index')!r} ({said})")
        return (SinkConfigError if opening else SinkFailed)(f"{self.describe()} refused the request ({said})")

    # -- the contract --------------------------------------------------------------------------------------
    def open(self) -> None:
        if self._client is not None:
            return
        self._client = httpx.Client(
            base_url=self._base, verify=self._verify, timeout=self._timeout, follow_redirects=False,
            headers={"Authorization": f"Splunk {self._token.reveal()}", "X-Splunk-Request-Channel": self.channel,
                     "Content-Type": "application/json"})
        # Splunk has no "who am I" for a HEC token, but it checks the token before the body: an empty
        # request is "No data" (400 code 5) for a good token and 401/403 for a bad one.
        try:
            response = self._post(_EVENT_PATH, b"")
        except BaseException:
            self.close()
            raise
        code, _ = _code(response)
        if response.is_success or (response.status_code == 400 and code == 5):
            return
        error = self._refused(response, opening=True)
        self.close()
        if response.status_code == 404:
            raise SinkConfigError(f"{self.describe()} has no HTTP Event Collector at {_EVENT_PATH} (404)")
        raise error

    def send(self, batch: Sequence[Item]) -> BatchResult:
        if self._client is None:
            raise RuntimeError("send() before open()")
        rejected: list[Rejected] = []
        acks: set[int] = set()
        for chunk in self._chunks(batch):
            acks |= self._send_chunk(chunk, rejected)
        if acks:
            self._await_acks(acks)
        return BatchResult(rejected=tuple(rejected))

    def _chunks(self, batch: Sequence[Item]) -> list[list[tuple[Item, bytes]]]:
        chunks: list[list[tuple[Item, bytes]]] = [[]]
        size = 0
        for item in batch:
            event = self.event(item)
            if chunks[-1] and size + len(event) > self._max_bytes:
                chunks.append([])
                size = 0
            chunks[-1].append((item, event))
            size += len(event) + 1  # and the newline between events
        return [chunk for chunk in chunks if chunk]

    def _send_chunk(self, chunk: list[tuple[Item, bytes]], rejected: list[Rejected]) -> set[int]:
        """POST one request's events; the ack ids to wait for. An event Splunk calls malformed is rejected
        and the rest are sent again without it (each round drops one, so this ends)."""
        while chunk:
            response = self._post(_EVENT_PATH, b"\n".join(event for _, event in chunk))
            code, text = _code(response)
            if response.is_success:
                if not self._ack:
                    return set()
                ack_id = _json(response).get("ackId")
                if not isinstance(ack_id, int):
                    raise SinkFailed(f"{self.describe()} did not return an ackId: indexer acknowledgement is "
                                     "off for this token (turn it on, or ship with ack=false)")
                return {ack_id}
            bad = _json(response).get("invalid-event-number")
            if response.status_code == 400 and code in _BAD_EVENT_CODES and isinstance(bad, int) \
                    and 0 <= bad < len(chunk):
                item = chunk[bad][0]
                rejected.append(Rejected(item.seq, item.event_id, one_line(f"HEC code {code} {text}")))
                chunk = chunk[:bad] + chunk[bad + 1:]
                continue
            raise self._refused(response)
        return set()

    def _await_acks(self, acks: set[int]) -> None:
        deadline = self._clock() + self._ack_timeout
        wait = FIRST_ACK_POLL
        pending = set(acks)
        last_problem = "not yet indexed"
        while True:
            try:
                response = self._post(_ACK_PATH, _encode({"acks": sorted(pending)}))
            except SinkUnavailable as exc:
                response, last_problem = None, str(exc)
            if response is not None and response.is_success:
                status = _json(response).get("acks")
                if isinstance(status, dict):
                    pending -= {int(k) for k, v in status.items() if v is True and k.isdigit()}
                if not pending:
                    return
            elif response is not None:
                error = self._refused(response)
                if not isinstance(error, SinkUnavailable):
                    raise error
                last_problem = str(error)
            if self._clock() + wait > deadline:
                raise SinkUnavailable(f"{self.describe()} did not acknowledge {len(pending)} of {len(acks)} "
                                      f"requests as indexed within {self._ack_timeout:g}s ({last_problem}); "
                                      "the batch will be sent again")
            self._sleep(wait)
            wait = min(wait * 2, MAX_ACK_POLL)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _code(response: httpx.Response) -> tuple[int | None, str]:
    """HEC's own status code and text from an answer (a proxy's answer may have neither)."""
    body = _json(response)
    code = body.get("code")
    return (code if isinstance(code, int) else None), one_line(body.get("text", ""), 120)
