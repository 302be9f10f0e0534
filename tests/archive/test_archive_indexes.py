"""A back-fill into an empty archive walks without the lookup indexes (the id index too) and builds them when it
completes; meanwhile an event already held is still recognised."""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from openapiopenai.archive import Archive, Filters, _schema, _state, _sync, sync_archive
from openapiopenai.archive._rows import INSERT_SQL, event_row, insert_rows
from openapiopenai.archive._schema import SECONDARY_INDEXES, build_indexes, drop_indexes, missing_indexes

NOW = 2_000_000
ALL = sorted(SECONDARY_INDEXES)


class Crash(Exception):
    pass


def has_id_index(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'audit_logs_id'").fetchone() is not None


def _events(event_maker: Any, n: int = 60) -> list[dict[str, Any]]:
    return [event_maker(i, 1_000_000 + i // 3, "login.failed" if i % 4 == 0 else "login.succeeded")
            for i in range(n)]


def _missing(archive: Archive) -> list[str]:
    return sorted(missing_indexes(archive.connection))


def _uses_index(archive: Archive, sql: str, args: tuple[Any, ...], index: str) -> bool:
    plan = " ".join(str(r[-1]) for r in archive.connection.execute(f"EXPLAIN QUERY PLAN {sql}", args))
    return index in plan


def test_backfill_defers_indexes_until_the_walk_completes(tmp_path: Path, fake_service: Any,
                                                          event_maker: Any) -> None:
    service, api = fake_service(_events(event_maker))
    with Archive(tmp_path / "a.sqlite") as archive:
        assert _missing(archive) == []   # a new archive has them; the back-fill's plan drops them
        during: list[list[str]] = []
        sync_archive(api, archive, page_size=7, clock=lambda: NOW, progress=lambda n: during.append(_missing(archive)))
        assert len(during) == 9 and all(m == ALL for m in during)
        assert _missing(archive) == []
        assert _uses_index(archive, "SELECT id FROM audit_logs WHERE actor_id = ?", ("user-1",), "audit_logs_actor")
        # A later run adds to an archive that has events: its indexes stay throughout.
        service.events.insert(0, event_maker(900, NOW + 5))
        again: list[list[str]] = []
        result = sync_archive(api, archive, page_size=7, clock=lambda: NOW + 60,
                              progress=lambda n: again.append(_missing(archive)))
        assert result.inserted == 1 and again and all(m == [] for m in again)


def test_interrupted_backfill_answers_queries_and_its_resume_builds_the_indexes(
        tmp_path: Path, fake_service: Any, event_maker: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sync, "GROUP_COMMIT_PAGES", 1)   # one page per transaction: the crash leaves 3 pages
    service, api = fake_service(_events(event_maker))
    path = tmp_path / "a.sqlite"
    seen = [0]

    def crash_after_three(n: int) -> None:
        seen[0] += 1
        if seen[0] >= 3:
            raise Crash

    with Archive(path) as archive, pytest.raises(Crash):
        sync_archive(api, archive, page_size=7, clock=lambda: NOW, progress=crash_after_three)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with Archive(path, readonly=True) as archive:
        assert _missing(archive) == ALL
        # Every query still answers, from the table and the time index.
        stored = service.events[:21]
        assert archive.count() == 21
        assert archive.count(Filters(event_types=("login.failed",))) == sum(e["type"] == "login.failed" for e in stored)
        assert archive.count(Filters(actor_ids=("user-1",))) == sum(
            e["actor"]["session"]["user"]["id"] == "user-1" for e in stored)
        assert archive.count(Filters(resource_ids=("res_2",), actor_emails=("u2@example.com",))) == sum(
            e["login.failed" if e["type"] == "login.failed" else "login.succeeded"]["id"] == "res_2"
            and e["actor"]["session"]["user"]["email"] == "u2@example.com" for e in stored)
        assert [r["id"] for r in archive.iter_rows()] == [e["id"] for e in stored]
        assert archive.summary().total == 21
        [state] = archive.sync_state()
        assert state["run_active"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before   # reading wrote nothing
    with Archive(path) as archive:
        assert _missing(archive) == ALL   # a writable open does not build them either: the walk owns that
        result = sync_archive(api, archive, page_size=7, clock=lambda: NOW)
        assert result.resumed and _missing(archive) == []
        assert [(r["id"], r["raw"]) for r in archive.iter_rows()] == [(e["id"], service.raw(e)) for e in service.events]


def test_failed_index_build_leaves_the_walk_to_complete_again(tmp_path: Path, fake_service: Any, event_maker: Any,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    service, api = fake_service(_events(event_maker))
    real_build = _state.build_indexes

    def build_then_fail(conn: Any) -> list[str]:
        real_build(conn)
        raise Crash

    monkeypatch.setattr(_state, "build_indexes", build_then_fail)
    with Archive(tmp_path / "a.sqlite") as archive:
        with pytest.raises(Crash):
            sync_archive(api, archive, page_size=7, clock=lambda: NOW)
        # Completion and the indexes are one transaction: neither happened.
        [state] = archive.sync_state()
        assert state["run_active"] and state["high_water"] is None and _missing(archive) == ALL
        monkeypatch.setattr(_state, "build_indexes", real_build)
        requests = len(service.requests)
        result = sync_archive(api, archive, page_size=7, clock=lambda: NOW)
        # Nothing fetched again: the walk only had to complete (the new run re-reads an empty lookback).
        assert result.resumed and result.fetched == 0 and len(service.requests) == requests + 1
        assert _missing(archive) == [] and archive.count() == 60
        [state] = archive.sync_state()
        assert not state["run_active"] and state["high_water"] == NOW


def _row(event_maker: Any, i: int, at: int) -> tuple[Any, ...]:
    event = event_maker(i, at)
    return event_row(event, json.dumps(event), tenant=False)


def test_without_the_id_index_each_event_is_still_stored_once(tmp_path: Path, event_maker: Any) -> None:
    with Archive(tmp_path / "a.sqlite") as archive:
        conn = archive.connection
        drop_indexes(conn)   # as a back-fill into an empty archive walks
        assert not has_id_index(conn)
        first = [_row(event_maker, i, 1_000_000 - i) for i in range(150)]
        # Twice in one batch (one statement does not see its own inserts), and again in a later one.
        assert insert_rows(conn, [*first[:120], first[5], *first[120:], first[149]]) == 150
        assert insert_rows(conn, [first[0], first[130], _row(event_maker, 900, 5)]) == 1
        assert archive.count() == 151
        assert conn.execute("SELECT count(DISTINCT id) FROM audit_logs").fetchone()[0] == 151
        # The statement without the id index finds what is held by (effective_at, id), on the time index.
        plan = " ".join(str(r[-1]) for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT 1 FROM audit_logs WHERE effective_at = ? AND id = ?", (1, "x")))
        assert "audit_logs_time" in plan
        assert sorted(build_indexes(conn)) == ALL and has_id_index(conn)


def test_an_id_sent_again_with_another_time_keeps_the_first_copy_when_the_index_is_built(
        tmp_path: Path, event_maker: Any, caplog: pytest.LogCaptureFixture) -> None:
    with Archive(tmp_path / "a.sqlite") as archive:
        conn = archive.connection
        drop_indexes(conn)
        rows = [_row(event_maker, i, 1_000_000 - i) for i in range(10)]
        moved = (rows[3][0], 2_000_000, *rows[3][2:])   # the same id, another effective_at: both get in
        assert insert_rows(conn, rows) == 10 and insert_rows(conn, [moved]) == 1
        conn.execute("BEGIN IMMEDIATE")
        assert sorted(build_indexes(conn)) == ALL
        conn.execute("COMMIT")
        assert archive.count() == 10
        assert conn.execute("SELECT effective_at FROM audit_logs WHERE id = ?", (rows[3][0],)).fetchone()[0] == rows[3][1]
        assert "kept the first copies" in caplog.text
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(INSERT_SQL.replace("OR IGNORE ", ""), moved)


def _indexed_column(statement: str) -> str:
    return statement.split("(", 1)[1].split(",", 1)[0].split(")", 1)[0].strip()


def _mixed_row(event_maker: Any, i: int, at: int) -> tuple[Any, ...]:
    """Every third event by an API key in a project, so each lookup index gets rows."""
    event = event_maker(i, at)
    if i % 3 == 0:
        event["actor"] = {"type": "api_key", "api_key": {"id": f"key_{i % 11}", "type": "user",
                                                         "user": {"id": f"user-{i % 3}", "email": "k@example.com"}}}
        event["project"] = {"id": f"proj_{i % 13}", "name": "p"}
    return event_row(event, json.dumps(event), tenant=False)


def test_the_build_sorts_in_small_runs_on_threads_and_gives_the_connection_back(
        tmp_path: Path, event_maker: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The smallest run SQLite allows (10 pages): 5,000 rows in random id order then spill into several runs,
    # merged by the sorter's threads, the way a real back-fill's million do with the real budget.
    monkeypatch.setattr(_schema, "INDEX_BUILD_SORT_KIB", 40)
    order = list(range(5000))
    random.Random(5).shuffle(order)
    with Archive(tmp_path / "a.sqlite") as archive:
        conn = archive.connection
        drop_indexes(conn)
        assert insert_rows(conn, [_mixed_row(event_maker, i, 1_000_000 + i // 4) for i in order]) == 5000
        conn.execute("PRAGMA cache_size = -3000")
        conn.execute("PRAGMA threads = 0")
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        conn.execute("BEGIN IMMEDIATE")
        assert sorted(build_indexes(conn)) == ALL
        conn.execute("COMMIT")
        conn.set_trace_callback(None)
        creates = [n for n, s in enumerate(statements) if s.startswith("CREATE")]
        assert len(creates) == len(ALL)
        settings = [s for s in statements[:creates[0]] if s.startswith("PRAGMA")]
        assert settings[-2:] == ["PRAGMA cache_size = -40", f"PRAGMA threads = {_schema.INDEX_BUILD_THREADS}"]
        # Queries afterwards sort with the connection's own settings again.
        assert conn.execute("PRAGMA cache_size").fetchone()[0] == -3000
        assert conn.execute("PRAGMA threads").fetchone()[0] == 0
        assert [tuple(r) for r in conn.execute("PRAGMA integrity_check")] == [("ok",)]
        # Each index holds exactly the rows, in the order, that the table gives without it.
        for name, statement in SECONDARY_INDEXES.items():
            column = _indexed_column(statement)
            query = (f"SELECT {column}, seq FROM audit_logs {{}} WHERE {column} IS NOT NULL"
                     f" ORDER BY {column}{', effective_at' if name != 'audit_logs_id' else ''}, seq")
            by_index = [tuple(r) for r in conn.execute(query.format(f"INDEXED BY {name}"))]
            assert by_index and by_index == [tuple(r) for r in conn.execute(query.format("NOT INDEXED"))]
        assert conn.execute("SELECT count(*) FROM audit_logs INDEXED BY audit_logs_id").fetchone()[0] == 5000


def test_a_failed_build_gives_the_connection_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Archive(tmp_path / "a.sqlite") as archive:
        conn = archive.connection
        drop_indexes(conn)
        monkeypatch.setitem(SECONDARY_INDEXES, "audit_logs_type", "CREATE INDEX audit_logs_type ON audit_logs (nope)")
        conn.execute("PRAGMA threads = 0")
        cache = conn.execute("PRAGMA cache_size").fetchone()[0]
        conn.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError, match="nope"):
            build_indexes(conn)
        conn.execute("ROLLBACK")
        assert conn.execute("PRAGMA cache_size").fetchone()[0] == cache != -_schema.INDEX_BUILD_SORT_KIB
        assert conn.execute("PRAGMA threads").fetchone()[0] == 0
        assert sorted(missing_indexes(conn)) == ALL   # rolled back with the transaction, ready for the next completion
