"""Fixtures for the service tests: a webhook receiver on loopback and ``openapiopenai run`` subprocesses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from _service_helpers import RunningService, Webhook


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def start_service() -> Iterator[Callable[..., RunningService]]:
    started: list[RunningService] = []

    def start(config: Path, env: dict[str, str], *args: str) -> RunningService:
        service = RunningService(config, env, *args)
        started.append(service)
        return service

    yield start
    for service in started:
        service.close()
