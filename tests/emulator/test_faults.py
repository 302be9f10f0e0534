"""Faults as a client sees them over a real socket: server errors, resets, truncated bodies, 429, latency."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from _emulator_helpers import LIST

from openapiopenai.emulator import EmulatedDisconnect, Emulator, EventStore, Faults, create_app


@pytest.fixture
def faulty(make_emulator: Callable[..., Emulator]) -> Emulator:
    return make_emulator(events=300, seed=2)


def get(emu: Emulator, **params: Any) -> httpx.Response:
    return httpx.get(emu.base_url + LIST, params=params, headers={"Authorization": f"Bearer {emu.admin_key}"})


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_json_errors(faulty: Emulator, status: int) -> None:
    faulty.set_faults(fail_rate=1.0, kinds=[str(status)])
    response = get(faulty)
    assert response.status_code == status and response.headers["x-request-id"].startswith("req_")
    assert response.json()["error"]["type"] == "server_error"
    assert faulty.counters()["faults"] == {str(status): 1}


def test_reset_is_a_connection_reset(faulty: Emulator) -> None:
    faulty.set_faults(fail_rate=1.0, kinds=["reset"])
    with pytest.raises(httpx.ReadError) as info:
        get(faulty)
    assert "reset" in str(info.value).lower()
    faulty.set_faults(fail_rate=0.0)
    assert get(faulty).status_code == 200  # the server itself is fine
    assert faulty.counters()["faults"] == {"reset": 1}


def test_truncate_is_a_body_shorter_than_its_length(faulty: Emulator) -> None:
    faulty.set_faults(fail_rate=1.0, kinds=["truncate"])
    with pytest.raises(httpx.RemoteProtocolError, match=r"incomplete|complete message body"):
        get(faulty, limit=50)
    faulty.set_faults(fail_rate=0.0)
    assert get(faulty).status_code == 200


def test_fail_rate_draws_every_kind_reproducibly(faulty: Emulator) -> None:
    def outcomes() -> list[str]:
        faulty.set_faults(fail_rate=0.5, seed=7)
        seen = []
        with httpx.Client(headers={"Authorization": f"Bearer {faulty.admin_key}"}) as client:
            for _ in range(40):
                try:
                    seen.append(str(client.get(faulty.base_url + LIST).status_code))
                except httpx.ReadError:
                    seen.append("reset")
                except httpx.RemoteProtocolError:
                    seen.append("truncate")
        return seen

    first = outcomes()
    assert set(first) == {"200", "500", "502", "503", "reset", "truncate"}
    assert outcomes() == first


def test_rate_limit_is_429_with_retry_after(faulty: Emulator) -> None:
    faulty.set_faults(rate_limit=2)
    statuses = [get(faulty) for _ in range(4)]
    assert [r.status_code for r in statuses[:2]] == [200, 200]
    limited = statuses[2]
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert faulty.counters()["rate_limited"] >= 1
    faulty.set_faults(rate_limit=None)
    assert get(faulty).status_code == 200


def test_latency_is_added(make_emulator: Callable[..., Emulator]) -> None:
    emu = make_emulator(events=50, latency_ms=150)
    start = time.perf_counter()
    assert get(emu).status_code == 200
    assert time.perf_counter() - start >= 0.15


def test_faults_validate_their_settings() -> None:
    with pytest.raises(ValueError):
        Faults(fail_rate=1.5)
    with pytest.raises(ValueError):
        Faults(kinds=("teapot",))
    with pytest.raises(ValueError):
        Faults(rate_limit=0)
    with pytest.raises(ValueError):
        Faults().updated({"latency_ms": "slow"})


@pytest.mark.parametrize("kind", ["reset", "truncate"])
async def test_in_process_transport_sees_a_disconnect(kind: str) -> None:
    store = EventStore()
    store.generate(30, seed=1)
    app = create_app(store, admin_key="k", faults=Faults(fail_rate=1.0, kinds=(kind,)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://e") as client:
        with pytest.raises(EmulatedDisconnect):
            await client.get("/v1" + LIST, headers={"Authorization": "Bearer k"})
