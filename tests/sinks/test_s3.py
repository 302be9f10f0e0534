"""``s3://`` against moto's S3 server on loopback (the S3 HTTP protocol, driven through boto3): exactly once,
objects whole, SIGKILLs and server restarts mid-run."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _postgres_server import free_port
from _sink_helpers import archived, event_id

from openapiopenai.archive import Archive
from openapiopenai.sinks import SinkConfigError, open_sink
from openapiopenai.sinks._ship import ship

pytest.importorskip("boto3")

KEY_ID = "AKIDSINKTEST"
SECRET_KEY = "s3-secret-SINKTEST-9b7e"


class MotoS3:
    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET_KEY)

    def url(self, bucket: str, prefix: str, **query: str) -> str:
        tail = "".join(f"&{k}={v}" for k, v in query.items())
        return (f"s3://{KEY_ID}@{bucket}/{prefix}?endpoint_url={self.endpoint}&region=us-east-1"
                f"&password_env=S3_SECRET{tail}")

    def objects(self, bucket: str, prefix: str) -> dict[str, bytes]:
        client = self.client()
        keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
                for o in page.get("Contents", [])]
        return {k: client.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


@pytest.fixture(scope="module")
def s3() -> Iterator[MotoS3]:
    server = MotoS3()
    server.server.start()
    try:
        yield server
    finally:
        server.server.stop()


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3_SECRET", SECRET_KEY)


def _lines(objects: dict[str, bytes]) -> list[str]:
    return [line for key in sorted(objects) if key.endswith(".jsonl") for line in objects[key].decode().splitlines()]


def test_every_event_once_as_day_partitioned_objects(s3: MotoS3, make_archive: Callable[[], Path]) -> None:
    s3.client().create_bucket(Bucket="lake")
    db = make_archive()
    with Archive(db) as archive:
        result = ship(archive, open_sink(s3.url("lake", "openai/audit")), batch=800)
    objects = s3.objects("lake", "openai/audit/")
    assert all(k.startswith("openai/audit/dt=") for k in objects)
    assert sorted(_lines(objects)) == sorted(archived(db).values())
    assert result.delivered == len(archived(db))


def test_parquet_objects(s3: MotoS3, make_archive: Callable[[], Path]) -> None:
    import io

    import pyarrow.parquet as pq

    s3.client().create_bucket(Bucket="lake-pq")
    db = make_archive()
    with Archive(db) as archive:
        ship(archive, open_sink(s3.url("lake-pq", "", format="parquet")))
    objects = s3.objects("lake-pq", "")
    rows = [r for data in objects.values() for r in pq.read_table(io.BytesIO(data)).to_pylist()]
    assert {r["id"]: r["raw"] for r in rows} == archived(db) and len(rows) == len(archived(db))


def test_start_failures(s3: MotoS3, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SinkConfigError, match=r"no such bucket|NoSuchBucket"):
        open_sink(s3.url("no-such-bucket", "x")).open()
    with pytest.raises(SinkConfigError, match="endpoint beyond loopback"):
        open_sink("s3://b/p?endpoint_url=http://example.com")
    with pytest.raises(SinkConfigError, match="unknown parameter 'acl'"):
        open_sink("s3://b/p?acl=public")
    sink = open_sink(s3.url("lake", "p"))
    assert SECRET_KEY not in repr(sink) and SECRET_KEY not in sink.describe()


def test_credentials_the_store_refuses_are_exit_2_one_line_ledger_untouched(
        s3: MotoS3, make_archive: Callable[[], Path]) -> None:
    from moto.core.authorization import enable_iam_authentication

    s3.client().create_bucket(Bucket="guarded")
    db = make_archive()
    script = shutil.which("openapiopenai", path=os.path.dirname(sys.executable)) or "openapiopenai"
    with enable_iam_authentication():   # the key id in the URL is unknown to the store's IAM
        proc = subprocess.run([script, "audit-logs", "ship", "--db", str(db), "--to", s3.url("guarded", "p")],
                              capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: s3://guarded: 403")
    assert len(proc.stderr.strip().splitlines()) == 1 and "check the credentials" in proc.stderr
    assert SECRET_KEY not in proc.stdout + proc.stderr
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM sink_ledger").fetchone()[0] == 0
    conn.close()


@pytest.mark.slow
def test_chaos_sigkill_and_server_restarts_then_completion_exactly_once(
        s3: MotoS3, make_archive: Callable[[], Path]) -> None:
    s3.client().create_bucket(Bucket="chaos")
    db = make_archive()
    script = [shutil.which("openapiopenai", path=os.path.dirname(sys.executable)) or "openapiopenai",
              "audit-logs", "ship", "--db", str(db), "--to", s3.url("chaos", "a"), "--batch", "60",
              "--give-up-after", "60s"]
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    outputs: list[str] = []
    for _ in range(5):
        proc = subprocess.Popen(script, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.4, 1.2))
        if rng.random() < 0.5:
            s3.server.stop()
            time.sleep(rng.uniform(0.2, 0.8))
            s3.server.start()
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=90)
        outputs.append(out + err)
    final = subprocess.run(script, capture_output=True, text=True, timeout=180)
    outputs.append(final.stdout + final.stderr)
    assert final.returncode == 0, final.stderr
    assert not any(SECRET_KEY in text for text in outputs)
    lines = _lines(s3.objects("chaos", "a/"))
    ids = [event_id(line) for line in lines]
    assert len(ids) == len(set(ids)), f"duplicates (seed {seed})"
    assert sorted(lines) == sorted(archived(db).values()), f"seed {seed}"
