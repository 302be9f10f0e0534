"""`openapiopenai --help` stays fast: the heavy modules load only in the commands that need them."""

from __future__ import annotations

import functools
import subprocess
import sys

import pytest

HEAVY = ("httpx", "rich", "starlette", "uvicorn", "pyarrow", "openapiopenai.emulator", "openapiopenai.models")


@functools.cache
def _imported(code: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    assert names, proc.stderr[-2000:]
    return names


def _heavy(names: set[str]) -> list[str]:
    return sorted(n for n in names if any(n == h or n.startswith(h + ".") for h in HEAVY))


HELP = (
    "import sys; sys.argv = ['openapiopenai', 'audit-logs', 'list', '--help']\n"
    "from openapiopenai.cli import main\n"
    "try:\n    main()\nexcept SystemExit:\n    pass\n"
)


def _check_budget(code: str) -> None:
    # httpx counts as heavy: its own __init__ imports its command line (rich, pygments) whenever rich
    # is installed, so `--help` must not reach it; `import openapiopenai` defers it.
    assert _heavy(_imported(code)) == []


@pytest.mark.parametrize("code", ["import openapiopenai.cli", HELP], ids=["import", "help"])
def test_cli_adds_nothing_heavy_to_the_library(code: str) -> None:
    """What the CLI itself imports up front: nothing beyond what `import openapiopenai` costs."""
    added = set(_heavy(_imported(code))) - set(_heavy(_imported("import openapiopenai")))
    assert sorted(added) == []


@pytest.mark.parametrize("code", ["import openapiopenai.cli", HELP], ids=["import", "help"])
def test_import_budget(code: str) -> None:
    """No rich, starlette, uvicorn, pyarrow, emulator or models before a command needs them."""
    _check_budget(code)
