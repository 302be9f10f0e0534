"""Elasticsearch and OpenSearch: the `_bulk` API into the data stream ``logs-openai.audit-<namespace>``.

    elasticsearch+https://elastic@es.example:9200?password_env=ES_PASSWORD&namespace=prod
    elasticsearch+https://es.example:9200?api_key_env=ES_API_KEY
    opensearch+https://admin@os.example:9200?password_file=/run/secrets/os

Each event is a ``create`` action whose ``_id`` is the event id, so a batch sent twice (the shipper re-sends
the one it had no answer for) finds its events already there: the per-item 409 is "delivered before", and
the data stream holds each event once. Per item, a 429 or 5xx is a momentary refusal: those items alone are
sent again a few times, then the whole batch goes back to the shipper as unavailable. Any other per-item
error (a mapping conflict, a document the cluster cannot parse) will fail every time, so it comes back as
`Rejected` for the dead letters. The one hole the server leaves: ``_id`` is unique per backing index, so a
re-sent batch that straddles a rollover of the data stream can store an event twice.

The documents are ECS by default (the shipper maps them); with ``--schema raw`` each is a minimal ECS
envelope carrying the event as the service sent it in ``event.original``. Elasticsearch's built-in ``logs-*-*``
template makes the data stream; OpenSearch has no such template, so there the name is a plain index unless the
cluster has a data-stream template for it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import msgspec

from openapiopenai._retry import parse_retry_after
from openapiopenai.sinks._base import (
    BatchResult,
    Item,
    Rejected,
    Sink,
    SinkConfigError,
    SinkFailed,
    SinkUnavailable,
    SinkURL,
    import_extra,
)
from openapiopenai.sinks._net import (
    COMMON_SETTINGS,
    ITEM_RETRIES,
    Settings,
    backoff_delay,
    one_line,
    refuse_untrusted,
    utc_timestamp,
)

__all__ = ["ElasticsearchSink", "OpenSearchSink"]

_SETTINGS = COMMON_SETTINGS | {"namespace"}
#: A data stream namespace as Elastic's naming scheme allows: lower case, none of its separators.
_NAMESPACE = re.compile(r"[a-z0-9_.]{1,100}")
#: Per-item statuses that may pass on another try.
_TRANSIENT = frozenset({429}) | frozenset(range(500, 600))
_encode = msgspec.json.Encoder().encode


class _Refused(Exception):
    """The cluster answered the whole request with an error status."""

    def __init__(self, status: int, kind: str, retry_after: float | None = None) -> None:
        super().__init__(status, kind)
        self.status = status
        self.kind = kind
        self.retry_after = retry_after


class _Down(Exception):
    """No answer: refused, reset, timed out, or TLS failed."""


def document(item: Item) -> bytes:
    """The `_source` of `item`: its mapped document with a ``@timestamp`` (a data stream needs one), or for
    the raw schema the event's own bytes inside a minimal ECS envelope."""
    if item.doc is None:
        return _encode({
            "@timestamp": utc_timestamp(item.effective_at),
            "event": {"id": item.event_id, "action": item.event_type, "kind": "event",
                      "dataset": "openai.audit", "original": item.raw},
        })
    if "@timestamp" in item.doc:
        return _encode(item.doc)
    return _encode({"@timestamp": utc_timestamp(item.effective_at), **item.doc})


def bulk_body(items: Sequence[Item], documents: Mapping[str, bytes]) -> bytes:
    """NDJSON ``create`` actions with ``_id`` = the event id; the target is in the request path."""
    parts: list[bytes] = []
    for item in items:
        parts.append(b'{"create":{"_id":' + _encode(item.event_id) + b"}}\n")
        parts.append(documents[item.event_id] + b"\n")
    return b"".join(parts)


