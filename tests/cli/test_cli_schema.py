"""`--schema raw|ocsf|ecs` on `list`, `tail` and `export`: raw stays byte-exact, the others map each event."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _cli_helpers import DEAD_URL, assert_one_line_error, service_raws

from openapiopenai.cli import _tail
from openapiopenai.ecs import to_ecs
from openapiopenai.ocsf import to_ocsf
from openapiopenai.schemas._export import mapped_json

MAPPINGS = {"ocsf": to_ocsf, "ecs": to_ecs}


@pytest.fixture(scope="module")
def everything(org) -> list[str]:
    return service_raws(org)


@pytest.mark.parametrize("schema", ["ocsf", "ecs"])
def test_list_jsonl_and_json_in_a_schema(run, everything: list[str], schema: str) -> None:
    result = run("audit-logs", "list", "--limit", "30", "--format", "jsonl", "--schema", schema)
    assert result.exit_code == 0, result.stderr
    expected = [MAPPINGS[schema](json.loads(raw)) for raw in everything[:30]]
    assert [json.loads(line) for line in result.stdout.splitlines()] == expected
    result = run("audit-logs", "list", "--limit", "5", "--format", "json", "--schema", schema)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == expected[:5]


def test_raw_is_the_default_and_byte_exact(run, everything: list[str]) -> None:
    plain = run("audit-logs", "list", "--limit", "30", "--format", "jsonl")
    raw = run("audit-logs", "list", "--limit", "30", "--format", "jsonl", "--schema", "raw")
    assert plain.exit_code == raw.exit_code == 0
    assert raw.stdout == plain.stdout and raw.stdout.splitlines() == everything[:30]


@pytest.mark.parametrize("schema", ["ocsf", "ecs"])
def test_export_from_an_archive_in_a_schema(run, everything: list[str], tmp_path: Path, schema: str) -> None:
    db = str(tmp_path / "audit.sqlite")
    assert run("audit-logs", "sync", "--db", db).exit_code == 0
    assert run("audit-logs", "sync", "--db", db, "--tenant-only").exit_code == 0
    raw_out, out = tmp_path / "raw.jsonl", tmp_path / f"{schema}.jsonl"
    assert run("audit-logs", "export", "--db", db, "--out", str(raw_out), base_url=DEAD_URL).exit_code == 0
    result = run("audit-logs", "export", "--db", db, "--out", str(out), "--schema", schema, base_url=DEAD_URL)
    assert result.exit_code == 0, result.stderr
    raws = raw_out.read_text().splitlines()
    docs = [json.loads(line) for line in out.read_text().splitlines()]
    assert docs == [MAPPINGS[schema](json.loads(raw)) for raw in raws]
    assert set(everything) < set(raws)   # the organisation's events, and the tenant-scoped ones beside
    types = {json.loads(raw)["type"] for raw in raws}
    assert len(types) > 140   # every type of the spec went through


@pytest.mark.parametrize("schema", ["ocsf", "ecs"])
def test_export_from_the_service_to_stdout_in_a_schema(run, everything: list[str], schema: str) -> None:
    """The mapped lines go to stdout as bytes: the same text `list` prints, one event a line."""
    result = run("audit-logs", "export", "--out", "-", "--schema", schema)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == list(mapped_json(everything, schema))
    assert f"exported {len(everything):,} events" in result.stderr


def test_tail_jsonl_in_ocsf(run, fresh_org, monkeypatch) -> None:
    raws = service_raws(fresh_org)
    cutoff = json.loads(raws[9])["effective_at"]
    monkeypatch.setattr(_tail, "_sleep", lambda s: None)
    result = run("audit-logs", "tail", "--since", str(cutoff), "--format", "jsonl", "--schema", "ocsf",
                 "--max-polls", "2", base_url=fresh_org.base_url)
    assert result.exit_code == 0, result.stderr
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    expected = {json.loads(r)["id"] for r in raws if json.loads(r)["effective_at"] >= cutoff}
    assert {d["metadata"]["uid"] for d in docs} == expected and len(docs) == len(expected)
    assert all(d["metadata"]["version"] == "1.8.0" for d in docs)


@pytest.mark.parametrize("args", [
    ["list", "--schema", "splunk"],
    ["export", "--out", "-", "--schema", "OCSF1"],
    ["tail", "--schema", "x"],
])
def test_an_unknown_schema_is_a_usage_error_naming_the_choices(run_offline, args: list[str]) -> None:
    result = run_offline("audit-logs", *args)
    assert result.exit_code == 2
    assert "raw" in result.stderr and "ocsf" in result.stderr and "ecs" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [
    ["list", "--schema", "ocsf"],                        # the table
    ["list", "--schema", "ecs", "--format", "csv"],
    ["tail", "--schema", "ocsf"],                        # text lines
    ["export", "--out", "x.csv", "--schema", "ecs"],
])
def test_a_schema_the_format_cannot_carry_is_one_line_exit_2(run_offline, args: list[str]) -> None:
    result = run_offline("audit-logs", *args)
    assert_one_line_error(result.stderr, result.exit_code, 2, "--schema", "json or jsonl")


def test_export_ocsf_parquet_writes_security_lake_datasets(run, everything: list[str], tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    db = str(tmp_path / "audit.sqlite")
    assert run("audit-logs", "sync", "--db", db).exit_code == 0
    out = tmp_path / "lake"
    result = run("audit-logs", "export", "--db", db, "--schema", "ocsf", "--format", "parquet", "--out", str(out),
                 base_url=DEAD_URL)
    assert result.exit_code == 0, result.stderr
    assert f"exported {len(everything):,} events" in result.stderr
    files = sorted(out.rglob("*.parquet"))
    assert {f.relative_to(out).parts[0] for f in files} <= {
        "authentication", "account_change", "user_access", "group_management", "entity_management", "api_activity"}
    assert all(f.parent.name.startswith("eventDay=") for f in files)
    uids = [row["metadata"]["uid"] for f in files for row in pq.read_table(f).to_pylist()]
    assert sorted(uids) == sorted(json.loads(raw)["id"] for raw in everything)


def test_ocsf_parquet_needs_a_folder_and_ecs_parquet_is_refused(run_offline, tmp_path: Path) -> None:
    a_file = tmp_path / "x.parquet"
    a_file.write_text("keep me")
    result = run_offline("audit-logs", "export", "--schema", "ocsf", "--out", str(a_file))
    assert_one_line_error(result.stderr, result.exit_code, 2, "folder")
    assert a_file.read_text() == "keep me"
    result = run_offline("audit-logs", "export", "--schema", "ecs", "--format", "parquet", "--out", str(tmp_path))
    assert_one_line_error(result.stderr, result.exit_code, 2, "--schema ecs")
