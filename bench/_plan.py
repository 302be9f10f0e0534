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
    newer_events: int
    ship_events: int
    ship_rounds: int
    export_events: int
    """Row 10: the emulator whose sync makes the archive that is exported."""
    export_rounds: int
    keep_sync_db: bool
    """Generate row 5's emulator database (and row 10's archive) once under bench/.work and reuse them (a
    minute or two saved per full run); quick runs keep theirs apart, so test runs never share a file."""
    """Row 4b only shows whether a client pages past unknown types, so a smaller emulator will do."""
    detect_events: int
    """Row 11: the archive the detection rules run over."""
    detect_new_events: int
    detect_rounds: int
    budget_s: float
    """The whole run's time limit; extra rounds of the long rows are dropped to keep it."""
    reserve_after_sync_s: float
    """Kept back while repeating row 5, for rows 4 and 6 (one round each) and server start-ups."""
    reserve_after_paging_s: float
    """Kept back while repeating row 4, for row 4b and one round of row 6."""


FULL = Plan("full", list_rounds=15, list_calls=20, parse_rounds=15, parse_calls=10, startup_rounds=10,
            paging_events=100_000, paging_rounds=3, sync_events=1_000_000, sync_rounds=2,
            backfill_events=20_000, backfill_latency_ms=200, backfill_rounds=2, newer_events=10_000,
            ship_events=1_000_000, ship_rounds=2, keep_sync_db=True,
            export_events=1_000_000, export_rounds=3,
            detect_events=1_000_000, detect_new_events=1_000, detect_rounds=2,
            # 15 minutes is the limit for a run from a clean checkout; keep one back for set-up noise.
            budget_s=14 * 60, reserve_after_sync_s=240, reserve_after_paging_s=90)
QUICK = Plan("quick", list_rounds=3, list_calls=3, parse_rounds=3, parse_calls=3, startup_rounds=2,
             paging_events=2_000, paging_rounds=1, sync_events=3_000, sync_rounds=1,
             backfill_events=1_000, backfill_latency_ms=20, backfill_rounds=1, newer_events=1_000,
             ship_events=5_000, ship_rounds=1, keep_sync_db=False,
             export_events=3_000, export_rounds=1,
             detect_events=3_000, detect_new_events=100, detect_rounds=1,
            budget_s=10 * 60, reserve_after_sync_s=0, reserve_after_paging_s=0)
