"""`openapiopenai demo` end to end, and `openapiopenai emulator` as a real server process."""

from __future__ import annotations

import re
import signal
import socket
from pathlib import Path

import pytest
from _cli_helpers import (
    archive_raws,
    assert_one_line_error,
    background,
    console_script,
    file_state,
    run_script,
    script_env,
    service_raws_at,
)


def test_demo_archives_and_summarises(run_offline, tmp_path: Path) -> None:
    db = str(tmp_path / "demo-audit.sqlite")
    result = run_offline("demo", "--events", "2000", "--db", db, "--seed", "3")
    assert result.exit_code == 0, result.stderr
    planted = re.search(r"Planted attacks: (.+) \((\d+) events\)", result.stdout)
    assert planted is not None, result.stdout
    total = 2000 + int(planted.group(2))
    assert len(archive_raws(db)) == total
    # What fired: every rule each planted attack is meant to trigger, with a match holding its events.
    from openapiopenai.cli._demo import DEMO_SCENARIOS
    from openapiopenai.emulator._scenarios import SCENARIOS
    from openapiopenai.rules import load_rules

    assert planted.group(1) == ", ".join(DEMO_SCENARIOS)
    titles = {info.file.stem: info.title for info in load_rules().rules}
    rows = {line.strip().split("  ")[0]: line.split() for line in result.stdout.splitlines()}
    for name in DEMO_SCENARIOS:
        for stem in SCENARIOS[name].detects:
            row = rows.get(titles[stem])
            assert row is not None, (name, titles[stem])
            level, matches, of_planted = row[-3:]
            assert level in ("critical", "high", "medium", "low") and int(of_planted) >= 1 <= int(matches), row
    assert re.search(r"Detections: \d+ rules fired", result.stdout)
    for heading in (
        f"{total:,} events",
        "Events by type",
        "Top actors",
        "Failed logins",
        "New API keys",
        "sqlite3 ",
        "export --db",
    ):
        assert heading in result.stdout, heading
    assert f"archived {total:,} events" in result.stderr and "\x1b" not in result.stderr
    # A second run starts over rather than piling a second organisation onto the first.
    again = run_offline("demo", "--events", "500", "--db", db)
    assert again.exit_code == 0, again.stderr
    assert len(archive_raws(db)) == 500 + int(planted.group(2))


def test_demo_refuses_to_replace_something_else(run_offline, tmp_path: Path) -> None:
    path = tmp_path / "thesis.sqlite"
    path.write_text("my thesis, not an archive")
    before = file_state(str(path))
    result = run_offline("demo", "--events", "100", "--db", str(path))
    assert_one_line_error(result.stderr, result.exit_code, 2, "--db")
    assert file_state(str(path)) == before


pytestmark = pytest.mark.usefixtures("needs_emulator")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_emulator_command_serves_the_api(tmp_path: Path) -> None:
    port = _free_port()
    key = "sk-admin-emulator-cmd-test"
    args = [
        console_script(),
        "emulator",
        "--port",
        str(port),
        "--events",
        "300",
        "--seed",
        "5",
        "--admin-key",
        key,
    ]
    base_url = f"http://127.0.0.1:{port}/v1"
    with background(args, script_env()) as (proc, out, err):
        # The emulator prints its base URL once it is listening.
        seen = ""
        while f"127.0.0.1:{port}" not in seen:
            seen += out.get(timeout=30)
        listed = run_script(
            "audit-logs", "list", "--format", "jsonl", "--limit", "5", base_url=base_url, key=key
        )
        assert listed.returncode == 0, listed.stderr
        assert len(listed.stdout.splitlines()) == 5
        db = str(tmp_path / "a.sqlite")
        synced = run_script("audit-logs", "sync", "--db", db, "--workers", "2", base_url=base_url, key=key)
        assert synced.returncode == 0, synced.stderr
        assert sorted(archive_raws(db)) == sorted(service_raws_at(base_url, key))
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 130  # 128 + SIGINT, as every command
    # It says which key it accepts (a demo key, not a secret), so a new user can point a client at it.
    assert f"admin key {key}" in seen
    assert "Traceback" not in "".join(err.queue)
