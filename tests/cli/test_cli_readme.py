"""The README's command-line block, taken from the README text and run line by line in a shell, as a
user pastes it, against the emulator (OPENAI_BASE_URL and OPENAI_ADMIN_KEY from the environment)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from _cli_helpers import FAKE_KEY, background, script_env

README = Path(__file__).resolve().parents[2] / "README.md"


def cli_block() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## The command line\n", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match
    lines = [line.split("  #", 1)[0].strip() for line in match.group(1).splitlines()]
    return [line for line in lines if line]


@pytest.mark.slow  # the demo line archives 50,000 events (about 20 s here)
def test_the_readme_cli_lines_run(make_emulator, tmp_path: Path) -> None:
    lines = cli_block()
    assert lines[0].startswith("export OPENAI_ADMIN_KEY=")  # the placeholder: the test's env sets it
    emu = make_emulator(events=3000, seed=9, admin_key=FAKE_KEY)
    # The console script of this environment first on PATH, as in an activated venv.
    env = script_env(emu.base_url, FAKE_KEY)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    ran = []
    for line in lines[1:]:
        assert line.startswith("openapiopenai "), line
        if " tail " in line:
            with background(["bash", "-c", f"cd {tmp_path} && exec {line}"], env) as (proc, _out, err):
                while "following" not in err.get(timeout=30):
                    pass
                proc.send_signal(signal.SIGINT)
                assert proc.wait(timeout=30) == 130
            ran.append(line)
            continue
        proc = subprocess.run(
            ["bash", "-o", "pipefail", "-c", line], capture_output=True, text=True, env=env, cwd=tmp_path,
            timeout=300,
        )
        assert proc.returncode == 0, (line, proc.stderr)
        assert "Traceback" not in proc.stderr and FAKE_KEY not in proc.stdout + proc.stderr
        ran.append(line)
    assert len(ran) == len(lines) - 1
    # What the lines made: an archive with both partitions, and the export from it.
    assert (tmp_path / "audit.sqlite").exists() and (tmp_path / "logins.parquet").exists()
    assert (tmp_path / "demo-audit.sqlite").exists() and (tmp_path / "tail.state").exists()
    assert any((tmp_path / "shipped").rglob("*.jsonl"))   # the ship line delivered the archive as files
