"""``s3://bucket/prefix``: the archive as JSONL or Parquet objects partitioned by day, exactly once.

``s3://audit-lake/openai?format=parquet&region=eu-west-1``; ``endpoint_url=`` for an S3-compatible store
(MinIO, Ceph, a local emulator). Credentials: ``s3://KEY_ID@bucket/...`` with the secret key as the
password (``?password_env=VAR`` or ``?password_file=PATH``), or boto3's usual chain (environment, profile,
instance role) when the URL names none. The objects and their names are `_layout`'s, so a re-sent batch
overwrites its own objects; a PUT is atomic, so an object is whole or absent. The PUT's success is the
acknowledgement.

Needs ``pip install 'openapiopenai[sinks-s3]'`` (boto3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import urlsplit

from openapiopenai.configuration import is_loopback_host
from openapiopenai.sinks._base import (
    BatchResult,
    Item,
    Sink,
    SinkConfigError,
    SinkFailed,
    SinkUnavailable,
    SinkURL,
    import_extra,
)
from openapiopenai.sinks._layout import batch_files, check_format

__all__ = ["S3Sink"]

_KNOWN = {"format", "region", "endpoint_url"}
_CONTENT_TYPES = {"jsonl": "application/x-ndjson", "parquet": "application/vnd.apache.parquet"}
#: S3 answers that mean "try again later" rather than "no".
_TRANSIENT_CODES = frozenset({"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable",
                              "RequestTimeTooSkewed", "Throttling", "ThrottlingException"})


class S3Sink(Sink):
    scheme: ClassVar[tuple[str, ...]] = ("s3",)
    guarantee: ClassVar[str] = "exactly-once"
    # Fewer, larger files: each costs a flush to disk (or a PUT), and readers prefer them.
    preferred_batch: ClassVar[int | None] = 10_000

    def __init__(self, url: SinkURL, *, options: Mapping[str, str]) -> None:
        super().__init__(url, options=options)
        unknown = {k for k in url.query if not k.endswith(("_env", "_file"))} - _KNOWN
        if unknown:
            raise SinkConfigError(f"s3 sink: unknown parameter {sorted(unknown)[0]!r} (known: {', '.join(sorted(_KNOWN))})")
        if not url.host:
            raise SinkConfigError("s3 sink: no bucket given (s3://bucket/prefix)")
        self.bucket = url.host
        self.prefix = url.path.strip("/")
        self.format = url.query.get("format", "jsonl")
        self.endpoint_url = url.query.get("endpoint_url")
        if self.endpoint_url is not None:
            parts = urlsplit(self.endpoint_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise SinkConfigError("s3 sink: endpoint_url must be an http(s) URL")
            if (parts.scheme == "http" and not is_loopback_host(parts.hostname)
                    and not options.get("allow_insecure_http")):
                raise SinkConfigError("s3 sink: plain http endpoint beyond loopback; use https or"
                                      " --allow-insecure-http if this network is trusted")
        if (url.username is None) != (url.password is None):
            raise SinkConfigError("s3 sink: give both the access key id (as the user) and the secret key"
                                  " (as the password), or neither to use boto3's credential chain")
        self._client: Any = None

    def describe(self) -> str:
        return self.url.redacted()

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def open(self) -> None:
        check_format(self.format)
        boto3: Any = import_extra("boto3", "sinks-s3")
        from botocore.config import Config

        credentials: dict[str, str] = {}
        if self.url.username is not None and self.url.password is not None:
            credentials = {"aws_access_key_id": self.url.username,
                           "aws_secret_access_key": self.url.password.reveal()}
        session = boto3.session.Session(region_name=self.url.query.get("region"), **credentials)
        self._client = session.client(
            "s3", endpoint_url=self.endpoint_url,
            # Our own backoff is the shipper's; boto3 only smooths over a single hiccup.
            config=Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=60))
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            self._client = None
            raise self._error(exc, at_start=True) from None

    def _error(self, exc: Exception, *, at_start: bool) -> Exception:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        where = f"s3://{self.bucket}"
        if isinstance(exc, NoCredentialsError):
            return SinkConfigError(f"{where}: no AWS credentials (give them in the URL or boto3's usual places)")
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            text = f"{where}: {code or status} {error.get('Message', '')}".strip()
            if code in _TRANSIENT_CODES or status >= 500 or status == 429:
                return SinkUnavailable(text)
            if status in (403, 404) or code in ("NoSuchBucket", "AccessDenied", "InvalidAccessKeyId",
                                                "SignatureDoesNotMatch"):
                if status == 404 and not code.startswith("NoSuch"):
                    text = f"{where}: no such bucket"
                elif status == 403:
                    text += " (check the credentials and the bucket's policy)"
                return SinkConfigError(text) if at_start else SinkFailed(text)
            return SinkFailed(text)
        if isinstance(exc, BotoCoreError):   # connection refused, reset, timed out
            return SinkUnavailable(f"{where}: {exc}")
        return SinkFailed(f"{where}: {type(exc).__name__}: {exc}")

    def send(self, batch: Sequence[Item]) -> BatchResult:
        if self._client is None:
            raise SinkFailed("s3 sink: send before open")
        for file in batch_files(batch, self.format):
            try:
                self._client.put_object(Bucket=self.bucket, Key=self._key(file.name), Body=file.data,
                                        ContentType=_CONTENT_TYPES[self.format])
            except Exception as exc:
                raise self._error(exc, at_start=False) from None
        return BatchResult()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
