"""How a whole-archive run divides its work: the correlations' pruning through the group column's index,
and the plain rules shared by two connections. Both only change where the work is done, never what
matches: each is held here to the one-connection, unpruned answer."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from _event_shapes import EVENTS
from openapiopenai.archive import Archive
from openapiopenai.archive._rows import event_row, insert_rows
from openapiopenai.rules import Match, _engine, _prune, compile_rules, detect, load_rules

_START = 1_790_000_000


def _login(kind: str, at: int, email: str, n: int, ip: str = "192.0.2.9") -> dict[str, Any]:
    payload = {"error_code": "invalid_credentials", "error_message": "no"} if kind == "login.failed" else {}
    return {"id": f"audit_log-{kind}-{n}", "type": kind, "effective_at": at,
            "actor": {"type": "session", "session": {"user": {"id": f"user-{email.lower()}", "email": email},
                                                     "ip_address": ip, "ip_address_details": {"country": "NL"}}},
            kind: payload}


def _events() -> list[dict[str, Any]]:
    """Bursts of failed logins, each followed by a success; the success of one burst spelled in other case
    (Sigma's groups compare lowercased), one burst whose success comes too late, and quiet users."""
    events: list[dict[str, Any]] = []
    n = 0

    def add(kind: str, at: int, email: str) -> None:
        nonlocal n
        n += 1
        events.append(_login(kind, at, email, n))

    for i, (failing, succeeding, after) in enumerate([
        ("ann@example.com", "ann@example.com", 400),
        ("bob@example.com", "Bob@Example.com", 500),     # same group as Sigma compares it
        ("cy@example.com", "cy@example.com", 5 * 3600),  # the success is hours later: no alert
    ]):
        base = _START + i * 86_400
        for k in range(6):
            add("login.failed", base + 60 * k, failing)
        add("login.succeeded", base + after, succeeding)
    for k in range(40):   # everyday sign-ins of others, some near the bursts
        add("login.succeeded", _START + 1000 * k, f"quiet{k % 4}@example.com")
    return events


@pytest.fixture(scope="module")
def archive_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sharing") / "audit.sqlite"
    with Archive(path) as archive:
        archive.connection.execute("BEGIN")
        # With the shapes every event test uses, which the plain rules match.
        insert_rows(archive.connection, [event_row(e, json.dumps(e), tenant=False) for e in _events() + EVENTS])
        archive.connection.execute("COMMIT")
    return path


def _alerts(matches: list[Match], title: str) -> set[tuple[str, ...]]:
    return {tuple(sorted(m.event_ids)) for m in matches if m.title == title}


def test_pruning_through_the_email_index_keeps_every_alert_of_the_full_plan(archive_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = compile_rules(load_rules())
    calls: list[str] = []
    real = _prune._near_through_index

    def spy(conn: Any, scope: str, key: str, lookup: tuple[str, str], *args: Any) -> None:
        calls.append(lookup[1])
        real(conn, scope, key, lookup, *args)

    monkeypatch.setattr(_prune, "_near_through_index", spy)
    with Archive(archive_path, readonly=True) as archive:
        pruned = detect(archive.connection, compiled, readonly=True)
        full = detect(archive.connection, compiled, readonly=True, prune=False)
    title = "Login Success After Repeated Failures"
    assert "audit_logs_email" in calls   # the sign-in correlation went through the index
    assert _alerts(pruned, title) == _alerts(full, title)
    fired = {i for alert in _alerts(pruned, title) for i in alert}
    # Ann's and Bob's bursts alerted (Bob's success spelled in other case), Cy's did not.
    successes = [e["id"] for e in _events()[:21] if e["type"] == "login.succeeded"]
    assert successes[0] in fired and successes[1] in fired and successes[2] not in fired


def test_two_connections_give_what_one_gives_and_both_take_plain_rules(archive_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = compile_rules(load_rules())
    with Archive(archive_path, readonly=True) as archive:
        conn = archive.connection
        taken: dict[str, int] = {}
        real = _engine._plain

        helped = threading.Event()

        def counting(c: Any, batches: Any, *args: Any) -> Any:
            for batch in batches:
                name = threading.current_thread().name
                taken[name] = taken.get(name, 0) + len(batch)
                if name == "MainThread":
                    helped.wait(30)   # (a tiny archive: else this thread may take every rule before the other starts)
                else:
                    helped.set()
                yield from real(c, [batch], *args)

        monkeypatch.setattr(_engine, "_plain", counting)
        # The correlations made instant: the thread then takes plain rules from the shared queue too.
        monkeypatch.setattr(_engine, "_correlated", lambda *a, **k: iter(()))
        shared = detect(conn, compiled, readonly=True)
        assert len(taken) == 2 and sum(taken.values()) == len(compiled.events)
        monkeypatch.undo()

        memory = __import__("sqlite3").connect(":memory:", isolation_level=None)
        conn.backup(memory)
    alone = detect(memory, compiled, readonly=True)   # no file: one connection does everything
    plain = {info.id for info, _, _ in compiled.events}
    assert [m for m in shared] == [m for m in alone if m.rule_id in plain]
    assert len(shared) >= 5
