"""`file://DIR`: the archive as JSONL or Parquet files in a directory, partitioned by day, exactly once.

``file:///var/log/openai`` (absolute) or ``file://audit-out`` (relative to the current directory);
``?format=jsonl`` (default) or ``?format=parquet``. The layout and names are `_layout`'s. A file appears
whole or not at all: it is written under a hidden temporary name, flushed to disk, then renamed over its
final name (which a re-sent batch therefore replaces); the directory is flushed too before the batch is
acknowledged, so an acknowledged batch survives a power cut.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

from openapiopenai.sinks._base import (
    BatchResult,
    Item,
    Sink,
    SinkConfigError,
    SinkFailed,
    SinkUnavailable,
    SinkURL,
)
from openapiopenai.sinks._batch import Batch
from openapiopenai.sinks._layout import BatchFile, batch_files, check_format

__all__ = ["FileSink"]

#: Failures that may pass (space freed, the disk back): retried by the shipper rather than fatal.
_TRANSIENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EAGAIN, errno.EINTR})
_TEMP_PREFIX = ".tmp-"


class FileSink(Sink):
    scheme: ClassVar[tuple[str, ...]] = ("file",)
    guarantee: ClassVar[str] = "exactly-once"
    # Fewer, larger files: each costs a flush to disk (or a PUT), and readers prefer them.
    preferred_batch: ClassVar[int | None] = 10_000

    def __init__(self, url: SinkURL, *, options: Mapping[str, str]) -> None:
        super().__init__(url, options=options)
        unknown = set(url.query) - {"format"}
        if unknown:
            raise SinkConfigError(f"file sink: unknown parameter {sorted(unknown)[0]!r} (known: format)")
        if url.username or url.password or url.port:
            raise SinkConfigError("file sink: the URL takes a directory only, like file:///var/log/openai")
        # file:///abs/dir has an empty host; in file://rel/dir the "host" is the first path segment.
        if not (url.host or url.path.strip("/")):
            raise SinkConfigError("file sink: no directory given (file:///path/to/dir or file://relative/dir)")
        self.root = Path((url.host or "") + url.path)
        self.format = url.query.get("format", "jsonl")
        # JSONL holds the archived JSON (or the mapped document) only; Parquet has id and type columns.
        self.reads_event_fields = self.format != "jsonl"

    def describe(self) -> str:
        return f"file://{self.root.absolute()}" + ("" if self.format == "jsonl" else f"?format={self.format}")

    def open(self) -> None:
        check_format(self.format)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SinkConfigError(f"file sink: cannot create {self.root} ({exc.strerror or exc})") from None
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise SinkConfigError(f"file sink: {self.root} is not writable")
        self._remove_leftovers()

    def _remove_leftovers(self) -> None:
        # Temporary files of a run killed mid-write: never renamed, so never part of the output.
        for day in self.root.glob("dt=*"):
            for temp in day.glob(f"{_TEMP_PREFIX}*"):
                with contextlib.suppress(OSError):
                    temp.unlink()

    def prepare(self, batch: Sequence[Item]) -> list[BatchFile]:
        # The encoding (the JSONL join, Parquet's columns and compression) is the batch's alone: done in
        # the shipper's read-ahead thread while the batch before waits for its fsync.
        return batch_files(batch, self.format)

    def send(self, batch: Sequence[Item]) -> BatchResult:
        prepared = batch.prepared if isinstance(batch, Batch) else None
        files: list[BatchFile] = prepared if prepared is not None else batch_files(batch, self.format)
        try:
            dirs: set[Path] = set()
            new_day = False
            for file in files:
                final = self.root / file.name
                if not final.parent.is_dir():
                    final.parent.mkdir(exist_ok=True)
                    new_day = True
                temp = final.with_name(f"{_TEMP_PREFIX}{os.getpid()}-{final.name}")
                with open(temp, "wb") as fh:
                    fh.write(file.data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(temp, final)
                dirs.add(final.parent)
            # The renames, and a new day's folder, last only once their folders are on disk too.
            for directory in sorted(dirs):
                _fsync_dir(directory)
            if new_day:
                _fsync_dir(self.root)
        except OSError as exc:
            message = f"file sink: cannot write to {self.root} ({exc.strerror or exc})"
            if exc.errno in _TRANSIENT_ERRNOS:
                raise SinkUnavailable(message) from None
            raise SinkFailed(message) from None
        return BatchResult()

    def close(self) -> None:
        return None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
