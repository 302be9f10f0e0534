"""`live_rate`: new events appear as time passes, always newest, and cursors keep working."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from _emulator_helpers import LIST

from openapiopenai.emulator import Emulator, EventStore, create_app
from openapiopenai.emulator._live import MAX_LIVE_CATCH_UP, LiveFeed


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_feed_appends_by_elapsed_time_after_the_newest_event() -> None:
    store = EventStore()
    store.generate(100, seed=1)
    newest = store.newest_effective_at()
    assert newest is not None
    clock = FakeClock()
    feed = LiveFeed(store, rate=4.0, clock=clock)
    assert feed.catch_up() == 0
    clock.now += 2.5
    assert feed.catch_up() == 10 and store.count() == 110
    assert feed.catch_up() == 0
    live = store.all_events()[:10]
    assert all(e["effective_at"] >= newest for e in live)
    clock.now += 10_000
    assert feed.catch_up() == MAX_LIVE_CATCH_UP


async def test_live_events_show_up_over_http_and_cursors_hold() -> None:
    store = EventStore()
    store.generate(200, seed=3)
    app = create_app(store, admin_key="k", live_rate=2.0)
    clock = FakeClock()
    app.live = LiveFeed(store, rate=2.0, clock=clock)
    headers = {"Authorization": "Bearer k"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://e/v1",
                                 headers=headers) as client:
        first = (await client.get(LIST, params={"limit": 5})).json()
        older = (await client.get(LIST, params={"limit": 5, "after": first["last_id"]})).json()
        clock.now += 3
        newer = (await client.get(LIST, params={"before": first["first_id"]})).json()
        assert store.count() == 206 and not newer["has_more"]
        listed = [e["id"] for e in store.all_events()]
        assert [e["id"] for e in newer["data"]] == listed[: listed.index(first["first_id"])]
        again = (await client.get(LIST, params={"limit": 5, "after": first["last_id"]})).json()
        assert again["data"] == older["data"]


def test_live_rate_on_a_real_server(make_emulator: Callable[..., Emulator]) -> None:
    emu = make_emulator(events=100, live_rate=200.0)
    initial = {e["id"] for e in emu.store.all_events()}  # the feed appends only when requests come
    headers = {"Authorization": f"Bearer {emu.admin_key}"}
    with httpx.Client(base_url=emu.base_url, headers=headers) as client:
        # Bounded: at 200 events/s new ones are due within milliseconds, and they are the newest.
        for _ in range(300):
            top = client.get(LIST, params={"limit": 100}).json()["data"]
            if {e["id"] for e in top} - initial:
                break
        else:
            raise AssertionError("no live event appeared")
    assert emu.store.count() > 100
