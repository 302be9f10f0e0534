"""A broken emulator fails the CLI tests; it never turns them into skips."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CLI_TESTS = Path(__file__).resolve().parent


def test_an_unimportable_emulator_fails_rather_than_skips(tmp_path: Path) -> None:
    # sitecustomize runs before pytest: it makes `import openapiopenai.emulator` raise ImportError.
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['openapiopenai.emulator'] = None\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(CLI_TESTS / "test_cli_list.py"), "-q", "-p", "no:cacheprovider"],
        capture_output=True, text=True, env=env, timeout=120, cwd=CLI_TESTS.parents[1],
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert "skipped" not in output, output
    assert "openapiopenai.emulator" in output and "ModuleNotFoundError" in output, output
