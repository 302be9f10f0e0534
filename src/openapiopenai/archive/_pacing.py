"""Retrying a sync's requests as one budget shared by its fetchers, not request by request.

A sync runs unattended, so a burst of 5xx or an hour of rate limiting should slow it down, not end it.
Its requests go out with the client's own retries off, through one `Pacing` per sync:

- a 429 pauses every fetcher, not just the one that got it, until its ``Retry-After`` has passed (at most
  `MAX_RETRY_AFTER`; without the header, the client's backoff), plus a different jitter for each fetcher
  so they do not all come back in the same instant and trip the limit again together;
- a 5xx, a timeout, a reset connection or a garbled body is retried by that fetcher after the client's
  backoff (doubling, jittered, capped at `MAX_RETRY_DELAY`);
- the sync gives up, raising the last error, only once no request of any fetcher has succeeded for
  `give_up_after` seconds. Other errors (401, 403, a bad request) are raised at once.

Waits end early when the sync stops (`stop()`), so a failing or interrupted sync never sits out a pause.
The clock, the wait and the jitter are parameters, so tests drive all of this without waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from openapiopenai._constants import INITIAL_RETRY_DELAY, MAX_RETRY_AFTER, MAX_RETRY_DELAY
from openapiopenai._retry import add_jitter, is_retryable_status, pause_jitter
from openapiopenai.exceptions import (
    ApiConnectionError,
    ApiException,
    ApiResponseValidationError,
    RateLimitException,
)

__all__ = ["DEFAULT_GIVE_UP_AFTER", "Pacing", "Stopped"]

T = TypeVar("T")

#: A sync stops retrying once no request has succeeded for this long (seconds).
DEFAULT_GIVE_UP_AFTER = 1800.0


class Stopped(Exception):
    """The sync is stopping; a fetcher waiting here leaves without sending anything more."""


def _wait(stop: threading.Event, seconds: float) -> bool:
    # Indirection so tests can shorten the waits of a real sync without touching every Event.
    return stop.wait(seconds)


def _retryable(exc: ApiException) -> bool:
    if isinstance(exc, (ApiConnectionError, ApiResponseValidationError)):
        return True   # no answer, or one cut short or garbled in transit
    return exc.status is not None and is_retryable_status(exc.status)


class Pacing:
    """Shared by the fetchers of one sync (thread-safe)."""

    def __init__(self, give_up_after: float = DEFAULT_GIVE_UP_AFTER, *,
                 clock: Callable[[], float] = time.monotonic,
                 wait: Callable[[threading.Event, float], bool] | None = None,
                 jitter: Callable[[float], float] = pause_jitter,
                 retried: Callable[[bool], None] | None = None) -> None:
        if give_up_after < 0:
            raise ValueError("give_up_after must not be negative")
        self.give_up_after = give_up_after
        self._clock = clock
        self._wait = wait or (lambda stop, seconds: _wait(stop, seconds))
        self._jitter = jitter
        self._retried = retried
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._resume_at = 0.0
        self._progress_at = clock()
        self.retries = 0
        self.rate_limited = 0

    def start(self) -> None:
        """(Re)open for requests: a sync walks up to two runs (an interrupted one, then its own)."""
        self._stop.clear()

    def stop(self) -> None:
        """Wake every waiting fetcher and send nothing more (until `start`)."""
        self._stop.set()

    def call(self, request: Callable[[], T]) -> T:
        """`request()`, retried under the shared budget; raises `Stopped` if the sync stops meanwhile."""
        attempt = 0
        while True:
            self._sit_out_pause()
            try:
                result = request()
            except ApiException as exc:
                if not _retryable(exc):
                    raise
                attempt += 1
                delay = self._after_failure(exc, attempt)
            else:
                with self._lock:
                    self._progress_at = max(self._progress_at, self._clock())
                return result
            if delay and self._wait(self._stop, delay):
                raise Stopped

    def _after_failure(self, exc: ApiException, attempt: int) -> float:
        """Record a failure; returns this fetcher's own wait (0 after a 429: the shared pause covers it)."""
        backoff = add_jitter(min(INITIAL_RETRY_DELAY * 2 ** (attempt - 1), MAX_RETRY_DELAY))
        limited = isinstance(exc, RateLimitException)
        if self._retried is not None:   # as it happens, so a sync that fails in the end is counted too
            self._retried(limited)
        with self._lock:
            now = self._clock()
            self.retries += 1
            if now - self._progress_at >= self.give_up_after:
                raise exc   # the budget is spent: the last error is the sync's error
            if isinstance(exc, RateLimitException):
                self.rate_limited += 1
                after = exc.retry_after
                pause = backoff if after is None else min(after, MAX_RETRY_AFTER)
                self._resume_at = max(self._resume_at, now + pause)
                return 0.0
        return backoff

    def _sit_out_pause(self) -> None:
        while True:
            if self._stop.is_set():
                raise Stopped
            with self._lock:
                left = self._resume_at - self._clock()
            if left <= 0:
                return
            if self._wait(self._stop, left + self._jitter(left)):
                raise Stopped
