"""Reading --since/--until/--lookback values."""

from __future__ import annotations

import pytest

from openapiopenai.cli._time import format_time, parse_duration, parse_when

NOW = 1_790_000_000.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01", 1_793_491_200),
        ("2026-11-01T12:00:00Z", 1_793_534_400),
        ("2026-11-01T12:00:00+02:00", 1_793_527_200),
        ("2026-11-01T12:00:00", 1_793_534_400),  # no offset: UTC, not the laptop's zone
        ("1793491200", 1_793_491_200),
        ("0", 0),
        ("20261101", 1_793_491_200),
        ("7d", int(NOW) - 7 * 86400),
        ("12h", int(NOW) - 12 * 3600),
        ("30m", int(NOW) - 1800),
    ],
)
def test_parse_when(text: str, expected: int) -> None:
    assert parse_when(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01", "7x", "-5d", "12 h"])
def test_parse_when_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="is not a time"):
        parse_when(text, now=NOW)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15m", 900), ("30s", 30), ("1h30m", 5400), ("0.5s", 0.5), ("2w", 1_209_600), ("45", 45)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "15 minutes", "1.5.2s", "-3m"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_format_time() -> None:
    assert format_time(1_793_534_400) == "2026-11-01T12:00:00Z"
    assert format_time(None) == ""
