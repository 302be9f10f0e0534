"""What the rules read (`rules._source`): ``audit_logs`` itself, each field as the ``events`` view reads it.

The rules take the fields the archive keeps as columns (`fields.Field.column`) as they are, so every such
column must hold the view's value: checked here for every emulator event, for odd shapes, for an archive
synced over HTTP (the sync's own row builder) and for one written by the version-1 code and migrated.
Then the engine's answers are held to a plain reference: every rule's SQL run over the ``events`` view
itself, unnarrowed, on an archive with every attack scenario planted and types in odd letter case.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

import openapiopenai
from _event_shapes import EVENTS, odd_events
from openapiopenai.archive import Archive, Filters, sync_archive
from openapiopenai.archive._rows import event_row, insert_rows
from openapiopenai.emulator import Emulator
from openapiopenai.emulator._scenarios import SCENARIOS
from openapiopenai.fields import FIELDS
from openapiopenai.rules import Match, Scope, _engine, compile_rules, detect, each_match, load_rules
from openapiopenai.rules._plan import run_plan
from openapiopenai.rules._shown import country_and_name
from openapiopenai.rules._source import archive_types, columns_sql, spellings

V1 = Path(__file__).parents[1] / "archive" / "data" / "v1_archive.sqlite"
NAMES = [f.name for f in FIELDS]


def _compact(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def _fill(conn: sqlite3.Connection, events: list[dict[str, Any]]) -> None:
    conn.execute("BEGIN")
    insert_rows(conn, [event_row(e, _compact(e), tenant=False) for e in events])
    conn.execute("COMMIT")


def _differences(conn: sqlite3.Connection) -> tuple[int, list[tuple[int, list[tuple[str, Any, Any]]]]]:
    """(rows read, each seq whose source row is not its view row, with the fields that differ)."""
    # With what a match shows beyond the columns (`rules._shown`: the country and the target's name, read
    # in Python from the event's JSON) beside the view's two columns.
    view = {r[0]: r[1:] for r in conn.execute(f"SELECT archived_seq, {', '.join(NAMES)}, country, target_name "
                                              "FROM events")}
    source = {r[0]: (*r[1:-2], *country_and_name(r[-2], r[-1])) for r in conn.execute(
        f"SELECT {columns_sql()}, a.raw, a.type FROM main.audit_logs AS a")}
    assert view.keys() == source.keys()
    names = [*NAMES, "country (shown)", "target_name (shown)"]
    return len(source), [(seq, [(n, a, b) for n, a, b in zip(names, view[seq], row, strict=True) if a != b])
                         for seq, row in source.items() if view[seq] != row]


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every attack scenario planted in a small organisation, synced over HTTP (both partitions), plus
    events whose types are spelled in other letter case (Sigma compares ``type`` case-insensitively)."""
    path = tmp_path_factory.mktemp("planted") / "audit.sqlite"
    with Emulator(events=3000, seed=11, newer_types=True) as emu:
        httpx.post(emu.base_url.removesuffix("/v1") + "/_emulator/scenarios",
                   json=[{"name": name} for name in SCENARIOS], timeout=30).raise_for_status()
        config = openapiopenai.Configuration(host=emu.base_url, access_token=emu.admin_key)
        with openapiopenai.ApiClient(config) as client, Archive(path) as archive:
            api = openapiopenai.AuditLogsApi(client)
            sync_archive(api, archive)
            sync_archive(api, archive, Filters(tenant_only=True))
            conn = archive.connection
            raws = [json.loads(r) for (r,) in conn.execute(
                "SELECT raw FROM audit_logs WHERE type IN ('login.failed', 'ip_allowlist.deleted', 'api_key.created')"
                " ORDER BY seq LIMIT 60")]
            odd = []
            for i, event in enumerate(raws):
                kind = event["type"].upper() if i % 2 else event["type"].title()
                odd.append({**{k: v for k, v in event.items() if k != event["type"]}, "id": f"{event['id']}-case",
                            "type": kind, kind: event.get(event["type"])})
            _fill(conn, odd)
    return path


# --- the columns the rules take as they are --------------------------------------------------------

def test_every_emulator_event_reads_as_the_view_does(tmp_path: Path) -> None:
    with Archive(tmp_path / "a.sqlite") as archive:
        _fill(archive.connection, EVENTS)
        assert _differences(archive.connection) == (len(EVENTS), [])


