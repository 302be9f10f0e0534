"""Where the detection rules' matches enter the report: the shipped Sigma rules (`openapiopenai.rules`,
issue 11's `audit-logs detect`) run over the report's period.

The rules need the ``detect`` extra (pySigma). Without it this returns None and the report's first
section says that detections were not run, which is not the same as "nothing fired".
"""

from __future__ import annotations

import calendar
import importlib.util
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from openapiopenai.report._model import DetectionMatch

if TYPE_CHECKING:
    from openapiopenai.archive import Archive

__all__ = ["detection_matches"]


def _unix(iso: str) -> int:
    return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))


def detection_matches(archive: Archive, since: int, until: int) -> Sequence[DetectionMatch] | None:
    """Every shipped rule's matches whose newest event is in ``[since, until)``; None without pySigma."""
    if importlib.util.find_spec("sigma") is None:
        return None
    from openapiopenai.rules import Scope, compile_rules, detect, load_rules

    found = detect(archive.connection, compile_rules(load_rules()), Scope(since=since), readonly=archive.readonly)
    out: list[DetectionMatch] = []
    for match in found:
        at = _unix(match.time)
        if at >= until:
            continue
        where = " ".join(part for part in (
            f"by {match.actor}" if match.actor else "",
            f"from {match.ip_address}" if match.ip_address else "",
            f"({match.country})" if match.country else "",
            f"on {match.target}" if match.target else "",
        ) if part)
        events = len(match.event_ids)
        summary = f"{where}; {events:,} events" if events > 1 else where
        out.append(DetectionMatch(match.title, match.level, match.event_ids[-1], at, summary, events))
    return out
