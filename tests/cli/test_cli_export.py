"""`audit-logs export`: each format, from the service and from an archive, written atomically."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from _cli_helpers import DEAD_URL, service_raws

import openapiopenai
from openapiopenai.cli import _audit_logs


@pytest.fixture(scope="module")
def everything(org) -> list[str]:
    return service_raws(org)


def test_jsonl_from_the_service(run, everything: list[str], tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    result = run("audit-logs", "export", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert out.read_text().splitlines() == everything
    assert f"exported {len(everything):,} events" in result.stderr
    assert result.stdout == ""


def test_jsonl_to_stdout(run, everything: list[str]) -> None:
    result = run("audit-logs", "export", "--out", "-", "--since", "0")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == everything


def test_csv_format_from_the_extension(run, everything: list[str], tmp_path: Path) -> None:
    out = tmp_path / "events.csv"
    result = run("audit-logs", "export", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [json.loads(r["raw"]) for r in rows] == [json.loads(raw) for raw in everything]


def test_parquet_reads_back(run, everything: list[str], tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = tmp_path / "events.parquet"
    result = run("audit-logs", "export", "--out", str(out), "--format", "parquet")
    assert result.exit_code == 0, result.stderr
    table = pq.read_table(out)
    assert table.num_rows == len(everything)
    assert table.column("raw").to_pylist() == everything
    time_type = table.schema.field("effective_at").type
    assert pa.types.is_timestamp(time_type) and time_type.tz == "UTC"
    first = json.loads(everything[0])
    assert table.column("effective_at")[0].as_py().timestamp() == first["effective_at"]
    assert table.column("id")[0].as_py() == first["id"]
    assert table.column("type")[0].as_py() == first["type"]


def test_from_an_archive_with_filters(run, org, everything: list[str], tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    db = str(tmp_path / "audit.sqlite")
    assert run("audit-logs", "sync", "--db", db).exit_code == 0
    event_type = json.loads(everything[0])["type"]
    expected = service_raws(org, event_types=[event_type])
    # No service needed: the archive answers on its own.
    for fmt in ("jsonl", "csv", "parquet"):
        out = tmp_path / f"from-db.{fmt}"
        result = run(
            "audit-logs", "export", "--db", db, "--type", event_type, "--out", str(out), base_url=DEAD_URL
        )
        assert result.exit_code == 0, result.stderr
        if fmt == "jsonl":
            assert out.read_text().splitlines() == expected
        elif fmt == "csv":
            assert [r["raw"] for r in csv.DictReader(io.StringIO(out.read_text()))] == expected
        else:
            assert pq.read_table(out).column("raw").to_pylist() == expected


def test_a_failed_export_leaves_no_partial_file(run, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "events.jsonl"
    out.write_text("the previous export\n")
    result = run("audit-logs", "export", "--out", str(out), "--max-retries", "0", base_url=DEAD_URL)
    assert result.exit_code == 1 and "cannot reach" in result.stderr

    def two_then_fail(*args: object, **kwargs: object):
        yield '{"id": "a"}'
        yield '{"id": "b"}'
        raise openapiopenai.ServiceException(
            503, "Service Unavailable", message="overloaded", request_id="req_123"
        )

    monkeypatch.setattr(_audit_logs, "_service_events", two_then_fail)
    for fmt in ("jsonl", "csv", "parquet"):
        result = run("audit-logs", "export", "--out", str(out), "--format", fmt)
        assert result.exit_code == 1
        assert "overloaded" in result.stderr and "req_123" in result.stderr
    assert out.read_text() == "the previous export\n"
    assert os.listdir(tmp_path) == ["events.jsonl"]  # no temporary file left behind


def test_export_from_an_archive_includes_the_tenant_partition(run, org, tmp_path: Path) -> None:
    db = str(tmp_path / "both.sqlite")
    assert run("audit-logs", "sync", "--db", db).exit_code == 0
    assert run("audit-logs", "sync", "--db", db, "--tenant-only").exit_code == 0
    organisation = service_raws(org)
    tenant = service_raws(org, tenant_only=True)
    assert organisation and tenant  # the check below needs both partitions
    out = tmp_path / "all.jsonl"
    result = run("audit-logs", "export", "--db", db, "--out", str(out))
    assert result.exit_code == 0, result.stderr
    lines = out.read_text().splitlines()
    assert sorted(lines) == sorted(organisation + tenant)
    # Newest first across both partitions, as one listing would be.
    keys = [(json.loads(raw)["effective_at"], json.loads(raw)["id"]) for raw in lines]
    assert keys == sorted(keys, reverse=True)
    assert (
        f"exported {len(lines):,} events ({len(organisation):,} organisation-level, "
        f"{len(tenant):,} tenant-scoped) to {out}"
    ) in result.stderr
    only = run("audit-logs", "export", "--db", db, "--tenant-only", "--out", "-")
    assert sorted(only.stdout.splitlines()) == sorted(tenant)