def test_a_synced_archive_reads_as_the_view_does(planted: Path) -> None:
    with Archive(planted, readonly=True) as archive:
        count, differing = _differences(archive.connection)
    assert count > 3000 and differing == []


def test_a_version_1_archive_migrated_reads_as_the_view_does(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    shutil.copyfile(V1, path)
    with Archive(path) as archive:   # migrated to the current version on open
        assert _differences(archive.connection) == (600, [])


def test_the_country_and_name_a_match_shows_read_as_the_view_does(tmp_path: Path) -> None:
    session = {"type": "session", "session": {"ip_address_details": {"country": "NL"}}}
    events = [
        # A key actor with a stray session beside it: that session is not who acted, so no country.
        {"type": "api_key.created", "actor": {**session, "type": "api_key", "api_key": {"id": "k"}},
         "api_key.created": {"id": "key_1", "name": "ci"}},
        # Types the view cannot name in a JSON path: no target name, read the fast way or the general way.
        {"type": "odd type", "actor": session, "odd type": {"name": "n"}},
        {"type": "odd type", "actor": "not an object", "odd type": {"name": "n"}},
        # The general way for a nameable type; an empty name falls to data.name; a country of another type.
        {"type": "project.created", "actor": ["x"], "project.created": {"name": "", "data": {"name": "p"}}},
        {"type": "project.created", "actor": {"type": "session", "session": {"ip_address_details": {"country": 7}}},
         "project.created": {"name": "", "data": {"name": "p"}}},
        {"type": "project.updated", "actor": session, "project.updated": {"name": "q", "data": "not an object"}},
        {"type": "project.archived", "actor": session, "project.archived": {"name": 5, "data": {"name": "r"}}},
        {"type": "actor", "actor": {"type": "session", "name": "a", "session": {"ip_address_details": {"country": "FR"}}}},
    ]
    with Archive(tmp_path / "a.sqlite") as archive:
        _fill(archive.connection, [{**e, "id": f"audit_log-shown-{i}", "effective_at": 1_800_000_000 + i}
                                   for i, e in enumerate(events)])
        count, differing = _differences(archive.connection)
        shown = [tuple(r) for r in archive.connection.execute("SELECT country, target_name FROM events ORDER BY effective_at")]
    assert (count, differing) == (len(events), [])
    assert shown == [(None, "ci"), ("NL", None), (None, None), (None, "p"), (None, "p"), ("NL", "q"), ("NL", "r"),
                     ("FR", "a")]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=odd_events())
def test_odd_shapes_read_as_the_view_does(tmp_path_factory: pytest.TempPathFactory, event: dict[str, Any]) -> None:
    kind = event.get("type")
    event = {**event, "id": "audit_log-odd", "effective_at": 1_800_000_000,
             "type": kind if isinstance(kind, str) and kind else "x.y"}
    with Archive(tmp_path_factory.mktemp("odd") / "a.sqlite") as archive:
        _fill(archive.connection, [event])
        assert _differences(archive.connection) == (1, [])


