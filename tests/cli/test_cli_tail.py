"""`audit-logs tail`: new events once each, equal timestamps and late events included; Ctrl-C exits 130."""

from __future__ import annotations

import json
import signal

import pytest
from _cli_helpers import FAKE_KEY, background, console_script, script_env, service_raws

from openapiopenai.cli import _tail


def _ids(stdout: str) -> list[str]:
    return [json.loads(line)["id"] for line in stdout.splitlines()]


def test_tail_prints_each_new_event_once(run, fresh_org, monkeypatch) -> None:
    newest = json.loads(service_raws(fresh_org)[0])["effective_at"]
    batches = [
        [{"id": "audit_log-tail-a", "effective_at": newest + 5}],
        # Same second as the one already printed, and one that arrives late with an older time.
        [
            {"id": "audit_log-tail-b", "effective_at": newest + 5},
            {"id": "audit_log-tail-c", "effective_at": newest + 5},
            {"id": "audit_log-tail-late", "effective_at": newest - 60},
        ],
        [],
    ]

    def sleep_then_insert(seconds: float) -> None:
        batch = batches.pop(0)
        if batch:
            fresh_org.insert_events(batch)

    monkeypatch.setattr(_tail, "_sleep", sleep_then_insert)
    result = run(
        "audit-logs",
        "tail",
        "--format",
        "jsonl",
        "--interval",
        "1s",
        "--max-polls",
        "4",
        base_url=fresh_org.base_url,
    )
    assert result.exit_code == 0, result.stderr
    # Nothing from before the tail started; then each new event once, oldest first within a poll.
    assert _ids(result.stdout) == [
        "audit_log-tail-a",
        "audit_log-tail-late",
        "audit_log-tail-b",
        "audit_log-tail-c",
    ]
    assert "following" in result.stderr


def test_tail_since_prints_history_first(run, fresh_org, monkeypatch) -> None:
    raws = service_raws(fresh_org)
    cutoff = json.loads(raws[9])["effective_at"]
    expected = sorted(
        (json.loads(r)["effective_at"], json.loads(r)["id"])
        for r in raws
        if json.loads(r)["effective_at"] >= cutoff
    )
    monkeypatch.setattr(_tail, "_sleep", lambda s: None)
    result = run(
        "audit-logs",
        "tail",
        "--since",
        str(cutoff),
        "--format",
        "jsonl",
        "--max-polls",
        "3",
        base_url=fresh_org.base_url,
    )
    assert result.exit_code == 0, result.stderr
    assert _ids(result.stdout) == [i for _, i in expected]


def test_tail_text_lines_are_escaped(run, fresh_org, monkeypatch) -> None:
    monkeypatch.setattr(
        _tail,
        "_sleep",
        lambda s: fresh_org.insert_events(
            [
                {
                    "type": "login.failed",
                    "actor": {
                        "type": "session",
                        "session": {"user": {"id": "u", "email": "x\x1b[2Jy@example.com"}},
                    },
                }
            ]
        ),
    )
    result = run("audit-logs", "tail", "--max-polls", "2", base_url=fresh_org.base_url)
    assert result.exit_code == 0, result.stderr
    assert "x\\x1b[2Jy@example.com" in result.stdout and "\x1b" not in result.stdout


def test_tail_subprocess_picks_up_an_insert_and_stops_cleanly_on_ctrl_c(fresh_org) -> None:
    args = [console_script(), "audit-logs", "tail", "--interval", "0.2s", "--format", "jsonl"]
    with background(args, script_env(fresh_org.base_url, FAKE_KEY)) as (proc, out, err):
        assert "following" in err.get(timeout=20)
        fresh_org.insert_events([{"id": "audit_log-from-test", "type": "project.created"}])
        assert json.loads(out.get(timeout=20))["id"] == "audit_log-from-test"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 130  # 128 + SIGINT, as every command
    rest = "".join(err.queue)
    assert "Traceback" not in rest and FAKE_KEY not in rest
    assert out.empty()  # nothing printed twice


@pytest.mark.parametrize("args", [["--interval", "0.01s"], ["--lookback", "x"]])
def test_tail_bad_values(run_offline, args: list[str]) -> None:
    result = run_offline("audit-logs", "tail", *args)
    assert result.exit_code == 2 and result.stderr.startswith("error: ")


def test_tail_with_a_closed_range_ends_quietly(run, fresh_org, monkeypatch) -> None:
    raws = service_raws(fresh_org)
    oldest = json.loads(raws[-1])["effective_at"]
    monkeypatch.setattr(_tail, "_sleep", lambda s: None)
    result = run(
        "audit-logs",
        "tail",
        "--since",
        str(oldest),
        "--until",
        str(oldest + 3600),
        "--lookback",
        "1m",
        "--format",
        "jsonl",
        "--max-polls",
        "3",
        base_url=fresh_org.base_url,
    )
    assert result.exit_code == 0, result.stderr
    expected = [json.loads(r)["id"] for r in raws if oldest <= json.loads(r)["effective_at"] < oldest + 3600]
    assert sorted(_ids(result.stdout)) == sorted(expected)
