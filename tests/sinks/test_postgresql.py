"""``postgresql://`` against a real PostgreSQL server: exactly once, byte-identical raw, dead letters, chaos.

The server is the session's (`postgres` fixture, see `_postgres_server`); each test ships into a table of
its own. The CLI runs as a user runs it (a subprocess), and every output is searched for the password.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _postgres_server import PostgresServer, free_port
from _sink_helpers import SINK_PASSWORD, archived

from openapiopenai.archive import Archive
from openapiopenai.archive._rows import INSERT_SQL, event_row
from openapiopenai.sinks import SinkConfigError, SinkUnavailable, open_sink
from openapiopenai.sinks._ledger import Ledger
from openapiopenai.sinks._ship import ship

pytest.importorskip("psycopg")


def _script() -> str:
    script = shutil.which("openapiopenai", path=os.path.dirname(sys.executable))
    assert script is not None
    return script


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PG"))}
    env["SINK_PW"] = SINK_PASSWORD
    return env


def _ship_cli(db: Path, url: str, *extra: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([_script(), "audit-logs", "ship", "--db", str(db), "--to", url, *extra],
                          capture_output=True, text=True, timeout=timeout, env=_env())
    assert SINK_PASSWORD not in proc.stdout + proc.stderr
    return proc


def _table(postgres: PostgresServer, table: str) -> dict[str, tuple[Any, ...]]:
    out = postgres.psql(f"SELECT json_build_array(id, raw, event, type, extract(epoch from effective_at)::bigint,"
                        f" tenant, actor_id, actor_email, project_id, ip_address, resource_id)"
                        f" FROM {table}", db="audit")
    rows = [json.loads(line) for line in out.splitlines() if line]
    return {r[0]: tuple(r[1:]) for r in rows}


def _url(postgres: PostgresServer, table: str, **query: str) -> str:
    return postgres.url("ship", None, "audit", table=table, password_env="SINK_PW", **query)


def test_every_event_once_with_raw_byte_identical_and_lookup_columns(
        postgres: PostgresServer, make_archive: Callable[[], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SINK_PW", SINK_PASSWORD)
    db = make_archive()
    with Archive(db) as archive:
        result = ship(archive, open_sink(_url(postgres, "t_once")), batch=700)
        columns = {r[0]: r for r in archive.connection.execute(
            "SELECT id, type, effective_at, tenant, actor_id, actor_email, project_id, ip_address, resource_id"
            " FROM audit_logs")}
    table = _table(postgres, "t_once")
    events = archived(db)
    assert result.delivered == len(events) == len(table) and result.duplicates == 0
    for event_id, (raw, event, etype, at, tenant, actor_id, email, project, ip, resource) in table.items():
        assert raw == events[event_id]                      # byte for byte
        assert event == json.loads(raw)                     # the jsonb is the same event
        c = columns[event_id]
        assert (etype, at, tenant, actor_id, email, project, ip, resource) == (
            c[1], c[2], bool(c[3]), c[4], c[5], c[6], c[7], c[8])
    assert postgres.psql("SELECT indexdef FROM pg_indexes WHERE indexname = 't_once_effective_at'",
                         db="audit").endswith("USING brin (effective_at)")


def test_ocsf_documents_go_into_the_jsonb_column(postgres: PostgresServer, make_archive: Callable[[], Path],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from openapiopenai.ocsf import to_ocsf

    monkeypatch.setenv("SINK_PW", SINK_PASSWORD)
    db = make_archive()
    with Archive(db) as archive:
        result = ship(archive, open_sink(_url(postgres, "t_ocsf")), schema="ocsf", batch=1000)
    table = _table(postgres, "t_ocsf")
    events = archived(db)
    assert len(table) == result.delivered == len(events) - result.rejected
    for event_id, (raw, event, *_) in list(table.items())[:300]:
        assert raw == events[event_id]
        assert event == json.loads(json.dumps(to_ocsf(json.loads(raw))))


def test_a_password_in_the_url_is_in_no_output_and_not_in_the_archive(postgres: PostgresServer,
                                                                       make_archive: Callable[[], Path]) -> None:
    db = make_archive()
    url = postgres.url("ship", SINK_PASSWORD, "audit", table="t_secret")
    proc = _ship_cli(db, url, "--json")   # _ship_cli checks stdout and stderr
    assert proc.returncode == 0, proc.stderr
    status = subprocess.run([_script(), "audit-logs", "status", "--db", str(db), "--json"], capture_output=True,
                            text=True, timeout=60)
    assert SINK_PASSWORD not in status.stdout + status.stderr
    assert json.loads(status.stdout)["sinks"][0]["name"] == f"postgresql://ship@127.0.0.1:{postgres.port}/audit?table=t_secret"
    for suffix in ("", "-wal"):
        if Path(f"{db}{suffix}").exists():
            assert SINK_PASSWORD.encode() not in Path(f"{db}{suffix}").read_bytes()


def test_a_resent_batch_counts_as_duplicates(postgres: PostgresServer, make_archive: Callable[[], Path],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SINK_PW", SINK_PASSWORD)
    db = make_archive()
    sink_url = _url(postgres, "t_resent")
    with Archive(db) as archive:
        ship(archive, open_sink(sink_url), batch=500)
        # As after a crash between the commit in PostgreSQL and the ledger's: the batch is pending again
        # (and, as the test rewinds further, everything after it is re-sent too).
        archive.connection.execute("UPDATE sink_ledger SET position = 1000, pending_from = 1001, pending_to = 1500")
        result = ship(archive, open_sink(sink_url), batch=500)
        total = archive.count()
    assert result.delivered == result.duplicates == total - 1000
    assert len(_table(postgres, "t_resent")) == total


def _seq_ids(db: Path, first: int, last: int) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute("SELECT id FROM audit_logs WHERE seq BETWEEN ? AND ?", (first, last))]
    finally:
        conn.close()


def test_a_batch_is_copied_in_parts_through_connections_of_their_own(
        postgres: PostgresServer, make_archive: Callable[[], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SINK_PW", SINK_PASSWORD)
    db = make_archive()
    for connections in (1, 2, 3):
        table = f"t_parts{connections}"
        with Archive(db) as archive:
            result = ship(archive, open_sink(_url(postgres, table, connections=str(connections))), batch=500,
                          name=table)
            total = archive.count()
        assert result.delivered == total == len(_table(postgres, table)) and result.duplicates == 0
        # Each part is a transaction of its own: `connections` of them per batch.
        batches = -(-total // 500)
        assert postgres.psql(f"SELECT count(DISTINCT xmin::text) FROM {table}", db="audit") == str(
            batches * connections)


def test_a_part_committed_while_another_failed_is_not_in_the_table_twice(
        postgres: PostgresServer, make_archive: Callable[[], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SINK_PW", SINK_PASSWORD)
    db = make_archive()
    url = _url(postgres, "t_part_lost", application_name="t_part_lost")
    killed: list[str] = []

    def kill_second_connection(_: int) -> None:
        # After the first batch: the server drops the newer of the two connections (the second part's),
        # so the next batch's first part commits and its second fails with the connection.
        if not killed:
            killed.append(postgres.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE"
                                        " application_name = 't_part_lost' ORDER BY backend_start DESC LIMIT 1"))

    with Archive(db) as archive:
        result = ship(archive, open_sink(url), batch=500, sleep=lambda _: None, progress=kill_second_connection)
        total = archive.count()
        state = Ledger(archive.connection, open_sink(url).describe()).state()
    assert killed == ["t"]
    assert result.retries == 1
    assert result.duplicates == 250          # the first part of the second batch, committed before the failure
    assert result.delivered == total == len(_table(postgres, "t_part_lost"))
    assert state is not None and state.position == total and state.pending is None


def test_a_resent_batch_whose_parts_half_arrived_adds_only_the_missing_half(
        postgres: PostgresServer, make_archive: Callable[[], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SINK_PW", SINK_PASSWORD)
    db = make_archive()
    sink_url = _url(postgres, "t_half")
    with Archive(db) as archive:
        ship(archive, open_sink(sink_url), batch=500)
        # As after a crash when the batch 1001..1500's first part had committed and its second had not.
        missing = _seq_ids(db, 1251, 1500)
        postgres.psql("DELETE FROM t_half WHERE id IN (" + ", ".join(f"'{i}'" for i in missing) + ")", db="audit")
        archive.connection.execute("UPDATE sink_ledger SET position = 1000, pending_from = 1001, pending_to = 1500")
        result = ship(archive, open_sink(sink_url), batch=500)
        total = archive.count()
    assert len(missing) == 250
    assert result.delivered == total - 1000 and result.duplicates == total - 1000 - 250
    assert len(_table(postgres, "t_half")) == total


def test_refused_events_are_dead_letters_and_retry_dead_delivers_them(
        postgres: PostgresServer, make_archive: Callable[[], Path], tmp_path: Path) -> None:
    db = make_archive()
    with Archive(db) as archive:   # an event jsonb cannot hold
        bad = {"id": "audit_log-nul", "type": "login.failed", "effective_at": 1_700_000_000}
        archive.connection.execute(INSERT_SQL, event_row(bad, '{"id": "audit_log-nul", "type": "login.failed",'
                                   ' "effective_at": 1700000000, "note": "a\\u0000b"}', tenant=False))
    url = _url(postgres, "t_dead")
    assert _ship_cli(db, url, "--batch", "10").returncode == 0   # creates the table
    # The DBA adds a rule the table did not have; the events it refuses become dead letters, not a stop.
    postgres.psql("TRUNCATE t_dead; ALTER TABLE t_dead ADD CONSTRAINT no_logout CHECK (type <> 'logout.succeeded')",
                  db="audit")
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DELETE FROM sink_ledger")
    conn.execute("DELETE FROM sink_dead_letters")
    logouts = conn.execute("SELECT count(*) FROM audit_logs WHERE type = 'logout.succeeded'").fetchone()[0]
    conn.close()
    assert logouts > 0
    first = _ship_cli(db, url, "--batch", "300")
    assert first.returncode == 0, first.stderr
    assert f"{logouts + 1} dead letters" in first.stderr
    status = subprocess.run([_script(), "audit-logs", "status", "--db", str(db), "--dead", "1000"],
                            capture_output=True, text=True, timeout=60)
    assert "dead: seq" in status.stdout and 'violates check constraint "no_logout"' in status.stdout
    assert "audit_log-nul" in status.stdout and "unsupported Unicode escape sequence" in status.stdout
    postgres.psql("ALTER TABLE t_dead DROP CONSTRAINT no_logout", db="audit")
    again = _ship_cli(db, url, "--retry-dead")
    assert again.returncode == 0, again.stderr
    assert f"{logouts} dead letters delivered" in again.stderr and "1 dead letters" in again.stderr
    table = _table(postgres, "t_dead")
    assert len(table) == len(archived(db)) - 1 and "audit_log-nul" not in table


def test_bad_credentials_are_exit_2_one_line_ledger_untouched(postgres: PostgresServer,
                                                              make_archive: Callable[[], Path]) -> None:
    db = make_archive()
    wrong = postgres.url("ship", "not-" + SINK_PASSWORD, "audit", table="t_creds")
    for url in (wrong, postgres.url("ship", SINK_PASSWORD, "nodb"), _url(postgres, "t_creds", nosuchoption="1")):
        proc = _ship_cli(db, url)
        assert proc.returncode == 2, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("error: ")
        assert "Traceback" not in proc.stderr and "not-" not in proc.stderr
    assert "password authentication failed" in _ship_cli(db, wrong).stderr
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM sink_ledger").fetchone()[0] == 0


def test_an_unreachable_server_at_start_is_exit_1(make_archive: Callable[[], Path]) -> None:
    db = make_archive()
    proc = _ship_cli(db, f"postgresql://ship:{SINK_PASSWORD}@127.0.0.1:{free_port()}/audit")
    assert proc.returncode == 1 and proc.stderr.startswith("error: cannot reach the sink: postgresql://ship@127.0.0.1")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_sink_url_errors_before_connecting() -> None:
    with pytest.raises(SinkConfigError, match="not a plain name"):
        open_sink("postgresql://h/db?table=x;drop")
    for connections in ("0", "9", "two", "-1"):
        with pytest.raises(SinkConfigError, match=r"connections must be a whole number within 1\.\.8"):
            open_sink(f"postgresql://h/db?connections={connections}")
    sink = open_sink(f"postgresql://ship:{SINK_PASSWORD}@127.0.0.1:{free_port()}/audit")
    assert SINK_PASSWORD not in repr(sink) and SINK_PASSWORD not in sink.describe()
    with pytest.raises(SinkUnavailable) as info:
        sink.open()
    assert SINK_PASSWORD not in str(info.value)


@pytest.mark.slow
def test_chaos_sigkill_and_server_restarts_then_completion_exactly_once(
        postgres: PostgresServer, make_archive: Callable[[], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SINK_PW", SINK_PASSWORD)
    db = make_archive()
    url = _url(postgres, "t_chaos")
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    outputs: list[str] = []
    kills = restarts = 0
    script = [_script(), "audit-logs", "ship", "--db", str(db), "--to", url, "--batch", "20",
              "--give-up-after", "60s"]
    for _ in range(6):
        proc = subprocess.Popen(script, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
        time.sleep(rng.uniform(0.3, 1.0))
        if rng.random() < 0.5:
            postgres.stop(rng.choice(["fast", "immediate"]))
            time.sleep(rng.uniform(0.2, 1.0))
            postgres.start()
            restarts += 1
            time.sleep(rng.uniform(0.2, 0.6))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        out, err = proc.communicate(timeout=90)
        outputs.append(out + err)
    final = subprocess.run(script, capture_output=True, text=True, timeout=180, env=_env())
    outputs.append(final.stdout + final.stderr)
    assert final.returncode == 0, final.stderr
    for text in outputs:
        assert SINK_PASSWORD not in text
    table = _table(postgres, "t_chaos")
    events = archived(db)
    assert {k: v[0] for k, v in table.items()} == events, f"seed {seed}"
    assert postgres.psql("SELECT count(*) FROM t_chaos", db="audit") == str(len(events))
    assert kills + restarts >= 3, f"seed {seed}: {kills} kills, {restarts} restarts"
    with Archive(db) as archive:
        state = Ledger(archive.connection, open_sink(url).describe()).state()
        assert state is not None and state.position == archive.count() and state.pending is None
