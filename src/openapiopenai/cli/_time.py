"""Reading the times and durations people type on a command line.

``--since``/``--until`` take an ISO-8601 date or date-time (``2026-11-01``, ``2026-11-01T12:00:00Z``),
a relative age (``7d``, ``12h``, ``30m``: that long before now) or a unix timestamp. A date-time
without an offset is read as UTC, because audit logs are kept in UTC and a laptop's local zone is
rarely what an analyst means. Durations (``--lookback``, ``--interval``) use the same units and may
be combined (``1h30m``) or fractional (``0.5s``).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

__all__ = ["Duration", "When", "format_time", "parse_duration", "parse_when"]

if TYPE_CHECKING:
    _IntParam = click.ParamType[int]
    _FloatParam = click.ParamType[float]
else:
    # ParamType is generic only from click 8.2 on; the project supports 8.1.
    _IntParam = _FloatParam = click.ParamType

#: 1e11 seconds is the year 5138, while 1e11 milliseconds is March 1973: a value this large is an
#: epoch in milliseconds (JavaScript's Date.now(), many log tools), never one in seconds.
_MILLISECONDS_FROM = 100_000_000_000
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?[smhdw])+")


def parse_duration(text: str) -> float:
    """Seconds in ``text`` (``15m``, ``1h30m``, ``0.5s`` or a bare number of seconds)."""
    value = text.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        return float(value)
    if not _DURATION.fullmatch(value):
        raise ValueError(f"{text!r} is not a duration (examples: 30s, 15m, 12h, 7d, 1h30m)")
    return sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _PART.findall(value))


def parse_when(text: str, now: float | None = None) -> int:
    """Unix seconds for an ISO-8601 time, a relative age before ``now``, or a unix integer."""
    value = text.strip()
    if re.fullmatch(r"\d+", value) and len(value) != 8:
        # Eight digits read as a basic ISO date (20261101); no one means a 1970s timestamp.
        seconds = int(value)
        if seconds >= _MILLISECONDS_FROM:
            raise ValueError(
                f"{text!r} looks like milliseconds (as seconds it is past the year 5000); "
                f"give unix seconds: {seconds // 1000}"
            )
        return seconds
    if _DURATION.fullmatch(value.lower()):
        current = time.time() if now is None else now
        return int(current - parse_duration(value))
    iso = value[:-1] + "+00:00" if value[-1:] in ("Z", "z") else value
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time (examples: 2026-11-01, 2026-11-01T12:00:00Z, 7d, 12h, 1767225600)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def format_time(unix: int | float | None) -> str:
    """``2026-11-01T12:00:00Z`` for a unix time; empty for a missing one."""
    if unix is None:
        return ""
    try:
        return datetime.fromtimestamp(int(unix), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        # A timestamp outside the platform's range is still shown rather than failing the listing.
        return str(unix)


class When(_IntParam):
    """A ``--since``/``--until`` value, converted to unix seconds."""

    name = "WHEN"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_when(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class Duration(_FloatParam):
    """A duration such as ``15m``, converted to seconds; ``minimum`` guards against zero or less."""

    name = "DURATION"

    def __init__(self, minimum: float = 0.0) -> None:
        self.minimum = minimum

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, (int, float)):
            seconds = float(value)
        else:
            try:
                seconds = parse_duration(str(value))
            except ValueError as exc:
                self.fail(str(exc), param, ctx)
        if seconds < self.minimum:
            self.fail(f"{value!r} is too short (at least {self.minimum:g}s)", param, ctx)
        return seconds
