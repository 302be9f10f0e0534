"""`tail` follows through outages, and `--state-file` resumes it across restarts, each event once."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from _cli_helpers import FAKE_KEY, background, console_script, script_env, service_raws

from openapiopenai.cli import _tail

pytestmark = pytest.mark.usefixtures("needs_emulator")


def _ids(stdout: str) -> list[str]:
    return [json.loads(line)["id"] for line in stdout.splitlines()]


def _pin_port(emu) -> None:
    # A restart listens where the client already points.
    emu.port = urlsplit(emu.base_url).port


def test_tail_follows_through_an_outage(run, fresh_org, monkeypatch) -> None:
    _pin_port(fresh_org)
    base_url = fresh_org.base_url
    newest = json.loads(service_raws(fresh_org)[0])["effective_at"]
    waits: list[float] = []
    steps = [
        lambda: fresh_org.insert_events([{"id": "audit_log-before", "effective_at": newest + 1}]),
        fresh_org.stop,  # the service goes away
        lambda: None,  # still away
        # While it was away an event happened; then it comes back.
        lambda: (fresh_org.insert_events([{"id": "audit_log-during", "effective_at": newest + 2}]),
                 fresh_org.start()),
        lambda: fresh_org.insert_events([{"id": "audit_log-after", "effective_at": newest + 3}]),
        lambda: None,
    ]

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        steps.pop(0)()

    monkeypatch.setattr(_tail, "_sleep", sleep)
    result = run(
        "audit-logs", "tail", "--format", "jsonl", "--interval", "2s", "--max-retries", "0",
        "--max-polls", "7", base_url=base_url,
    )
    assert result.exit_code == 0, result.stderr
    assert _ids(result.stdout) == ["audit_log-before", "audit_log-during", "audit_log-after"]
    failures = [line for line in result.stderr.splitlines() if line.startswith("warning: poll failed")]
    assert len(failures) == 2, result.stderr  # one line per failed poll
    assert "Traceback" not in result.stderr
    # Backoff while it is down, the normal interval once it answers again.
    assert waits == [2.0, 2.0, 4.0, 8.0, 2.0, 2.0]
    assert "answers again" in result.stderr


def test_a_401_still_ends_the_tail(run, fresh_org, monkeypatch) -> None:
    monkeypatch.setattr(_tail, "_sleep", lambda s: None)
    result = run("audit-logs", "tail", "--max-polls", "3", key="sk-admin-wrong-key-0000000")
    assert result.exit_code == 1 and "401" in result.stderr


def test_state_file_resumes_without_missing_or_repeating(run, fresh_org, monkeypatch, tmp_path: Path) -> None:
    state = tmp_path / "tail.state"
    newest = json.loads(service_raws(fresh_org)[0])["effective_at"]
    monkeypatch.setattr(_tail, "_sleep", lambda s: fresh_org.insert_events(
        [{"id": "audit_log-first-run", "effective_at": newest + 1}]))
    args = ["audit-logs", "tail", "--format", "jsonl", "--state-file", str(state)]
    first = run(*args, "--max-polls", "2", base_url=fresh_org.base_url)
    assert first.exit_code == 0, first.stderr
    assert _ids(first.stdout) == ["audit_log-first-run"]
    assert state.exists()
    # Stopped; meanwhile two events arrive, one in the same second as the one already printed.
    fresh_org.insert_events([
        {"id": "audit_log-while-stopped", "effective_at": newest + 1},
        {"id": "audit_log-while-stopped-2", "effective_at": newest + 4},
    ])
    monkeypatch.setattr(_tail, "_sleep", lambda s: None)
    second = run(*args, "--max-polls", "2", base_url=fresh_org.base_url)
    assert second.exit_code == 0, second.stderr
    assert _ids(second.stdout) == ["audit_log-while-stopped", "audit_log-while-stopped-2"]


def test_state_file_of_other_filters_or_garbage_is_bad_input(run, tmp_path: Path) -> None:
    state = tmp_path / "tail.state"
    state.write_text("not json")
    result = run("audit-logs", "tail", "--state-file", str(state), "--max-polls", "1")
    assert result.exit_code == 2 and "--state-file" in result.stderr
    assert state.read_text() == "not json"


def test_tail_subprocess_survives_a_real_outage(fresh_org) -> None:
    """Through the console script: the service stops for a moment and the tail carries on."""
    _pin_port(fresh_org)
    args = [console_script(), "audit-logs", "tail", "--interval", "0.2s", "--format", "jsonl",
            "--max-retries", "0"]
    with background(args, script_env(fresh_org.base_url, FAKE_KEY)) as (proc, out, err):
        assert "following" in err.get(timeout=20)
        fresh_org.stop()
        assert err.get(timeout=20).startswith("warning: poll failed")
        fresh_org.insert_events([{"id": "audit_log-in-the-outage", "type": "project.created"}])
        fresh_org.start()
        assert json.loads(out.get(timeout=30))["id"] == "audit_log-in-the-outage"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 130
    assert proc.returncode == 130
    assert out.empty()
