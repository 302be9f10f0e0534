"""A webhook: each batch is one POST of NDJSON (one event a line) to an HTTPS endpoint.

    https://hooks.example/audit?hmac_secret_env=HOOK_SECRET
    https://hooks.example/audit?token_file=/run/secrets/hook&code=receiver-own-parameter
    http://127.0.0.1:8080/ingest           (plain HTTP only to this machine, or with allow_insecure_http=true)

Every request carries an ``Idempotency-Key`` derived from the batch (a hash of its event ids), so the same
batch sent again (after a timeout, a crash of the shipper) carries the same key and a receiver that honours
the header (the IETF draft "The Idempotency-Key HTTP Header Field") stores it once; for one that does not,
delivery is at least once. With ``hmac_secret`` each request is signed: ``X-Openapiopenai-Timestamp`` (unix
seconds) and ``X-Openapiopenai-Signature: sha256=<hex>``, the HMAC-SHA256 of ``"<timestamp>." + body`` under the
secret, so a receiver can check origin and freshness. ``token`` is sent as ``Authorization: Bearer``.

A 2xx acknowledges the batch; 408, 409 (the same key still being processed, per the draft), 429 and 5xx
are transient (honouring ``Retry-After``); a redirect or any other 4xx fails the sink. Query parameters other
than this sink's settings and secrets stay in the URL the receiver is called with.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar
from urllib.parse import urlencode

import httpx
import msgspec

from openapiopenai._retry import parse_retry_after
from openapiopenai.sinks._base import (
    BatchResult,
    Item,
    Sink,
    SinkFailed,
    SinkUnavailable,
    SinkURL,
)
from openapiopenai.sinks._net import COMMON_SETTINGS, Settings, one_line, refuse_untrusted

__all__ = ["WebhookSink", "idempotency_key", "ndjson", "signature"]

_TRANSIENT = frozenset({408, 409, 429})
SIGNATURE_HEADER = "X-Openapiopenai-Signature"
TIMESTAMP_HEADER = "X-Openapiopenai-Timestamp"
_encode = msgspec.json.Encoder().encode


def idempotency_key(batch: Sequence[Item]) -> str:
    """The same for the same events in the same order, whenever and however often the batch is sent."""
    digest = hashlib.sha256()
    for item in batch:
        digest.update(item.event_id.encode())
        digest.update(b"\n")
    return digest.hexdigest()


def ndjson(batch: Sequence[Item]) -> bytes:
    """One event a line: the service's JSON as it was sent (raw schema) or the mapped document."""
    lines = []
    for item in batch:
        if item.doc is not None:
            lines.append(_encode(item.doc))
        elif "\n" in item.raw or "\r" in item.raw:
            # Only whitespace between tokens can hold a line break (JSON escapes it inside strings); NDJSON
            # needs the event on one line, so that whitespace, and only it, becomes a space.
            lines.append(item.raw.replace("\r", " ").replace("\n", " ").encode())
        else:
            lines.append(item.raw.encode())
    return b"\n".join(lines) + b"\n"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The value of the signature header: ``sha256=`` and the hex HMAC of ``"<timestamp>." + body``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


class WebhookSink(Sink):
    scheme: ClassVar[tuple[str, ...]] = ("https", "http")
    guarantee: ClassVar[str] = "at-least-once"
    default_schema: ClassVar[str] = "raw"

    def __init__(self, url: SinkURL, *, options: Mapping[str, str]) -> None:
        super().__init__(url, options=options)
        settings = Settings(url, options, COMMON_SETTINGS, strict=False)
        tls = url.scheme == "https"
        host = settings.endpoint(tls=tls)
        self._timeout = settings.timeout()
        self._verify = settings.ssl_context() if tls else False
        own = {k: v for k, v in url.query.items()
               if k not in COMMON_SETTINGS and not k.endswith(("_env", "_file"))}
        shown = f"[{host}]" if ":" in host else host
        port = f":{url.port}" if url.port is not None else ""
        self._target = f"{url.scheme}://{shown}{port}{url.path or '/'}" + (f"?{urlencode(own)}" if own else "")
        self._secret = url.secret("hmac_secret")
        self._token = url.secret("token")
        self._client: httpx.Client | None = None
        self._wall: Callable[[], float] = time.time
        """The signing clock: a seam for tests."""

    def open(self) -> None:
        # A webhook has no standard way to check a credential without delivering something: the first batch
        # is the check (a 401 then fails the sink).
        if self._client is None:
            headers = {"Content-Type": "application/x-ndjson"}
            if self._token is not None:
                headers["Authorization"] = f"Bearer {self._token.reveal()}"
            self._client = httpx.Client(verify=self._verify, timeout=self._timeout, follow_redirects=False,
                                        headers=headers)

    def send(self, batch: Sequence[Item]) -> BatchResult:
        if self._client is None:
            raise RuntimeError("send() before open()")
        body = ndjson(batch)
        headers = {"Idempotency-Key": idempotency_key(batch)}
        if self._secret is not None:
            timestamp = int(self._wall())
            headers[TIMESTAMP_HEADER] = str(timestamp)
            headers[SIGNATURE_HEADER] = signature(self._secret.reveal(), timestamp, body)
        try:
            response = self._client.post(self._target, content=body, headers=headers)
        except httpx.TransportError as exc:
            refuse_untrusted(self.describe(), exc)
            raise SinkUnavailable(f"{self.describe()} is unreachable ({type(exc).__name__})") from None
        if response.is_success:
            return BatchResult()
        said = f"{response.status_code} {one_line(response.reason_phrase, 60)}"
        detail = ""
        if response.headers.get("content-type", "").startswith(("text/plain", "application/json")):
            detail = response.text
            # A receiver that echoes the request's headers must not put our secrets into an error.
            for secret in (self._secret, self._token):
                if secret is not None and secret.reveal():
                    detail = detail.replace(secret.reveal(), "***")
            detail = one_line(detail, 120)
        if response.status_code in _TRANSIENT or response.status_code >= 500:
            raise SinkUnavailable(f"{self.describe()} is busy or failing ({said})",
                                  retry_after=parse_retry_after(response.headers.get("retry-after")))
        if response.is_redirect:
            raise SinkFailed(f"{self.describe()} redirects ({said}); give the final URL")
        raise SinkFailed(f"{self.describe()} refused the batch ({said}{': ' + detail if detail else ''})")

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()
