"""Fixtures for the report tests: the demo organisation's report, a real Chromium, hostile events."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))

from _cdp import Browser, chromium_path


@pytest.fixture(scope="session")
def demo_report(demo_run: tuple[Path, str]) -> tuple[Path, Path]:
    """(archive, report) as `openapiopenai demo` leaves them, found by the path it prints."""
    db, stdout = demo_run
    found = re.search(r"Access-review report of the last 30 days: (\S+)", stdout)
    assert found, stdout
    report = Path(found.group(1))
    assert report.is_file() and report.suffix == ".html"
    assert report.parent == db.parent  # beside the archive
    return db, report


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    if chromium_path() is None:
        pytest.fail("Chromium is not installed: apt-get install -y chromium (.ci/run installs it)")
    profile = tmp_path / "profile"
    profile.mkdir()
    b = Browser(profile)
    try:
        yield b
    finally:
        b.close()
