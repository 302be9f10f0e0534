"""The report's detections section takes the converted rules from the archive, as `audit-logs detect` does."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from _event_shapes import EVENTS
from openapiopenai.archive import Archive
from openapiopenai.archive._rows import event_row, insert_rows
from openapiopenai.report._detections import detection_matches
from openapiopenai.rules._cache import cache_key


def _archive(path: Path) -> None:
    with Archive(path) as archive:
        conn = archive.connection
        conn.execute("BEGIN")
        insert_rows(conn, [event_row(e, json.dumps(e), tenant=False) for e in EVENTS])
        conn.execute("COMMIT")


def _keys(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [k for (k,) in conn.execute("SELECT key FROM detect_rules")]


def test_the_report_converts_the_rules_once_per_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import openapiopenai.rules._cache as cache

    # As when the shipped rules' build-time conversion does not fit (another pySigma): see the next test.
    monkeypatch.setattr(cache, "GENERATED", tmp_path / "missing.json")
    path = tmp_path / "audit.sqlite"
    _archive(path)
    with Archive(path) as archive:
        first = detection_matches(archive, 0, 2**40)
    assert _keys(path) == [cache_key([], True, {}, "informational")]   # the key of a plain `detect`

    import openapiopenai.rules as rules

    def no_conversion(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the rules were converted again")

    monkeypatch.setattr(rules, "compile_rules", no_conversion)
    with Archive(path) as archive:
        again = detection_matches(archive, 0, 2**40)
    assert first is not None and again is not None and first.total > 0
    assert again == first
    # Read-only, nothing is stored (and a read-only archive without the entry converts them itself).
    other = tmp_path / "other.sqlite"
    _archive(other)
    monkeypatch.undo()
    monkeypatch.setattr(cache, "GENERATED", tmp_path / "missing.json")
    with Archive(other, readonly=True) as archive:
        assert detection_matches(archive, 0, 2**40) == first
    with sqlite3.connect(other) as conn:
        assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'detect_rules'").fetchone() is None


def test_the_report_uses_the_build_time_conversion_of_the_shipped_rules(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import openapiopenai.rules._cache as cache

    path = tmp_path / "audit.sqlite"
    _archive(path)
    monkeypatch.setattr(cache, "GENERATED", tmp_path / "missing.json")
    with Archive(path, readonly=True) as archive:
        converted = detection_matches(archive, 0, 2**40)
    monkeypatch.undo()
    import openapiopenai.rules as rules

    def no_conversion(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the rules were converted")

    monkeypatch.setattr(rules, "compile_rules", no_conversion)
    with Archive(path) as archive:
        assert detection_matches(archive, 0, 2**40) == converted
    with sqlite3.connect(path) as conn:   # nothing to keep in the archive
        assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'detect_rules'").fetchone() is None
