"""`list --db` and `tail --db`: the same commands read from an archive (both partitions), and --search."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _cli_helpers import FAKE_KEY, assert_one_line_error, service_raws
from click.testing import CliRunner

from openapiopenai.archive import Archive
from openapiopenai.archive._rows import INSERT_SQL, event_row
from openapiopenai.cli import cli


@pytest.fixture(scope="module")
def synced(org: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``org`` archived whole: the organisation-level listing and the tenant-scoped one."""
    db = str(tmp_path_factory.mktemp("archive") / "audit.sqlite")
    env = {"OPENAI_BASE_URL": org.base_url, "OPENAI_ADMIN_KEY": FAKE_KEY}
    for extra in ([], ["--tenant-only"]):
        result = CliRunner().invoke(cli, ["audit-logs", "sync", "--db", db, *extra], env=env)
        assert result.exit_code == 0, result.stderr
    yield db


def _both_partitions(org: Any, event_types: list[str] | None = None, **filters: Any) -> list[dict[str, Any]]:
    """The service's two listings merged newest first: the reference for what an archive should list."""
    events: list[dict[str, Any]] = []
    for tenant_only in (False, True):
        # The service takes only tenant-scoped types in the tenant listing, and only the others outside it.
        types = [t for t in event_types or [] if t.startswith("tenant.") == tenant_only]
        if event_types and not types:
            continue
        more = {"event_types": types} if types else {}
        events += [json.loads(raw) for raw in service_raws(org, tenant_only=tenant_only, **more, **filters)]
    return sorted(events, key=lambda e: (e["effective_at"], e["id"]), reverse=True)


def _ids(stdout: str) -> list[str]:
    return [json.loads(line)["id"] for line in stdout.splitlines()]


def test_list_db_is_the_service_listing_of_both_partitions(run_offline, org, synced) -> None:
    expected = _both_partitions(org)
    assert any(e["type"].startswith("tenant.") for e in expected[:200])  # both partitions are in play
    result = run_offline("audit-logs", "list", "--db", synced, "--limit", "200", "--format", "jsonl", key=None)
    assert result.exit_code == 0, result.stderr
    assert _ids(result.stdout) == [e["id"] for e in expected[:200]]


def test_list_db_filters_like_the_service(run_offline, org, synced) -> None:
    newest = _both_partitions(org)[0]["effective_at"]
    since = newest - 20 * 86400
    expected = _both_partitions(org, event_types=["login.failed", "tenant.user.added"], effective_at={"gte": since})
    assert expected
    result = run_offline(
        "audit-logs", "list", "--db", synced, "--all", "--type", "login.failed,tenant.user.added",
        "--since", str(since), "--format", "jsonl", key=None,
    )
    assert result.exit_code == 0, result.stderr
    assert _ids(result.stdout) == [e["id"] for e in expected]


def test_list_db_tenant_only_reads_one_partition(run_offline, org, synced) -> None:
    result = run_offline("audit-logs", "list", "--db", synced, "--all", "--tenant-only", "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert _ids(result.stdout) == [json.loads(r)["id"] for r in service_raws(org, tenant_only=True)]


def test_search_matches_raw_text_case_insensitively_and_literally(run_offline, org, synced) -> None:
    everything = [json.dumps(e) for e in _both_partitions(org)]
    result = run_offline("audit-logs", "list", "--db", synced, "--all", "--search", "FIREFOX", "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    found = result.stdout.splitlines()
    assert found and all("firefox" in line.lower() for line in found)
    assert len(found) == sum("firefox" in raw.lower() for raw in everything)
    # % and _ are the text itself, not LIKE's wildcards.
    result = run_offline("audit-logs", "list", "--db", synced, "--all", "--search", "%", "--format", "jsonl")
    assert result.exit_code == 0 and result.stdout == ""


def test_search_needs_an_archive(run_offline) -> None:
    result = run_offline("audit-logs", "list", "--search", "x")
    assert_one_line_error(result.stderr, result.exit_code, 2, "--search", "--db")
    result = run_offline("audit-logs", "tail", "--search", "x", "--max-polls", "1")
    assert_one_line_error(result.stderr, result.exit_code, 2, "--search", "--db")


def test_list_db_table_needs_no_key(run_offline, synced) -> None:
    result = run_offline("audit-logs", "list", "--db", synced, "--limit", "5", key=None)
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 6  # a header and five events


def test_list_db_missing_archive_is_bad_input(run_offline, tmp_path: Path) -> None:
    result = run_offline("audit-logs", "list", "--db", str(tmp_path / "nope.sqlite"))
    assert_one_line_error(result.stderr, result.exit_code, 2, "no such archive")
    assert not (tmp_path / "nope.sqlite").exists()


def _event(i: int, at: int, event_type: str = "login.failed") -> dict[str, Any]:
    return {
        "id": f"audit_log-tailtest{i:04d}",
        "type": event_type,
        "effective_at": at,
        "actor": {"type": "session", "session": {"user": {"id": "user-t", "email": "t@example.com"},
                                                 "ip_address": "127.0.0.1", "user_agent": "tail-test"}},
        event_type: {},
    }


def test_tail_db_prints_what_arrives_once_in_arrival_order(run_offline, synced, tmp_path, monkeypatch) -> None:
    import shutil

    import openapiopenai.cli._tail as tail_module

    db = str(tmp_path / "copy.sqlite")
    shutil.copy(synced, db)
    with Archive(db, readonly=True) as archive:
        newest = max(archive.connection.execute("SELECT effective_at FROM audit_logs").fetchone())
    # A sync writing between polls: a new event, then a late one (older time), then one the filter drops.
    arrivals = iter([
        [_event(1, newest + 10)],
        [_event(2, newest - 5000), _event(3, newest + 20, "login.succeeded")],
        [],
    ])

    def sync_writes(seconds: float) -> None:
        with Archive(db) as writer:
            for event in next(arrivals):
                writer.connection.execute(INSERT_SQL, event_row(event, json.dumps(event), tenant=False))
            writer.connection.commit()

    monkeypatch.setattr(tail_module, "_sleep", sync_writes)
    result = run_offline(
        "audit-logs", "tail", "--db", db, "--type", "login.failed", "--format", "jsonl", "--max-polls", "4", key=None
    )
    assert result.exit_code == 0, result.stderr
    assert _ids(result.stdout) == ["audit_log-tailtest0001", "audit_log-tailtest0002"]
    assert "following" in result.stderr


def test_tail_db_since_prints_the_archive_first_oldest_first(run_offline, org, synced) -> None:
    expected = _both_partitions(org, event_types=["login.failed"])
    since = expected[9]["effective_at"]
    wanted = [e["id"] for e in reversed(expected) if e["effective_at"] >= since]
    result = run_offline(
        "audit-logs", "tail", "--db", synced, "--type", "login.failed", "--since", str(since),
        "--format", "jsonl", "--max-polls", "1", key=None,
    )
    assert result.exit_code == 0, result.stderr
    assert _ids(result.stdout) == wanted


def test_tail_db_refuses_a_state_file(run_offline, synced, tmp_path) -> None:
    result = run_offline(
        "audit-logs", "tail", "--db", synced, "--state-file", str(tmp_path / "s.json"), "--max-polls", "1"
    )
    assert_one_line_error(result.stderr, result.exit_code, 2, "--state-file")
