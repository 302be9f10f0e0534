"""How a batch becomes files: partitioned by day, named by the batch, encoded as JSONL or Parquet.

Shared by the directory sink (`files`) and the object-storage sink (`s3`). A batch's events go to one
file per UTC day of their `effective_at`, ``dt=YYYY-MM-DD/part-<first seq>-<last seq>.<ext>``. The name
depends only on the batch, and the shipper re-sends an unacknowledged batch exactly as it was (same
bounds, same events), so a re-sent batch overwrites its own earlier files: exactly once, with no
de-duplication left to the reader.

JSONL holds each event's archived JSON as is, one per line (raw), or the mapped document (ocsf/ecs).
Parquet has the columns id, effective_at (UTC timestamp), type, raw and, for a mapped schema, doc
(the document as JSON text).
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from openapiopenai.sinks._base import Item, SinkConfigError, import_extra

__all__ = ["FORMATS", "BatchFile", "batch_files", "check_format"]

FORMATS = ("jsonl", "parquet")
_EXTENSIONS = {"jsonl": "jsonl", "parquet": "parquet"}


@dataclass(frozen=True)
class BatchFile:
    name: str
    """Relative path: ``dt=YYYY-MM-DD/part-<first>-<last>.<ext>``."""
    data: bytes
    events: int


def check_format(fmt: str) -> None:
    """Refuse an unknown format, and Parquet without pyarrow, before anything is written."""
    if fmt not in FORMATS:
        raise SinkConfigError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "parquet":
        import_extra("pyarrow", "parquet")


def _day(effective_at: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(effective_at))


def batch_files(batch: Sequence[Item], fmt: str) -> list[BatchFile]:
    """The files of one batch, one per day, in day order."""
    if not batch:
        return []
    by_day: dict[str, list[Item]] = {}
    for item in batch:
        by_day.setdefault(_day(item.effective_at), []).append(item)
    stem = f"part-{batch[0].seq:012d}-{batch[-1].seq:012d}.{_EXTENSIONS[fmt]}"
    encode = _jsonl if fmt == "jsonl" else _parquet
    return [BatchFile(f"dt={day}/{stem}", encode(items), len(items)) for day, items in sorted(by_day.items())]


def _line(item: Item) -> str:
    if item.doc is not None:
        return msgspec.json.encode(item.doc).decode()
    raw = item.raw
    # JSON has no line break inside a string (they are escaped), so one in raw is whitespace between
    # tokens; replacing it keeps the same JSON on one line. The service sends none.
    if "\n" in raw or "\r" in raw:
        raw = raw.replace("\r", " ").replace("\n", " ")
    return raw


def _jsonl(items: Sequence[Item]) -> bytes:
    return ("\n".join([_line(item) for item in items]) + "\n").encode()


def _parquet(items: Sequence[Item]) -> bytes:
    pa: Any = import_extra("pyarrow", "parquet")
    pq: Any = import_extra("pyarrow.parquet", "parquet")
    columns: dict[str, Any] = {
        "id": pa.array([i.event_id for i in items], pa.string()),
        "effective_at": pa.array([i.effective_at for i in items], pa.int64()).cast(pa.timestamp("s", tz="UTC")),
        "type": pa.array([i.event_type for i in items], pa.string()),
        "raw": pa.array([i.raw for i in items], pa.string()),
    }
    if items[0].doc is not None:
        columns["doc"] = pa.array([msgspec.json.encode(i.doc).decode() for i in items], pa.string())
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink, compression="zstd")
    return sink.getvalue()
