"""Faults the live service shows, injected on purpose: latency, rate limiting, errors and broken connections.

All randomness comes from one seeded RNG, so a test that sets `seed` sees the same faults on every run.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

# What `fail_rate` may answer with: a JSON error of that status, a TCP reset, or a body cut short.
FAULT_KINDS: tuple[str, ...] = ("500", "502", "503", "reset", "truncate")


@dataclass(frozen=True)
class Faults:
    """Fault settings of an emulator; change them at run time with `Emulator.set_faults` or the control API."""

    latency_ms: float = 0.0
    """Delay added to every API request."""
    fail_rate: float = 0.0
    """Share of API requests (0..1) answered with one of `kinds` instead of the real answer."""
    rate_limit: float | None = None
    """Requests per second allowed (a token bucket holding one second's worth); beyond it, 429."""
    kinds: tuple[str, ...] = FAULT_KINDS
    """Which faults `fail_rate` draws from, uniformly."""
    seed: int = 0
    """Seed of the RNG that decides which requests fail and how."""

    def __post_init__(self) -> None:
        if self.latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        if not 0.0 <= self.fail_rate <= 1.0:
            raise ValueError("fail_rate must be within 0..1")
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise ValueError("rate_limit must be > 0 requests/s (or None for no limit)")
        unknown = [kind for kind in self.kinds if kind not in FAULT_KINDS]
        if unknown or not self.kinds:
            raise ValueError(f"kinds must be a non-empty subset of {FAULT_KINDS}, got {self.kinds!r}")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kinds"] = list(self.kinds)
        return data

    def updated(self, changes: dict[str, Any]) -> Faults:
        """A copy with `changes` applied; unknown names and bad values raise ValueError."""
        names = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(unknown)}")
        clean = dict(changes)
        try:
            if "kinds" in clean:
                clean["kinds"] = tuple(str(kind) for kind in clean["kinds"])
            for name in ("latency_ms", "fail_rate"):
                if name in clean:
                    clean[name] = float(clean[name])
            if clean.get("rate_limit") is not None:
                clean["rate_limit"] = float(clean["rate_limit"])
            if "seed" in clean:
                clean["seed"] = int(clean["seed"])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad fault setting: {exc}") from None
        return replace(self, **clean)


class FaultInjector:
    """The live state behind `Faults`: the RNG and the token bucket."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self._lock = threading.Lock()
        self._rng = random.Random(self.faults.seed)
        self._tokens = self._capacity(self.faults.rate_limit)
        self._refilled = time.monotonic()

    def configure(self, faults: Faults, *, reseed: bool = False) -> None:
        """Switch to `faults`; naming a seed (`reseed`) restarts the fault sequence even if unchanged."""
        with self._lock:
            if reseed or faults.seed != self.faults.seed:
                self._rng = random.Random(faults.seed)
            if faults.rate_limit != self.faults.rate_limit:
                self._tokens = self._capacity(faults.rate_limit)
                self._refilled = time.monotonic()
            self.faults = faults

    @staticmethod
    def _capacity(rate: float | None) -> float:
        return max(1.0, rate or 0.0)

    def retry_after(self) -> int | None:
        """Take a token; if none is left, the whole seconds until one is (for `Retry-After`)."""
        rate = self.faults.rate_limit
        if rate is None:
            return None
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self._capacity(rate), self._tokens + (now - self._refilled) * rate)
            self._refilled = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return None
            return max(1, math.ceil((1.0 - self._tokens) / rate))

    def draw(self) -> str | None:
        """The fault to inject into this request, if any."""
        faults = self.faults
        if faults.fail_rate <= 0.0:
            return None
        with self._lock:
            if self._rng.random() >= faults.fail_rate:
                return None
            return self._rng.choice(faults.kinds)