class ElasticsearchSink(Sink):
    scheme: ClassVar[tuple[str, ...]] = ("elasticsearch+https", "elasticsearch+http")
    guarantee: ClassVar[str] = "exactly-once"
    default_schema: ClassVar[str] = "ecs"
    product: ClassVar[str] = "Elasticsearch"

    def __init__(self, url: SinkURL, *, options: Mapping[str, str]) -> None:
        super().__init__(url, options=options)
        settings = Settings(url, options, _SETTINGS)
        self._tls = url.scheme.endswith("+https")
        settings.endpoint(tls=self._tls)
        namespace = settings.text("namespace", "default") or ""
        if not _NAMESPACE.fullmatch(namespace):
            raise SinkConfigError(f"namespace {namespace!r}: lower-case letters, digits, '_' and '.' only "
                                  "(at most 100)")
        self.data_stream = f"logs-openai.audit-{namespace}"
        """Where the events go."""
        self._timeout = settings.timeout()
        self._ssl = settings.ssl_context() if self._tls else None
        self._verify = settings.flag("verify", True)
        self._client_cert = (settings.text("cert_file"), settings.text("key_file"))
        api_key = url.secret("api_key")
        if api_key is not None and url.password is not None:
            raise SinkConfigError(f"{url.scheme}:// sink: give a password or an api_key, not both")
        if api_key is None and (url.username is None or url.password is None):
            raise SinkConfigError(f"{url.scheme}:// sink needs credentials: user@host with password_env=VAR "
                                  "(or password_file=PATH), or api_key_env=VAR")
        self._client: Any = None
        self._sleep: Callable[[float], None] = time.sleep
        """The in-batch retry's wait: a seam so tests need not wait."""

    # -- the library ---------------------------------------------------------------------------------------
    def _base_url(self) -> str:
        host = self.url.host or ""
        shown = f"[{host}]" if ":" in host else host
        return f"{'https' if self._tls else 'http'}://{shown}:{self.url.port or 9200}{self.url.path.rstrip('/')}"

    def _connect(self) -> Any:
        library = import_extra("elasticsearch", "sinks-elasticsearch")
        auth: dict[str, Any] = {}
        api_key = self.url.secret("api_key")
        if api_key is not None:
            auth["api_key"] = api_key.reveal()
        elif self.url.username is not None and self.url.password is not None:
            auth["basic_auth"] = (self.url.username, self.url.password.reveal())
        auth.update(self._tls_arguments())
        # The shipper owns waiting and retrying; the client's own retries would hide outages from it.
        return library.Elasticsearch(self._base_url(), request_timeout=self._timeout, max_retries=0,
                                     retry_on_timeout=False, **auth)

    def _tls_arguments(self) -> dict[str, Any]:
        """Both clients take our TLS context, except to skip verification: urllib3 then insists on its own
        flags (and would warn on every request unless told the user chose this)."""
        if self._ssl is None:
            return {}
        if self._verify:
            return {"ssl_context": self._ssl}
        cert, key = self._client_cert
        return {"verify_certs": False, "ssl_show_warn": False, **({"client_cert": cert} if cert else {}),
                **({"client_key": key} if key else {})}

    def _call(self, operation: Callable[[], Any]) -> Any:
        """Run one request, turning the library's errors into `_Refused` / `_Down`."""
        library = import_extra("elasticsearch", "sinks-elasticsearch")
        try:
            return operation()
        except library.UnsupportedProductError:
            raise SinkConfigError(f"{self.describe()} is not {self.product}: it does not send the "
                                  "X-Elastic-Product header the client requires") from None
        except library.ApiError as exc:
            body = exc.body if isinstance(exc.body, dict) else {}
            error = body.get("error")
            kind = error.get("type", "") if isinstance(error, dict) else str(error or "")
            raise _Refused(exc.meta.status, one_line(kind, 80),
                           parse_retry_after(exc.meta.headers.get("retry-after"))) from None
        except library.TransportError as exc:
            refuse_untrusted(self.describe(), exc)
            raise _Down(type(exc).__name__) from None

    # -- the contract --------------------------------------------------------------------------------------
    def open(self) -> None:
        if self._client is not None:
            return
        client = self._connect()
        try:
            self._call(client.info)
        except _Refused as exc:
            client.close()
            if exc.status in (401, 403):
                raise SinkConfigError(f"{self.describe()} refused the credentials ({exc.status} {exc.kind})") \
                    from None
            raise _unavailable(self.describe(), exc) from None
        except _Down as exc:
            client.close()
            raise SinkUnavailable(f"{self.describe()} is unreachable ({exc})") from None
        except BaseException:
            client.close()
            raise
        self._client = client

    def _bulk(self, body: bytes) -> Mapping[str, Any]:
        client = self._client
        response = self._call(lambda: client.bulk(operations=body, index=self.data_stream))
        return dict(response.body)

    def send(self, batch: Sequence[Item]) -> BatchResult:
        if self._client is None:
            raise RuntimeError("send() before open()")
        documents = {item.event_id: document(item) for item in batch}
        pending = list(batch)
        rejected: list[Rejected] = []
        duplicates = 0
        for attempt in range(ITEM_RETRIES + 1):
            if attempt:
                self._sleep(backoff_delay(attempt))
            try:
                answer = self._bulk(bulk_body(pending, documents))
            except _Refused as exc:
                if exc.status in (401, 403):
                    raise SinkFailed(f"{self.describe()} refused the credentials ({exc.status} {exc.kind})") \
                        from None
                if exc.status == 413:
                    raise SinkFailed(f"{self.describe()}: a batch of {len(pending)} is larger than the "
                                     "cluster accepts (413); ship with a smaller --batch") from None
                if exc.status in _TRANSIENT or exc.status == 408:
                    raise _unavailable(self.describe(), exc) from None
                raise SinkFailed(f"{self.describe()} refused the bulk request ({exc.status} {exc.kind})") \
                    from None
            except _Down as exc:
                raise SinkUnavailable(f"{self.describe()} is unreachable ({exc})") from None
            results = answer.get("items")
            if not isinstance(results, list) or len(results) != len(pending):
                raise SinkUnavailable(f"{self.describe()} answered the bulk request without one result per "
                                      "item")
            again: list[Item] = []
            last_refusal = ""
            for item, result in zip(pending, results, strict=True):
                outcome = next(iter(result.values())) if isinstance(result, dict) and result else {}
                status = int(outcome.get("status", 0))
                if 200 <= status < 300:
                    continue
                if status == 409:
                    duplicates += 1
                elif status in _TRANSIENT or status == 0:  # no status: not a verdict on the event
                    again.append(item)
                    last_refusal = f"{status} {_kind(outcome)}"
                else:
                    rejected.append(Rejected(item.seq, item.event_id, _reason(status, outcome)))
            if not again:
                return BatchResult(rejected=tuple(rejected), duplicates=duplicates)
            pending = again
        raise SinkUnavailable(f"{self.describe()}: {len(pending)} of {len(batch)} events still refused "
                              f"({last_refusal}) after {ITEM_RETRIES + 1} tries")

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()


