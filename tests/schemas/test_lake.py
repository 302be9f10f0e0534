"""OCSF Parquet in Amazon Security Lake's custom-source layout: a dataset per class, by eventDay, all or nothing."""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from _event_shapes import EVENTS
from openapiopenai.ocsf import to_ocsf
from openapiopenai.schemas._lake import write_security_lake

# Newest first, as exports come; a few weeks of them (each class and day is a file, and files cost fsyncs).
NEWEST = sorted(EVENTS, key=lambda e: (e["effective_at"], e["id"]), reverse=True)[:300]
RAWS = [json.dumps(e) for e in NEWEST]


def _files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.is_file())


def test_one_dataset_per_class_partitioned_by_day(tmp_path: Path) -> None:
    out = tmp_path / "lake"
    counts = write_security_lake(RAWS, str(out), rows_per_flush=40)   # a busy day is written in parts
    assert sum(counts.values()) == len(NEWEST)
    expected = {to_ocsf(e)["metadata"]["uid"]: to_ocsf(e) for e in NEWEST}
    seen = {}
    for path in _files(out):
        dataset, partition = path.relative_to(out).parts[:2]
        assert path.suffix == ".parquet" and partition.startswith("eventDay=")
        rows = pq.read_table(path).to_pylist()
        assert {r["class_name"].lower().replace(" ", "_").replace("user_access_management", "user_access")
                for r in rows} == {dataset}
        for row in rows:
            day = datetime.datetime.fromtimestamp(row["time"] / 1000, datetime.UTC).strftime("%Y%m%d")
            assert partition == f"eventDay={day}"
            want = expected[row["metadata"]["uid"]]
            assert row["class_uid"] == want["class_uid"] and row["type_uid"] == want["type_uid"]
            unmapped = dict(row["unmapped"])
            assert json.loads(unmapped.get("payload", "null")) == want["unmapped"].get("payload")
            assert unmapped.get("ja4") == want["unmapped"].get("ja4")
            seen[row["metadata"]["uid"]] = dataset
    assert len(seen) == len(NEWEST)
    assert counts == {d: list(seen.values()).count(d) for d in set(seen.values())}
    assert not [p for p in out.iterdir() if p.name.startswith(".")]   # no staging left behind


def test_a_failed_export_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    out = tmp_path / "lake"
    write_security_lake(RAWS[:50], str(out))
    before = {p: p.read_bytes() for p in _files(out)}

    def failing() -> Iterator[str]:
        yield from RAWS[:250]
        raise ConnectionError("the service went away")

    with pytest.raises(ConnectionError):
        write_security_lake(failing(), str(out), rows_per_flush=100)
    assert {p: p.read_bytes() for p in _files(out)} == before
    assert sorted(os.listdir(out)) == sorted({p.relative_to(out).parts[0] for p in before})


def test_a_second_export_adds_files_beside_the_first(tmp_path: Path) -> None:
    out = tmp_path / "lake"
    write_security_lake(RAWS[:100], str(out))
    first = set(_files(out))
    write_security_lake(RAWS[100:200], str(out))
    assert first < set(_files(out))
    assert sum(pq.read_table(p).num_rows for p in _files(out)) == 200
