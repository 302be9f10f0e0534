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

import array
import io
import itertools
import operator
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from openapiopenai.sinks._base import Item, SinkConfigError, import_extra
from openapiopenai.sinks._batch import Batch

__all__ = ["FORMATS", "BatchFile", "batch_files", "check_format"]

FORMATS = ("jsonl", "parquet")
_EXTENSIONS = {"jsonl": "jsonl", "parquet": "parquet"}
_DAY = 86_400
_encode = msgspec.json.Encoder().encode


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


def _day(day: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(day * _DAY))


def batch_files(batch: Sequence[Item], fmt: str) -> list[BatchFile]:
    """The files of one batch, one per day, in day order."""
    batch = Batch.of(batch)
    if not batch:
        return []
    # The UTC day of each event, as a day number (floor division agrees with gmtime's date). Events come
    # in archiving order, which is mostly time order: a batch is a few runs of one day each, found by
    # comparing neighbours (in C), not by sorting every event into its day.
    days = [at // _DAY for at in batch.effective_at]
    starts = [0, *itertools.compress(range(1, len(days)), map(operator.ne, days, days[1:])), len(days)]
    groups: dict[int, list[tuple[int, int]] | None] = {}
    if len(starts) == 2:   # the usual batch: all of one day, nothing to pick
        groups[days[0]] = None
    else:
        for start, end in itertools.pairwise(starts):
            groups.setdefault(days[start], []).append((start, end))  # type: ignore[union-attr]
    stem = f"part-{batch.seq[0]:012d}-{batch.seq[-1]:012d}.{_EXTENSIONS[fmt]}"
    encode = _jsonl if fmt == "jsonl" else _parquet
    return [BatchFile(f"dt={_day(day)}/{stem}", encode(batch, runs),
                      len(batch) if runs is None else sum(end - start for start, end in runs))
            for day, runs in sorted(groups.items())]


#: The events of one file: runs (start, end) of the batch's positions, or None for the whole batch.
_Runs = list[tuple[int, int]] | None


def _pick(column: Sequence[Any], runs: _Runs) -> Sequence[Any]:
    if runs is None:
        return column
    return list(itertools.chain.from_iterable(column[start:end] for start, end in runs))


def _jsonl(batch: Batch, runs: _Runs) -> bytes:
    if batch.docs is not None:
        return b"".join([_encode(doc) + b"\n" for doc in _pick(batch.docs, runs)])
    raws = _pick(batch.raw, runs)
    # The last line's newline as one more (empty) line, not `+ b"\n"`: that copies the whole body again,
    # into memory fresh from the kernel (megabytes: page faults), which cost more than the join itself.
    body = b"\n".join([*raws, b""])
    if body.count(b"\n") == len(raws) and b"\r" not in body:
        return body
    # JSON has no line break inside a string (they are escaped), so one in raw is whitespace between
    # tokens; replacing it keeps the same JSON on one line. The service sends none.
    return b"".join([raw.replace(b"\r", b" ").replace(b"\n", b" ") + b"\n" for raw in raws])


def _strings(pa: Any, values: Sequence[bytes]) -> Any:
    """A string column straight from UTF-8 bytes: one buffer and its offsets, no str objects on the way."""
    offsets = array.array("i", itertools.accumulate(map(len, values), initial=0))
    column = pa.StringArray.from_buffers(len(values), pa.py_buffer(offsets), pa.py_buffer(b"".join(values)))
    column.validate(full=True)   # the archive stores text; this proves it is UTF-8 (a fast scan)
    return column


def _parquet(batch: Batch, runs: _Runs) -> bytes:
    pa: Any = import_extra("pyarrow", "parquet")
    pq: Any = import_extra("pyarrow.parquet", "parquet")
    columns: dict[str, Any] = {
        "id": pa.array(_pick(batch.event_id, runs), pa.string()),
        "effective_at": pa.array(_pick(batch.effective_at, runs), pa.int64()).cast(pa.timestamp("s", tz="UTC")),
        "type": pa.array(_pick(batch.event_type, runs), pa.string()),
        "raw": _strings(pa, _pick(batch.raw, runs)),
    }
    if batch.docs is not None:
        columns["doc"] = _strings(pa, [_encode(doc) for doc in _pick(batch.docs, runs)])
    sink = io.BytesIO()
    # Only `type` repeats enough for a dictionary; the others are unique per event, and trying one for
    # them (then falling back) costs a hash of every value. Statistics of whole JSON texts help no reader.
    pq.write_table(pa.table(columns), sink, compression="zstd", use_dictionary=["type"],
                   write_statistics=["id", "effective_at", "type"])
    return sink.getvalue()
