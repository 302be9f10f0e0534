"""The library side of `list --db`/`tail --db`: bad input is a ValueError, positions are arrival numbers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from openapiopenai.archive import Archive, ArchiveFollower, Filters, iter_events
from openapiopenai.archive._rows import INSERT_SQL, event_row


def _add(archive: Archive, *events: dict[str, object], tenant: bool = False) -> None:
    for event in events:
        archive.connection.execute(INSERT_SQL, event_row(event, json.dumps(event), tenant=tenant))
    archive.connection.commit()


def test_bad_search_and_limit_are_value_errors(tmp_path: Path) -> None:
    with Archive(tmp_path / "a.sqlite") as archive:
        with pytest.raises(ValueError, match="search"):
            list(iter_events(archive, Filters(), search=""))
        with pytest.raises(ValueError, match="limit"):
            list(iter_events(archive, Filters(), limit=0))
        with pytest.raises(ValueError, match="search"):
            ArchiveFollower(archive, Filters(), search="")


def test_both_partitions_merge_in_listing_order(tmp_path: Path, event_maker: Callable[..., Any]) -> None:
    make_event = event_maker
    with Archive(tmp_path / "a.sqlite") as archive:
        _add(archive, make_event(1, 100), make_event(3, 300))
        _add(archive, make_event(2, 200, "tenant.user.added"), tenant=True)
        assert [e.effective_at for e in iter_events(archive, Filters())] == [300, 200, 100]
        assert [e.effective_at for e in iter_events(archive, Filters(tenant_only=True))] == [200]
        assert [e.effective_at for e in iter_events(archive, Filters(), newest_first=False, limit=2)] == [100, 200]


def test_follower_goes_by_arrival_not_by_time(tmp_path: Path, event_maker: Callable[..., Any]) -> None:
    make_event = event_maker
    with Archive(tmp_path / "a.sqlite") as archive:
        _add(archive, make_event(1, 1000))
        follower = ArchiveFollower(archive, Filters())
        assert follower.start() == []  # no --since: only what arrives from now on
        _add(archive, make_event(2, 10))  # late: older than everything already there
        assert [e.effective_at for e in follower.poll()] == [10]
        assert follower.poll() == []
