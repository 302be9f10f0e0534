"""Where the detection rules' matches enter the report: the shipped Sigma rules (`openapiopenai.rules`,
issue 11's `audit-logs detect`) run over the report's period.

The rules need the ``detect`` extra (pySigma). Without it this returns None and the report's first
section says that detections were not run, which is not the same as "nothing fired".
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from openapiopenai.report._model import DetectionMatch, Detections
from openapiopenai.report._period import MAX_ROWS

if TYPE_CHECKING:
    from openapiopenai.archive import Archive
    from openapiopenai.rules import Match

__all__ = ["detection_matches"]


def _unix(iso: str) -> int:
    # fromisoformat, not strptime: a tenth of the time, for each of ~170k matches at 1M events.
    return int(datetime.fromisoformat(iso).timestamp())


def _entry(match: Match, at: int) -> DetectionMatch:
    where = " ".join(part for part in (
        f"by {match.actor}" if match.actor else "",
        f"from {match.ip_address}" if match.ip_address else "",
        f"({match.country})" if match.country else "",
        f"on {match.target}" if match.target else "",
    ) if part)
    events = len(match.event_ids)
    summary = f"{where}; {events:,} events" if events > 1 else where
    return DetectionMatch(match.title, match.level, match.event_ids[-1], at, summary, events)


def detection_matches(archive: Archive, since: int, until: int) -> Detections | None:
    """Every shipped rule's matches whose newest event is in ``[since, until)``, folded as the report's
    section shows them (each match counted, the first `MAX_ROWS` kept); None without pySigma.

    The matches are taken one at a time from the engine, never all held: at 1M events ~170k of them."""
    if importlib.util.find_spec("sigma") is None:
        return None
    from openapiopenai.rules import Scope, compile_rules, each_match, load_rules
    from openapiopenai.rules._cache import cache_key, load_compiled, store_compiled

    # The converted rules as `audit-logs detect` keeps them (the same key as its run with no option): parsing
    # and converting them with pySigma is ~1 s a report otherwise.
    key = cache_key([], True, {}, "informational")
    compiled = load_compiled(archive.connection, key)
    if compiled is None:
        compiled = compile_rules(load_rules())
        if not archive.readonly:
            store_compiled(archive.connection, key, compiled)

    def in_period() -> Iterator[DetectionMatch]:
        for match in each_match(archive.connection, compiled, Scope(since=since), readonly=archive.readonly):
            at = _unix(match.time)
            if at < until:
                yield _entry(match, at)

    return Detections.fold(in_period(), MAX_ROWS)
