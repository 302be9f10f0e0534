"""OCSF events as Parquet in the layout Amazon Security Lake reads from a custom source.

Security Lake takes one OCSF class per custom source, in Parquet, partitioned by day
(``ext/<source>/region=<region>/accountId=<account>/eventDay=<YYYYMMDD>/``; AWS's "Collecting data from
custom sources" guide). So the export writes one dataset per class, named after it, each partitioned by
``eventDay``::

    <out>/authentication/eventDay=20261031/<uuid>.parquet
    <out>/entity_management/eventDay=20261030/<uuid>.parquet

and each dataset is copied to its source's prefix as it is (``aws s3 sync <out>/authentication
s3://<bucket>/ext/<source>/region=<region>/accountId=<account>/``). ``unmapped`` is a
``map<string, string>`` (nested values as JSON text), as Security Lake's own sources store it, so a
payload's varying shape never changes a table's schema.

Nothing appears until the export is complete: files are written under a hidden staging folder in
``<out>`` (readers skip names starting with a dot), then each is renamed into place; a failure removes
the staging folder and leaves ``<out>`` as it was.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable
from typing import Any

import msgspec

from openapiopenai.schemas._export import read_ocsf
from openapiopenai.schemas._table import OCSF_CLASSES

__all__ = ["write_security_lake"]

#: Rows held in memory before the buffered partitions are written out (bounds memory for any export).
ROWS_PER_FLUSH = 100_000
_DATASETS = {cls.uid: cls.schema_name for cls in OCSF_CLASSES.values()}
_EPOCH = datetime.date(1970, 1, 1)
_DAY_MS = 86_400_000


def _event_day(time_ms: int) -> str:
    try:
        return (_EPOCH + datetime.timedelta(days=time_ms // _DAY_MS)).strftime("%Y%m%d")
    except OverflowError:   # no calendar day (an event with no or an absurd time): a partition of its own
        return "00000000"


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, msgspec.Raw):
        return bytes(value).decode()
    return msgspec.json.encode(value).decode()


def _write_file(folder: str, rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    unmapped = [[(k, _text(v)) for k, v in row.pop("unmapped", {}).items()] for row in rows]
    table = pa.Table.from_pylist(rows)
    table = table.append_column("unmapped", pa.array(unmapped, type=pa.map_(pa.string(), pa.string())))
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{uuid.uuid4()}.parquet")
    pq.write_table(table, path, compression="zstd")
    with open(path, "rb") as fh:   # on disk before it is renamed into place
        os.fsync(fh.fileno())


def write_security_lake(raws: Iterable[str], out: str, *, rows_per_flush: int = ROWS_PER_FLUSH) -> dict[str, int]:
    """Write events (their JSON texts) under ``out`` as OCSF Parquet datasets; returns events per class.

    ``out`` is created if missing; datasets already in it are added to, never rewritten.
    """
    out = os.path.abspath(out)
    os.makedirs(out, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".staging-", dir=out)
    counts: dict[str, int] = {}
    try:
        buffers: dict[tuple[str, str], list[dict[str, Any]]] = {}
        held = 0
        current_day = None

        def flush(keep_day: str | None) -> int:
            kept = 0
            for key in list(buffers):
                if key[1] == keep_day:
                    kept += len(buffers[key])
                else:
                    _write_file(os.path.join(staging, key[0], f"eventDay={key[1]}"), buffers.pop(key))
            return kept

        for raw in raws:
            obj = read_ocsf(raw)
            dataset, day = _DATASETS[obj["class_uid"]], _event_day(obj["time"])
            if day != current_day:
                # Exports come in time order, so a new day means the previous one is complete: one file
                # per class and day, not a scatter of small ones (Security Lake prefers few large files).
                held = flush(day)
                current_day = day
            buffers.setdefault((dataset, day), []).append(obj)
            counts[dataset] = counts.get(dataset, 0) + 1
            held += 1
            if held >= rows_per_flush:   # a day bigger than memory should hold: write it in parts
                held = flush(None)
        flush(None)
        # Everything is written: now move each file into place, each rename atomic on its own.
        for folder, _, files in os.walk(staging):
            target = os.path.join(out, os.path.relpath(folder, staging))
            for name in files:
                os.makedirs(target, exist_ok=True)
                os.replace(os.path.join(folder, name), os.path.join(target, name))
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
    return counts
