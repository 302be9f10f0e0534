"""The sync's shared retry budget: one 429 pauses every fetcher, failures retry until no progress for too long."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from openapiopenai.archive._pacing import Pacing, Stopped
from openapiopenai.exceptions import RateLimitException, ServiceException, UnauthorizedException


def _429(after: str | None) -> RateLimitException:
    return RateLimitException(429, "Too Many Requests", headers={"retry-after": after} if after else {})


def _503() -> ServiceException:
    return ServiceException(503, "Service Unavailable")


class FakeTime:
    """A clock that only moves when someone waits; `during_wait` runs inside the first wait."""

    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []
        self.during_wait: Callable[[], None] | None = None

    def clock(self) -> float:
        return self.now

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        self.waits.append(seconds)
        start = self.now
        if self.during_wait is not None:
            during, self.during_wait = self.during_wait, None
            during()
        self.now = max(self.now, start + seconds)
        return stop.is_set()


def _pacing(t: FakeTime, give_up_after: float = 1800.0) -> Pacing:
    return Pacing(give_up_after, clock=t.clock, wait=t.wait, jitter=lambda delay: 0.5)


def test_a_429_pauses_every_fetcher_until_its_retry_after_plus_jitter() -> None:
    t = FakeTime()
    pacing = _pacing(t)
    sent: list[tuple[str, float]] = []

    def fetcher_a() -> str:
        sent.append(("a", t.now))
        if len(sent) == 1:
            raise _429("5")
        return "a"

    def fetcher_b() -> str:
        sent.append(("b", t.now))
        return "b"

    # Fetcher B starts while A sits out the pause A's 429 began: B does not send before it ends.
    t.during_wait = lambda: sent.append(("b-result", pacing.call(fetcher_b) == "b"))  # type: ignore[func-returns-value]
    assert pacing.call(fetcher_a) == "a"
    assert sent[0] == ("a", 100.0)
    assert ("b", 105.5) in sent            # Retry-After 5, plus its pinned jitter
    assert sent[-1] == ("a", 105.5)
    assert pacing.rate_limited == 1 and pacing.retries == 1


def test_a_429_without_retry_after_backs_off_and_a_long_one_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    from openapiopenai.archive import _pacing as pacing_module

    monkeypatch.setattr(pacing_module, "add_jitter", lambda delay: delay)
    t = FakeTime()
    pacing = _pacing(t)
    answers: list[Any] = [_429(None), _429("3600"), "ok"]

    def request() -> Any:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert pacing.call(request) == "ok"
    assert t.waits == [0.5 + 0.5, 60.0 + 0.5]   # backoff 0.5 s; an hour's Retry-After waits 60 s


def test_5xx_bursts_are_retried_past_any_count_until_the_budget_of_no_progress(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from openapiopenai.archive import _pacing as pacing_module

    # The backoff's jitter is random: pinned, the waits are exact (0.5, 1, 2, 4, then 8 s each), so the
    # test cannot land on either side of the budget by chance (unpinned, 20 failures summed 96-128 s).
    monkeypatch.setattr(pacing_module, "add_jitter", lambda delay: delay)
    t = FakeTime()
    pacing = _pacing(t, give_up_after=120)
    failures = [0]

    def flaky() -> str:
        failures[0] += 1
        if failures[0] <= 15:
            raise _503()
        return "ok"

    assert pacing.call(flaky) == "ok"   # 15 failures in a row, far past the client's 2 retries
    assert pacing.retries == 15
    assert t.waits == [0.5, 1.0, 2.0, 4.0] + [8.0] * 11 and t.now - 100.0 == 95.5

    def down() -> str:
        raise _503()

    start = t.now
    with pytest.raises(ServiceException):
        pacing.call(down)
    assert t.now - start == 7.5 + 8.0 * 15   # gave up at the first failure 120 s or more after the success (127.5)


def test_other_errors_are_raised_at_once_and_a_stop_wakes_a_waiter() -> None:
    t = FakeTime()
    pacing = _pacing(t)

    def unauthorised() -> str:
        raise UnauthorizedException(401, "Unauthorized")

    with pytest.raises(UnauthorizedException):
        pacing.call(unauthorised)
    assert pacing.retries == 0 and t.waits == []

    def limited() -> str:
        raise _429("30")

    t.during_wait = pacing.stop   # the sync stops while this fetcher waits
    with pytest.raises(Stopped):
        pacing.call(limited)
    with pytest.raises(Stopped):
        pacing.call(lambda: "never sent")
    pacing.start()
    t.now += 60
    assert pacing.call(lambda: "sent") == "sent"


def test_give_up_after_zero_raises_the_first_failure() -> None:
    t = FakeTime()
    pacing = _pacing(t, give_up_after=0)

    def down() -> str:
        raise _503()

    with pytest.raises(ServiceException):
        pacing.call(down)
    assert t.waits == []