class OpenSearchSink(ElasticsearchSink):
    scheme: ClassVar[tuple[str, ...]] = ("opensearch+https", "opensearch+http")
    product: ClassVar[str] = "OpenSearch"

    def __init__(self, url: SinkURL, *, options: Mapping[str, str]) -> None:
        if url.secret("api_key") is not None:
            raise SinkConfigError("opensearch+https:// sink: OpenSearch takes a username and password, not an "
                                  "api_key")
        super().__init__(url, options=options)

    def _connect(self) -> Any:
        library = import_extra("opensearchpy", "sinks-opensearch")
        host: dict[str, Any] = {"host": self.url.host, "port": self.url.port or 9200}
        if self.url.path.strip("/"):
            host["url_prefix"] = self.url.path.rstrip("/")
        extra = self._tls_arguments()
        assert self.url.username is not None and self.url.password is not None
        return library.OpenSearch(hosts=[host], use_ssl=self._tls, timeout=self._timeout, max_retries=0,
                                  retry_on_timeout=False,
                                  http_auth=(self.url.username, self.url.password.reveal()), **extra)

    def _call(self, operation: Callable[[], Any]) -> Any:
        library = import_extra("opensearchpy", "sinks-opensearch")
        try:
            return operation()
        except library.ConnectionError as exc:
            refuse_untrusted(self.describe(), exc)
            raise _Down(type(exc).__name__) from None
        except library.TransportError as exc:
            if not isinstance(exc.status_code, int):
                raise _Down(type(exc).__name__) from None
            raise _Refused(exc.status_code, one_line(exc.error, 80)) from None

    def _bulk(self, body: bytes) -> Mapping[str, Any]:
        client = self._client
        return dict(self._call(lambda: client.bulk(body=body, index=self.data_stream)))


def _unavailable(where: str, exc: _Refused) -> SinkUnavailable:
    said = f"{exc.status} {exc.kind}" if exc.kind else str(exc.status)
    return SinkUnavailable(f"{where} is busy or failing ({said})", retry_after=exc.retry_after)


def _kind(outcome: Mapping[str, Any]) -> str:
    error = outcome.get("error")
    return one_line(error.get("type", ""), 80) if isinstance(error, dict) else ""


def _reason(status: int, outcome: Mapping[str, Any]) -> str:
    error = outcome.get("error")
    reason = error.get("reason", "") if isinstance(error, dict) else error
    return one_line(f"{status} {_kind(outcome)}: {reason}")
