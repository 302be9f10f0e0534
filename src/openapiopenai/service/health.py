"""``/healthz``: healthy while every organisation synced within two of its intervals.

Two intervals, not one: a single slow or failed cycle is normal (a 429 storm, a deploy of the API);
two in a row mean someone should look. Until an organisation's first success the clock starts at the
service's start, so a fresh service is healthy while its first back-fill runs, for as long.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from openapiopenai.service.config import OrgConfig

__all__ = ["Health"]


class Health:
    def __init__(self, orgs: tuple[OrgConfig, ...], last_success: dict[str, float],
                 clock: Callable[[], float] = time.time) -> None:
        self.orgs = orgs
        self.last_success = last_success
        self.clock = clock
        self.started = clock()

    def check(self) -> tuple[bool, str]:
        """(healthy, one line saying why)."""
        now = self.clock()
        late = []
        for org in self.orgs:
            last = self.last_success.get(org.name)
            since = now - (last if last is not None else self.started)
            if since > 2 * org.interval:
                what = "no successful sync" if last is None else "last successful sync"
                late.append(f"{org.name}: {what} for {since:.0f}s (interval {org.interval:g}s)")
        if late:
            return False, "; ".join(late)
        return True, f"ok: {len(self.orgs)} organisation{'s' * (len(self.orgs) != 1)} synced within two intervals"
