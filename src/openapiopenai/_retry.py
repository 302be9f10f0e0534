"""When and how long to wait before trying a request again."""

from __future__ import annotations

import email.utils
import random
import time

import httpx

from ._constants import INITIAL_RETRY_DELAY, MAX_RETRY_AFTER, MAX_RETRY_DELAY, RETRYABLE_STATUSES

__all__ = ["add_jitter", "is_retryable_status", "parse_retry_after", "pause_jitter", "retry_delay"]


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUSES or status >= 500


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = parsed.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds < 0:  # NaN or in the past
        return 0.0
    return seconds


def add_jitter(delay: float) -> float:
    """Spread retries of many clients apart. Separate so tests can pin it."""
    return delay * (1.0 - 0.25 * random.random())


def retry_delay(attempt: int, response: httpx.Response | None) -> float:
    """How long to sleep before retry number ``attempt`` (1-based)."""
    if response is not None:
        # Honour a server-directed delay up to a cap; beyond the cap, fall back to our own backoff.
        after = parse_retry_after(response.headers.get("retry-after"))
        if after is not None and after <= MAX_RETRY_AFTER:
            return after
    return add_jitter(min(INITIAL_RETRY_DELAY * 2 ** (attempt - 1), MAX_RETRY_DELAY))


def pause_jitter(delay: float) -> float:
    """Extra wait on top of a shared pause (a rate limit's Retry-After), different for each waiter, so
    the fetchers that paused together do not all come back in the same instant. Separate so tests can pin it."""
    return min(1.0, 0.25 * delay) * random.random()
