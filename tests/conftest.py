"""Fixtures shared by the whole suite: emulators on free loopback ports, over real HTTP.

- `emulator`: an `Emulator(events=2000, seed=1)` (URL `emulator.base_url`, key `emulator.admin_key`).
  One server is shared by the tests of a module, but each test gets it as new: the events a test
  inserts, and the faults and counters it changes, are undone when it ends.
- `make_emulator(**kwargs)`: an emulator of a test's own (faults, live rate, another seed), stopped at
  teardown; keyword arguments are those of `openapiopenai.emulator.Emulator`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
