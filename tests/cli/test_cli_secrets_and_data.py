"""Data and secrets as a new user meets them: the demo never replaces a real archive, no message
shows a key, archives are private files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from _cli_helpers import FAKE_KEY, archive_raws, assert_one_line_error, file_state, run_script

pytestmark = pytest.mark.usefixtures("needs_emulator")


def test_demo_refuses_to_replace_a_synced_archive(run, org, tmp_path: Path) -> None:
    db = str(tmp_path / "a.sqlite")
    synced = run("audit-logs", "sync", "--db", db)
    assert synced.exit_code == 0, synced.stderr
    before = file_state(db)
    kept = len(archive_raws(db))
    assert kept > 100
    result = run("demo", "--events", "100", "--db", db)
    assert_one_line_error(result.stderr, result.exit_code, 2, "--db", "did not create")
    assert file_state(db) == before
    assert len(archive_raws(db)) == kept


def test_demo_replaces_its_own_archive(run_offline, tmp_path: Path) -> None:
    db = str(tmp_path / "demo.sqlite")
    assert run_offline("demo", "--events", "300", "--db", db).exit_code == 0
    again = run_offline("demo", "--events", "120", "--db", db)
    assert again.exit_code == 0, again.stderr
    # The second organisation only: its 120 events and the attacks the demo plants.
    assert len(archive_raws(db)) == 120 + len(_planted_ids())


def _planted_ids() -> list[str]:
    from openapiopenai.cli._demo import DEMO_SCENARIOS
    from openapiopenai.emulator._scenarios import SCENARIOS

    return [e for name in DEMO_SCENARIOS for e in SCENARIOS[name].build(name, 0)]


# A key pasted where it does not belong, by every path that ends in a message.
KEY = "sk-admin-PASTED0123456789abcdefXYZ"
MISPLACED = [
    ["audit-logs", "sync", "--db", "a.sqlite", KEY],
    ["audit-logs", "list", "--since", KEY],
    ["audit-logs", "list", "--limit", KEY],
    ["audit-logs", "list", "--format", KEY],
    ["audit-logs", "export", "--db", KEY, "--out", "-"],
    ["audit-logs", "list", "--base-url", f"ftp://{KEY}@example.com"],
    ["audit-logs", KEY],
    [KEY],
    ["audit-logs", "list", f"--{KEY}"],
]


@pytest.mark.parametrize("args", MISPLACED, ids=[" ".join(a).replace(KEY, "KEY") for a in MISPLACED])
def test_a_misplaced_key_is_never_echoed(run_offline, tmp_path: Path, monkeypatch, args) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_offline(*args)
    assert result.exit_code == 2, result.stderr
    assert KEY not in result.stderr and KEY not in result.stdout
    # Not even a recognisable piece of it.
    assert "PASTED0123" not in result.stderr
    assert "[redacted key]" in result.stderr


def test_a_misplaced_key_is_never_echoed_by_the_script(tmp_path: Path) -> None:
    proc = run_script("audit-logs", "sync", "--db", str(tmp_path / "a.sqlite"), KEY)
    assert proc.returncode == 2
    assert "PASTED0123" not in proc.stderr + proc.stdout
    assert "unexpected extra argument ([redacted key])" in proc.stderr


def test_admin_key_file_and_stdin(org, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(org.admin_key + "\n")
    key_file.chmod(0o600)
    proc = run_script(
        "audit-logs", "list", "--limit", "3", "--format", "jsonl", "--admin-key-file", str(key_file),
        base_url=org.base_url, key=None,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 3
    import subprocess

    from _cli_helpers import console_script, script_env

    piped = subprocess.run(
        [console_script(), "audit-logs", "list", "--limit", "2", "--format", "jsonl", "--admin-key-file", "-"],
        input=org.admin_key + "\n", capture_output=True, text=True, env=script_env(org.base_url), timeout=60,
    )
    assert piped.returncode == 0, piped.stderr
    assert len(piped.stdout.splitlines()) == 2
    missing = run_script("audit-logs", "list", "--admin-key-file", str(tmp_path / "nope"), key=None)
    assert_one_line_error(missing.stderr, missing.returncode, 2, "--admin-key-file")


def _private(path: str) -> bool:
    return stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0


def test_archives_are_created_private(run, run_offline, tmp_path: Path) -> None:
    db = str(tmp_path / "a.sqlite")
    assert run("audit-logs", "sync", "--db", db).exit_code == 0
    assert _private(db)
    demo = str(tmp_path / "demo.sqlite")
    assert run_offline("demo", "--events", "100", "--db", demo).exit_code == 0
    assert _private(demo)
    for path in tmp_path.iterdir():
        assert _private(str(path)), path


def test_fake_key_constant_is_key_shaped() -> None:
    # The shared helpers assert FAKE_KEY never shows; that check is only as good as the shape.
    from openapiopenai.cli._messages import redact

    assert FAKE_KEY not in redact(f"x {FAKE_KEY} y")


def test_emulator_db_is_private(tmp_path: Path) -> None:
    from openapiopenai.emulator import Emulator

    db = str(tmp_path / "emu.sqlite")
    with Emulator(events=50, seed=2, db=db):
        pass
    assert _private(db)
