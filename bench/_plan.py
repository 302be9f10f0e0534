"""How much work each mode does. Full sizes are the issue's; quick ones only prove the harness runs."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FULL", "QUICK", "Plan"]


@dataclass(frozen=True)
class Plan:
    name: str
    list_rounds: int
    list_calls: int
    """Calls per timed batch: one timer read per batch keeps timer overhead out of sub-ms figures."""
    parse_rounds: int
    parse_calls: int
    startup_rounds: int
    paging_events: int
    paging_rounds: int
    sync_events: int
    sync_rounds: int
    backfill_events: int
    backfill_latency_ms: int
    backfill_rounds: int


FULL = Plan("full", list_rounds=15, list_calls=20, parse_rounds=15, parse_calls=10, startup_rounds=10,
            paging_events=100_000, paging_rounds=3, sync_events=1_000_000, sync_rounds=2,
            backfill_events=20_000, backfill_latency_ms=200, backfill_rounds=2)
QUICK = Plan("quick", list_rounds=3, list_calls=3, parse_rounds=3, parse_calls=3, startup_rounds=2,
             paging_events=2_000, paging_rounds=1, sync_events=3_000, sync_rounds=1,
             backfill_events=1_000, backfill_latency_ms=20, backfill_rounds=1)
