"""Fixtures for running the CLI as a user would, against an emulator over real HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from _cli_helpers import DEAD_URL, FAKE_KEY, Run
from click.testing import CliRunner, Result

from openapiopenai.cli import cli
from openapiopenai.emulator import Emulator


@pytest.fixture(scope="module")
def org() -> Iterator[Emulator]:
    """A small organisation shared by the tests that only read from it."""
    with Emulator(events=1500, seed=7, admin_key=FAKE_KEY) as emu:
        yield emu


@pytest.fixture
def fresh_org(make_emulator: Callable[..., Emulator]) -> Emulator:
    """An organisation of its own, for tests that insert events (the suite's `make_emulator`)."""
    return make_emulator(events=300, seed=11, admin_key=FAKE_KEY)


def _clean_env(base_url: str | None, key: str | None) -> dict[str, str | None]:
    # None unsets: the developer's own OPENAI_* or colour settings must not leak into a test.
    return {
        "OPENAI_BASE_URL": base_url,
        "OPENAI_ADMIN_KEY": key,
        "NO_COLOR": None,
        "FORCE_COLOR": None,
        "OPENAPIOPENAI_DEBUG": None,
    }


def _runner(default_base_url: str) -> Run:
    def _run(
        *args: str, base_url: str | None = None, key: str | None = FAKE_KEY, env: dict[str, str] | None = None
    ) -> Result:
        full_env = _clean_env(base_url or default_base_url, key)
        full_env.update(env or {})
        result = CliRunner().invoke(cli, list(args), env=full_env)
        # Whatever happened, the key never shows.
        assert FAKE_KEY not in result.stdout and FAKE_KEY not in result.stderr
        return result

    return _run


@pytest.fixture
def run(org: Emulator) -> Run:
    """``run(*args, base_url=..., key=..., env={...})``: the CLI through click's runner, against ``org``."""
    return _runner(org.base_url)


@pytest.fixture
def needs_emulator() -> None:
    """Kept for the modules that name it: the emulator is part of the package, imported above, so a
    broken one fails these tests instead of skipping them."""


@pytest.fixture
def run_offline() -> Run:
    """The same with no service: nothing listens on the discard port, so any request would fail."""
    return _runner(DEAD_URL)
