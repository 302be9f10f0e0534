"""`audit-logs sync`: back-fill, then incremental; failures keep what was committed."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from _cli_helpers import (
    DEAD_URL,
    FAKE_KEY,
    archive_raws,
    assert_one_line_error,
    console_script,
    run_script,
    script_env,
    service_raws,
)


def _sync(run, db: str, *args: str, **kwargs):
    result = run("audit-logs", "sync", "--db", db, "--json", *args, **kwargs)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def test_sync_twice_is_incremental(run, fresh_org, tmp_path: Path) -> None:
    db = str(tmp_path / "audit.sqlite")
    first, stderr = _sync(run, db, base_url=fresh_org.base_url)
    total = len(service_raws(fresh_org))
    assert first["inserted"] == total and first["fetched"] >= total
    # stderr in a pipe: one summary line, no progress bar, no escape codes.
    assert (
        stderr.count("\n") == 1
        and stderr.startswith("synced ")
        and "\x1b" not in stderr
        and "\r" not in stderr
    )

    # A second that is over (the sync never reads the current one), and one a minute late.
    now = int(time.time())
    fresh_org.insert_events(
        [
            {"type": "login.failed", "effective_at": now - 2},
            {"type": "api_key.created", "effective_at": now - 2},
            {"type": "project.created", "effective_at": now - 60},
        ]
    )
    second, _ = _sync(run, db, base_url=fresh_org.base_url)
    assert second["inserted"] == 3
    third, _ = _sync(run, db, base_url=fresh_org.base_url)
    assert third["inserted"] == 0
    assert sorted(archive_raws(db)) == sorted(service_raws(fresh_org))


def test_parallel_back_fill_with_filters(run, org, tmp_path: Path) -> None:
    db = str(tmp_path / "audit.sqlite")
    first = json.loads(service_raws(org)[0])
    result, _ = _sync(
        run, db, "--workers", "4", "--project", (first.get("project") or {}).get("id", "proj_x")
    )
    expected = service_raws(org, project_ids=[(first.get("project") or {}).get("id", "proj_x")])
    assert result["inserted"] == len(expected)
    assert sorted(archive_raws(db)) == sorted(expected)


def test_failure_keeps_what_was_committed(run, fresh_org, tmp_path: Path) -> None:
    db = str(tmp_path / "audit.sqlite")
    _sync(run, db, base_url=fresh_org.base_url)
    before = archive_raws(db)
    result = run("audit-logs", "sync", "--db", db, "--give-up-after", "0s", base_url=DEAD_URL)
    assert_one_line_error(result.stderr, result.exit_code, 1, "cannot reach")
    assert archive_raws(db) == before
    # And the next run against the service carries on from there.
    again, _ = _sync(run, db, base_url=fresh_org.base_url)
    assert again["inserted"] == 0


def test_unauthorised_sync_exits_1_without_the_key(run, org, tmp_path: Path) -> None:
    db = str(tmp_path / "audit.sqlite")
    result = run("audit-logs", "sync", "--db", db, key="sk-admin-wrong-key-for-test-42")
    assert_one_line_error(result.stderr, result.exit_code, 1, "401")
    assert "sk-admin-wrong-key-for-test-42" not in result.stderr


def test_progress_shows_on_a_terminal_only(fresh_org, tmp_path: Path) -> None:
    """Through a pseudo-terminal, as a person at a shell sees it; the pipe case is tested above."""
    import pty

    db = str(tmp_path / "audit.sqlite")
    leader, follower = pty.openpty()
    with subprocess.Popen(
        [console_script(), "audit-logs", "sync", "--db", db],
        stdout=subprocess.PIPE,
        stderr=follower,
        env=script_env(fresh_org.base_url, FAKE_KEY),
    ) as proc:
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the process is done
                break
            if not chunk:
                break
            seen += chunk
        assert proc.wait(timeout=60) == 0
    os.close(leader)
    text = seen.decode(errors="replace")
    assert "syncing" in text and "synced " in text
    assert FAKE_KEY not in text


def test_overlapping_syncs_both_finish_and_the_archive_is_exact(make_emulator, tmp_path: Path) -> None:
    # Two cron runs that overlap, each as a real process: the later waits for the earlier (--wait),
    # neither takes over the other's walk, both exit 0.
    emu = make_emulator(events=3000, seed=12, admin_key=FAKE_KEY, latency_ms=20)
    db = str(tmp_path / "audit.sqlite")
    args = [console_script(), "audit-logs", "sync", "--db", db, "--workers", "2", "--json"]
    env = script_env(emu.base_url, FAKE_KEY)
    with (
        subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as a,
        subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as b,
    ):
        (out_a, err_a), (out_b, err_b) = a.communicate(timeout=120), b.communicate(timeout=120)
    assert (a.returncode, b.returncode) == (0, 0), err_a + err_b
    results = [json.loads(out_a), json.loads(out_b)]
    assert sum(r["inserted"] for r in results) == len(service_raws(emu))
    assert not any(r["resumed"] for r in results)   # the second found a finished walk, not a live one
    assert sorted(archive_raws(db)) == sorted(service_raws(emu))


def test_sync_while_another_holds_the_archive_exits_75(fresh_org, tmp_path: Path) -> None:
    from openapiopenai.archive._lock import SyncLock

    db = tmp_path / "audit.sqlite"
    with SyncLock(db) as running:
        running.acquire()
        proc = run_script("audit-logs", "sync", "--db", str(db), "--wait", "0s", base_url=fresh_org.base_url)
        assert proc.returncode == 75, proc.stderr
        assert proc.stderr == f"error: another sync is running on audit.sqlite, pid {os.getpid()}\n"
        assert not db.exists() or archive_raws(str(db)) == []   # nothing was written
    proc = run_script("audit-logs", "sync", "--db", str(db), "--wait", "0s", base_url=fresh_org.base_url)
    assert proc.returncode == 0, proc.stderr
