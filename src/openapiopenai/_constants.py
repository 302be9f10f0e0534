"""Retry and timeout defaults, in one place so they are easy to find and to reason about."""

from __future__ import annotations

#: How many times a failed request is retried (so up to three attempts in all).
DEFAULT_MAX_RETRIES = 2
#: First backoff delay in seconds; doubles each attempt.
INITIAL_RETRY_DELAY = 0.5
#: Backoff never waits longer than this between attempts.
MAX_RETRY_DELAY = 8.0
#: Honour server-directed delays (Retry-After) up to this many seconds; longer ones fall back to backoff,
#: so one unattended sync is never parked for an hour by a misbehaving proxy.
MAX_RETRY_AFTER = 60.0
#: Connect and read timeouts in seconds. A page of 100 events is ~70 KB; a minute covers a slow service.
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 60.0
#: Statuses worth another try: request timeout, lock conflict, rate limit; every 5xx is added in code.
RETRYABLE_STATUSES = frozenset({408, 409, 429})

DEFAULT_HOST = "https://api.openai.com/v1"
ADMIN_KEY_ENV = "OPENAI_ADMIN_KEY"
#: Read by ``Configuration()`` when no host is given, as the official SDK and this CLI read it.
BASE_URL_ENV = "OPENAI_BASE_URL"
