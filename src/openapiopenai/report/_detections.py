"""Where the detection rules' matches enter the report.

HOOK (issue 11): `audit-logs detect` is being built on branch ``issue11``. When it lands a library
function that returns the rules' matches for a period, call it here and turn each match into a
`DetectionMatch` (rule, severity, event id, time, one-line summary). Until then this returns None,
and the report's first section says that no detection results were given (not "nothing fired").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from openapiopenai.report._model import DetectionMatch

if TYPE_CHECKING:
    from openapiopenai.archive import Archive

__all__ = ["detection_matches"]


def detection_matches(archive: Archive, since: int, until: int) -> Sequence[DetectionMatch] | None:
    """The detection rules' matches in ``[since, until)``; None while this version has no rules."""
    return None
