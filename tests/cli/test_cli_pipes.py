"""A consumer that closes the pipe early (`| head -n1`) ends the command quietly with status 0."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from _cli_helpers import console_script, script_env

pytestmark = pytest.mark.usefixtures("needs_emulator")


def _head_n1(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run ``openapiopenai ARGS | head -n1`` in a real shell; the command's status, head's line, stderr."""
    script = '"$0" "$@" 2>"$ERR" | head -n1; exit "${PIPESTATUS[0]}"'
    err = Path(env["ERR"])
    proc = subprocess.run(
        ["bash", "-c", script, console_script(), *args], capture_output=True, text=True, env=env, timeout=120
    )
    return proc.returncode, proc.stdout, err.read_text()


@pytest.fixture
def env(org, tmp_path: Path) -> dict[str, str]:
    return {**script_env(org.base_url, org.admin_key), "ERR": str(tmp_path / "stderr")}


def test_export_from_an_archive_into_head(run, env, tmp_path: Path) -> None:
    db = str(tmp_path / "a.sqlite")
    assert run("audit-logs", "sync", "--db", db).exit_code == 0
    status, out, err = _head_n1(["audit-logs", "export", "--db", db, "--out", "-"], env)
    assert (status, err) == (0, "")
    assert out.startswith('{"id"')


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "table"])
def test_list_all_into_head(env, fmt: str) -> None:
    status, out, err = _head_n1(["audit-logs", "list", "--all", "--format", fmt], env)
    assert (status, err) == (0, "")
    assert out.strip()
