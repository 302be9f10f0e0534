"""`file://DIR`: JSONL and Parquet by day, exactly once, files appearing whole; SIGKILLs at random instants."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from _sink_helpers import archived, event_id, read_jsonl_dir

from openapiopenai.archive import Archive
from openapiopenai.sinks import BatchResult, Item, SinkConfigError, open_sink, parse_sink_url
from openapiopenai.sinks._ledger import Ledger
from openapiopenai.sinks._ship import ship
from openapiopenai.sinks.files import FileSink


def _ship_cli(db: Path, url: str, *extra: str) -> subprocess.Popen[str]:
    script = shutil.which("openapiopenai", path=os.path.dirname(sys.executable))
    assert script is not None
    return subprocess.Popen([script, "audit-logs", "ship", "--db", str(db),
                             "--to", url, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_jsonl_holds_every_event_once_byte_identical_by_day(make_archive: Callable[[], Path], tmp_path: Path) -> None:
    db, out = make_archive(), tmp_path / "out"
    with Archive(db) as archive:
        result = ship(archive, open_sink(f"file://{out}"), batch=400)
    lines = read_jsonl_dir(out)
    events = archived(db)
    assert sorted(lines) == sorted(events.values()) and len(lines) == len(events) == result.delivered
    for file in out.glob("dt=*/*.jsonl"):
        day = file.parent.name.removeprefix("dt=")
        for line in file.read_text().splitlines():
            at = json.loads(line)["effective_at"]
            assert time.strftime("%Y-%m-%d", time.gmtime(at)) == day
    assert not list(out.rglob(".tmp-*"))


def test_parquet_columns_and_raw(make_archive: Callable[[], Path], tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    db, out = make_archive(), tmp_path / "pq"
    with Archive(db) as archive:
        ship(archive, open_sink(f"file://{out}?format=parquet"), batch=1000)
    tables = [pq.read_table(f) for f in sorted(out.glob("dt=*/*.parquet"))]
    rows = [r for t in tables for r in t.to_pylist()]
    events = archived(db)
    assert {r["id"]: r["raw"] for r in rows} == events and len(rows) == len(events)
    assert tables[0].column_names == ["id", "effective_at", "type", "raw"]
    first = rows[0]
    assert int(first["effective_at"].timestamp()) == json.loads(first["raw"])["effective_at"]


def test_a_resent_batch_overwrites_its_own_files(make_archive: Callable[[], Path], tmp_path: Path) -> None:
    db, out = make_archive(), tmp_path / "out"

    class DiesAfterThirdWrite(FileSink):
        sent = 0

        def send(self, batch: Sequence[Item]) -> BatchResult:
            result = super().send(batch)
            self.sent += 1
            if self.sent == 3:   # the files are written; the process dies before the ledger hears of it
                raise KeyboardInterrupt
            return result

    dying = DiesAfterThirdWrite(parse_sink_url(f"file://{out}"), options={})
    with Archive(db) as archive:
        with pytest.raises(KeyboardInterrupt):
            ship(archive, dying, batch=500)
        ledger = Ledger(archive.connection, dying.describe())
        assert ledger.state().pending == (1001, 1500, False)  # type: ignore[union-attr]
        written = sorted(str(p.relative_to(out)) for p in out.rglob("part-000000001001-000000001500.jsonl"))
        assert written
        result = ship(archive, open_sink(f"file://{out}"), batch=300)
        assert result.delivered == archive.count() - 1000
    # The re-sent batch went under the same names (so replaced the first attempt's files).
    assert sorted(str(p.relative_to(out)) for p in out.rglob("part-000000001001-*.jsonl")) == written
    lines = read_jsonl_dir(out)
    assert len(lines) == len(set(lines)) == len(archived(db))


@pytest.mark.slow
def test_sigkill_at_random_instants_then_completion_exactly_once(make_archive: Callable[[], Path],
                                                                 tmp_path: Path) -> None:
    db, out = make_archive(), tmp_path / "out"
    url = f"file://{out}"
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    kills = 0
    for _ in range(6):
        proc = _ship_cli(db, url, "--batch", "10")
        time.sleep(rng.uniform(0.2, 0.9))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.communicate(timeout=30)
        if proc.returncode == 0:
            break
    final = _ship_cli(db, url, "--batch", "10")
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    lines = read_jsonl_dir(out)
    events = archived(db)
    ids = [event_id(line) for line in lines]
    assert len(ids) == len(set(ids)), f"duplicates (seed {seed})"
    assert sorted(lines) == sorted(events.values()), f"seed {seed}"
    assert kills >= 1, f"no run was killed mid-way (seed {seed})"
    assert not list(out.rglob(".tmp-*"))


@pytest.mark.parametrize(("url", "message"), [
    ("file://", "no directory given"),
    ("file:///tmp/x?format=csv", "unknown format"),
    ("file:///tmp/x?compress=1", "unknown parameter 'compress'"),
    ("file://user:pw@h/x", "directory only"),
])
def test_bad_file_urls(url: str, message: str) -> None:
    with pytest.raises(SinkConfigError, match=message):
        open_sink(url).open()


def test_a_directory_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SinkConfigError, match="cannot create"):
        open_sink(f"file://{blocker}/sub").open()


def test_relative_directories_keep_their_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    sink = open_sink("file://Audit-Out/Daily")
    sink.open()
    assert (tmp_path / "Audit-Out" / "Daily").is_dir()
    assert sink.describe() == f"file://{tmp_path}/Audit-Out/Daily"


def test_a_batch_out_of_time_order_makes_one_file_per_day_in_archiving_order() -> None:
    from openapiopenai.sinks._layout import batch_files

    day = 86_400
    # A back-fill interleaves days; a line break between tokens must not split an event across lines.
    stamps = [20 * day + 5, 20 * day + 9, 21 * day, 20 * day + 1, 21 * day - 1, 21 * day + 7]
    raws = [f'{{"id":"audit_log-{i}","n":{i}}}' for i in range(len(stamps))]
    raws[4] = '{"id": "audit_log-4",\n"n": 4}'
    items = [Item(100 + i, f"audit_log-{i}", at, "login.succeeded", raws[i], None, "raw")
             for i, at in enumerate(stamps)]
    files = {f.name: f for f in batch_files(items, "jsonl")}
    assert sorted(files) == ["dt=1970-01-21/part-000000000100-000000000105.jsonl",
                             "dt=1970-01-22/part-000000000100-000000000105.jsonl"]
    first, second = (files[name].data.decode().splitlines() for name in sorted(files))
    assert [json.loads(line)["n"] for line in first] == [0, 1, 3, 4]   # archiving order within a day
    assert [json.loads(line)["n"] for line in second] == [2, 5]
    assert first[3] == '{"id": "audit_log-4", "n": 4}' and files[sorted(files)[0]].events == 4


def test_ocsf_parquet_holds_the_mapped_document(make_archive: Callable[[], Path], tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from openapiopenai.ocsf import to_ocsf

    db, out = make_archive(), tmp_path / "ocsf"
    with Archive(db) as archive:
        result = ship(archive, open_sink(f"file://{out}?format=parquet"), schema="ocsf", batch=900)
    rows = [r for f in sorted(out.glob("dt=*/*.parquet")) for r in pq.read_table(f).to_pylist()]
    events = archived(db)
    assert len(rows) == len(events) == result.delivered + result.rejected
    for row in rows[:200]:
        assert row["raw"] == events[row["id"]]
        assert json.loads(row["doc"]) == json.loads(json.dumps(to_ocsf(json.loads(row["raw"]))))


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_files_prepared_ahead_are_the_files_send_would_make(make_archive: Callable[[], Path], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    db = make_archive()
    with Archive(db) as archive:
        ship(archive, open_sink(f"file://{tmp_path / 'ahead'}?format={fmt}"), name="ahead", batch=300)
        monkeypatch.setattr(FileSink, "prepare", lambda self, batch: None)   # send encodes each batch itself
        ship(archive, open_sink(f"file://{tmp_path / 'inline'}?format={fmt}"), name="inline", batch=300)

    def files(root: Path) -> dict[str, bytes]:
        return {str(f.relative_to(root)): f.read_bytes() for f in sorted(root.rglob("*")) if f.is_file()}

    ahead, inline = files(tmp_path / "ahead"), files(tmp_path / "inline")
    assert len(ahead) > 2 and ahead == inline


def test_jsonl_reads_no_ids_and_parquet_does() -> None:
    assert not open_sink("file:///tmp/x").reads_event_fields
    assert open_sink("file:///tmp/x?format=parquet").reads_event_fields
