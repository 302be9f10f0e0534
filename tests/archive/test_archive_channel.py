"""The fetchers' hand-off: bounded, and a close frees every blocked side at once (no polling)."""

from __future__ import annotations

import threading

import pytest

from openapiopenai.archive._channel import Channel, Closed


def test_takes_what_is_waiting_in_order_up_to_a_cap() -> None:
    channel: Channel[int] = Channel(5)
    for i in range(4):
        channel.put(i)
    assert channel.get_some(3) == [0, 1, 2]
    assert channel.get() == 3


def test_close_frees_a_producer_blocked_on_a_full_channel_and_a_waiting_consumer() -> None:
    full: Channel[int] = Channel(1)
    full.put(1)
    empty: Channel[int] = Channel(1)
    outcomes: list[str] = []

    def blocked_put() -> None:
        try:
            full.put(2)
        except Closed:
            outcomes.append("put freed")

    def blocked_get() -> None:
        try:
            empty.get()
        except Closed:
            outcomes.append("get freed")

    threads = [threading.Thread(target=blocked_put), threading.Thread(target=blocked_get)]
    for t in threads:
        t.start()
    full.close()
    empty.close()
    for t in threads:
        t.join(timeout=10)
    assert sorted(outcomes) == ["get freed", "put freed"]
    assert full.get() == 1   # what was in it is still handed out, then Closed
    with pytest.raises(Closed):
        full.get()
    with pytest.raises(Closed):
        full.put(3)