def test_the_archives_types_with_and_without_the_type_index(planted: Path, tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    shutil.copyfile(planted, path)
    with Archive(path) as archive:
        conn = archive.connection
        expected = sorted(t for (t,) in conn.execute("SELECT DISTINCT type FROM audit_logs"))
        assert sorted(archive_types(conn)) == expected and "LOGIN.FAILED" in expected
        conn.execute("DROP INDEX audit_logs_type")   # as during a back-fill
        assert sorted(archive_types(conn)) == expected
    # ASCII letters fold as SQLite's lower() folds them, nothing else.
    assert spellings(["login.failed"], ["Login.Failed", "LOGIN.FAILED", "login.failed", "login.failed2"]) == \
        ["Login.Failed", "LOGIN.FAILED", "login.failed"]
    assert spellings(["straße.x"], ["STRASSE.X", "STRAßE.X", "straße.x"]) == ["STRAßE.X", "straße.x"]


# --- the engine against a plain reading of the view ----------------------------------------------------

USER_RULES = {
    # Not bounded by type, naming a payload field the archive has no column for.
    "locked_any_type.yml": """title: Any Locked Account
id: 6d9c1c55-0f1e-4b8e-9d5e-1f6a3c2b7a10
status: experimental
description: A test rule.
author: tests
date: 2026-12-01
logsource: {product: openai, service: audit}
detection:
    selection:
        error_code: account_locked
    condition: selection
level: low
""",
    # Bounded by a type spelled in other case, naming a column and a payload field.
    "upper_type.yml": """title: Allow-List Deleted In Capitals
id: 0b7e2f8a-4c1d-4e6b-a3f9-2d8c5e1b9f04
status: experimental
description: A test rule.
author: tests
date: 2026-12-01
logsource: {product: openai, service: audit}
detection:
    selection:
        type|contains: IP_ALLOWLIST.DEL
        actor_type: session
    condition: selection
level: low
""",
    # Bounded by the types of the shipped API-key scope rules and reading the same computed field: run in
    # one batch with them (`_engine._together`).
    "read_scopes.yml": """title: API Key With Read Scopes
id: 3f1d7c2e-9a4b-4c8d-b6e5-7a2f0c9d1e38
status: experimental
description: A test rule.
author: tests
date: 2026-12-01
logsource: {product: openai, service: audit}
detection:
    selection:
        type: [api_key.created, api_key.updated]
        scopes|contains: '.read'
    condition: selection
level: low
""",
}


def _reference(conn: sqlite3.Connection, compiled: Any) -> dict[str, set[tuple[str, ...]]]:
    """Every rule's alerts, each as its sorted event ids, from the rule's SQL over the whole ``events``
    view: no type narrowing, no pruning, no second connection."""
    conn.execute("DROP VIEW IF EXISTS temp.detect_scope")
    conn.execute("CREATE TEMP VIEW detect_scope AS SELECT *, archived_seq AS seq FROM events")
    ids = dict(conn.execute("SELECT seq, id FROM audit_logs").fetchall())
    out: dict[str, set[tuple[str, ...]]] = {}
    for info, sql, _ in compiled.events:
        out.setdefault(info.id, set()).update((ids[seq],) for (seq,) in conn.execute(sql))
    for info, plan, _, _ in compiled.correlations:
        out.setdefault(info.id, set()).update(
            tuple(sorted(ids[int(str(e).rsplit(":", 1)[-1])] for e in alert["event_ids"]))
            for alert in run_plan(conn, plan))
    conn.execute("DROP VIEW temp.detect_scope")
    return out


def _by_rule(matches: list[Match]) -> dict[str, set[tuple[str, ...]]]:
    out: dict[str, set[tuple[str, ...]]] = {}
    for m in matches:
        out.setdefault(m.rule_id, set()).add(tuple(sorted(m.event_ids)))
    return out


@pytest.mark.parametrize("readonly", [False, True])
def test_every_rule_matches_what_it_matches_over_the_view(planted: Path, tmp_path: Path, readonly: bool,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    batches: list[list[str]] = []
    real_together = _engine._together

    def together(conn: Any, batch: Any, kinds: Any) -> Any:
        batches.append(sorted(info.title for info, _, _ in batch))
        return real_together(conn, batch, kinds)

    monkeypatch.setattr(_engine, "_together", together)
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    for name, text in USER_RULES.items():
        (rules_dir / name).write_text(text)
    compiled = compile_rules(load_rules([str(rules_dir)]))
    path = tmp_path / "audit.sqlite"
    shutil.copyfile(planted, path)
    with Archive(path, readonly=readonly) as archive:
        conn = archive.connection
        expected = {k: v for k, v in _reference(conn, compiled).items() if v}
        got = _by_rule(detect(conn, compiled, readonly=readonly))
    assert got == expected
    # Every kind of rule took part: plain and correlated, the user's two, the odd-case types.
    titles = {info.id: info.title for info, _, _ in compiled.events} | \
             {info.id: info.title for info, _, _, _ in compiled.correlations}
    fired = {titles[k] for k in got}
    assert {"Any Locked Account", "Allow-List Deleted In Capitals", "Credential Stuffing Against One User",
            "Login Success After Repeated Failures", "Event Type Never Seen Before", "API Key With Read Scopes",
            "API Key With Write Scopes"} <= fired
    # The three scope rules ran as one batch (one read of the API-key events), and matched as each alone.
    assert batches == [["API Key With All Permissions", "API Key With Read Scopes", "API Key With Write Scopes"]]
    assert any(i.endswith("-case") for alerts in got.values() for alert in alerts for i in alert)


def test_a_since_run_and_an_in_memory_archive_match_as_the_file_does(planted: Path) -> None:
    compiled = compile_rules(load_rules())
    with Archive(planted, readonly=True) as archive:
        conn = archive.connection
        middle = int(conn.execute("SELECT (min(effective_at) + max(effective_at)) / 2 FROM audit_logs").fetchone()[0])
        from_file = detect(conn, compiled, Scope(since=middle), readonly=True)
        memory = sqlite3.connect(":memory:", isolation_level=None)
        conn.backup(memory)
    assert from_file and all(m.time >= _iso(middle) for m in from_file)
    # No file to open a second connection to: everything runs on the one connection, same answers.
    assert detect(memory, compiled, Scope(since=middle), readonly=True) == from_file


def _iso(at: int) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_stopping_early_leaves_no_thread_and_a_failing_correlation_is_raised(planted: Path, monkeypatch) -> None:
    compiled = compile_rules(load_rules())
    before = threading.active_count()
    with Archive(planted, readonly=True) as archive:
        conn = archive.connection
        matches = each_match(conn, compiled, readonly=True)
        next(matches)
        matches.close()   # the caller stops after one match: the correlation thread is stopped and joined
        assert threading.active_count() == before

        from openapiopenai.rules import _engine

        def failing(*args: Any, **kwargs: Any) -> Any:
            raise sqlite3.OperationalError("disk I/O error")
            yield

        monkeypatch.setattr(_engine, "_correlated", failing)
        with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
            list(each_match(conn, compiled, readonly=True))
    assert threading.active_count() == before


def test_detect_maps_the_file_only_while_it_runs_and_the_fold_not_at_all(planted: Path) -> None:
    compiled = compile_rules(load_rules())
    with Archive(planted, readonly=True) as archive:
        conn = archive.connection
        conn.execute("PRAGMA mmap_size = 4096")
        matches = detect(conn, compiled, readonly=True)
        assert conn.execute("PRAGMA mmap_size").fetchone()[0] == 4096
        seen = []
        for match in each_match(conn, compiled, readonly=True):
            seen.append(match)
            assert conn.execute("PRAGMA mmap_size").fetchone()[0] == 4096
    assert sorted(map(repr, seen)) == sorted(map(repr, matches))


# --- the retired field table ------------------------------------------------------------------------

def _detect_cli(db: Path) -> list[dict[str, Any]]:
    exe = shutil.which("openapiopenai", path=os.path.dirname(sys.executable))
    assert exe is not None
    done = subprocess.run([exe, "audit-logs", "detect", "--db", str(db), "--format", "jsonl"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def _add_old_table(path: Path) -> None:
    """The previous version's ``detect_fields`` (its 38 columns, indexes and trigger), filled from the view."""
    with Archive(path) as archive:
        conn = archive.connection
        names = [n for n in NAMES if n not in ("time", "payload")]
        conn.execute(f"CREATE TABLE detect_fields (seq INTEGER PRIMARY KEY, {', '.join(names)})")
        conn.execute(f"INSERT INTO detect_fields SELECT archived_seq, {', '.join(names)} FROM events")
        conn.execute("CREATE INDEX detect_fields_kind ON detect_fields (lower(type), effective_at)")
        conn.execute("CREATE TRIGGER detect_fields_forget AFTER DELETE ON audit_logs"
                     " BEGIN DELETE FROM detect_fields WHERE seq = old.rowid; END")


def _old_objects(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return sorted(n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'detect_fields%'"))


def test_an_archive_with_the_old_field_table_loses_it_on_its_next_writable_run(planted: Path, tmp_path: Path) -> None:
    clean, old = tmp_path / "clean.sqlite", tmp_path / "old.sqlite"
    shutil.copyfile(planted, clean)
    shutil.copyfile(planted, old)
    _add_old_table(old)
    assert _old_objects(old) == ["detect_fields", "detect_fields_forget", "detect_fields_kind"]
    # Read-only, the file is not touched and the answers are the same.
    with Archive(old, readonly=True) as archive:
        before = old.read_bytes()
        compiled = compile_rules(load_rules())
        assert detect(archive.connection, compiled, readonly=True) == detect(archive.connection, compiled,
                                                                               readonly=True)
    assert old.read_bytes() == before
    expected = _detect_cli(clean)
    assert _detect_cli(old) == expected and expected
    assert _old_objects(old) == []
    with sqlite3.connect(old) as conn:   # the archive's own deletions no longer touch any other table
        conn.execute("DELETE FROM audit_logs WHERE seq = (SELECT max(seq) FROM audit_logs)")
