"""The fetchers' hand-off: bounded, and a close frees every blocked side at once (no polling)."""

from __future__ import annotations

import threading

import pytest

from openapiopenai.archive._channel import Channel, Closed


def test_takes_what_is_waiting_in_order_up_to_a_cap() -> None:
    channel: Channel[int] = Channel(5)
    for i in range(4):
        channel.put(i)
    assert len(channel) == 4
    assert channel.get_some(3) == [0, 1, 2]
    assert len(channel) == 1
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


def _watch_consumer(channel: Channel[int]) -> tuple[threading.Event, list[bool]]:
    """An event set once the consumer waits, and how each of its waits ended (True: it was woken)."""
    waiting, wakes = threading.Event(), []
    real_wait = channel._not_empty.wait

    def wait(timeout: float | None = None) -> bool:
        waiting.set()   # the consumer still holds the lock here: a put can only come once it waits
        woke = real_wait(timeout)
        wakes.append(woke)
        return woke

    channel._not_empty.wait = wait  # type: ignore[method-assign]
    return waiting, wakes


def _consume(channel: Channel[int], **kwargs: object) -> tuple[threading.Thread, list[list[int]]]:
    got: list[list[int]] = []
    thread = threading.Thread(target=lambda: got.append(channel.get_some(10, **kwargs)))  # type: ignore[arg-type]
    thread.start()
    return thread, got


def test_a_lingering_consumer_sleeps_through_puts_that_leave_it_short() -> None:
    # In a sync each needless wake takes the GIL from the fetcher that just handed a page over.
    channel: Channel[int] = Channel(10)
    waiting, wakes = _watch_consumer(channel)
    channel.put(0)
    thread, got = _consume(channel, least=3, linger=30)
    assert waiting.wait(10)
    channel.put(1)   # two of three: the consumer sleeps on
    channel.put(2)   # three: now it is worth waking
    thread.join(10)
    assert got == [[0, 1, 2]]
    assert wakes == [True]


def test_an_urgent_put_wakes_a_lingering_consumer_at_once() -> None:
    channel: Channel[int] = Channel(10)
    waiting, wakes = _watch_consumer(channel)
    channel.put(0)
    thread, got = _consume(channel, least=5, linger=30, urgent=lambda item: item < 0)
    assert waiting.wait(10)
    channel.put(1)
    channel.put(-1)
    thread.join(10)
    assert got == [[0, 1, -1]]
    assert wakes == [True]


def test_an_urgent_item_already_waiting_cuts_the_linger_short() -> None:
    channel: Channel[int] = Channel(10)
    _, wakes = _watch_consumer(channel)
    channel.put(-1)
    channel.put(1)
    assert channel.get_some(10, least=5, linger=30, urgent=lambda item: item < 0) == [-1, 1]
    assert wakes == []


def test_a_linger_ends_with_what_came_when_its_time_is_up() -> None:
    channel: Channel[int] = Channel(10)
    _, wakes = _watch_consumer(channel)
    channel.put(0)
    assert channel.get_some(10, least=5, linger=0.01) == [0]
    assert wakes and not any(wakes)


def test_close_ends_a_linger_with_what_is_waiting() -> None:
    channel: Channel[int] = Channel(10)
    waiting, _ = _watch_consumer(channel)
    channel.put(0)
    thread, got = _consume(channel, least=5, linger=30)
    assert waiting.wait(10)
    channel.close()
    thread.join(10)
    assert got == [[0]]


def test_a_take_frees_as_many_blocked_producers_as_it_made_room_for() -> None:
    channel: Channel[int] = Channel(2)
    channel.put(0)
    channel.put(1)
    producers = [threading.Thread(target=channel.put, args=(i,)) for i in (2, 3)]
    for p in producers:
        p.start()
    assert channel.get_some(2) == [0, 1]
    for p in producers:
        p.join(10)
    assert not any(p.is_alive() for p in producers)
    assert sorted(channel.get_some(2)) == [2, 3]
