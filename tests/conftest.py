"""Fixtures shared by the whole suite: emulators on free loopback ports, over real HTTP.

- `emulator`: an `Emulator(events=2000, seed=1)` (URL `emulator.base_url`, key `emulator.admin_key`).
  One server is shared by the tests of a module, but each test gets it as new: the events a test
  inserts, and the faults and counters it changes, are undone when it ends.
- `make_emulator(**kwargs)`: an emulator of a test's own (faults, live rate, another seed), stopped at
  teardown; keyword arguments are those of `openapiopenai.emulator.Emulator`.
- `demo_run`: `openapiopenai demo` run once for the session, as a user runs it: (archive, stdout).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from openapiopenai.emulator import Emulator


@pytest.fixture(scope="module")
def shared_emulator() -> Iterator[Emulator]:
    """The module's emulator as it is; prefer `emulator`, which undoes each test's changes."""
    # Imported here, not at the top: collecting the suite must not import the server stack (the CLI's
    # import-budget tests watch that).
    from openapiopenai.emulator import Emulator

    with Emulator(events=2000, seed=1) as emu:
        yield emu


@pytest.fixture
def emulator(shared_emulator: Emulator) -> Iterator[Emulator]:
    from openapiopenai.emulator import Faults

    mark = shared_emulator.store.checkpoint()
    shared_emulator.reset_counters()
    yield shared_emulator
    shared_emulator.store.rollback(mark)
    shared_emulator.set_faults(**Faults().to_json())
    shared_emulator.reset_counters()


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., Emulator]]:
    from openapiopenai.emulator import Emulator

    started: list[Emulator] = []

    def make(**kwargs: Any) -> Emulator:
        emu = Emulator(**kwargs).start()
        started.append(emu)
        return emu

    yield make
    for emu in started:
        emu.stop()


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The demo's archive (and what the demo printed), for the tests that read a realistic archive."""
    script = shutil.which("openapiopenai", path=os.path.dirname(sys.executable))
    assert script, "the openapiopenai console script is not installed in this environment"
    db = tmp_path_factory.mktemp("demo") / "demo-audit.sqlite"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    proc = subprocess.run([script, "demo", "--events", "6000", "--db", str(db)], capture_output=True, text=True,
                          env=env, timeout=240, check=False)
    assert proc.returncode == 0, proc.stderr
    return db, proc.stdout
