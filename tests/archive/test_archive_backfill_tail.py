"""A parallel back-fill builds the lookup indexes while its last pages are in flight, not after them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from openapiopenai.archive import Archive, Filters, _state, sync_archive
from openapiopenai.archive._schema import missing_indexes

#: Whether the last pages are still on the wire when no slice can be split any more depends on how the
#: threads are scheduled: on a loaded machine one group commit can take every last page at once, and the
#: indexes are then built by the completion, as before. So a few walks (bounded), one of which must
#: show the early build; every walk must be exact and keep its indexes once built.
_ATTEMPTS = 3


def test_the_last_pages_of_a_parallel_backfill_land_with_the_indexes_built(
        tmp_path: Path, make_emulator: Any, api_for: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # 30 ms a request: the walk's last pages are still on the wire when no slice can be split any more.
    emu = make_emulator(events=2000, seed=32, latency_ms=30)
    indexed_at_commit: list[bool] = []
    commit = _state.SyncState.commit

    def recording(self: _state.SyncState, pages: Any, splits: Any) -> int:
        indexed_at_commit.append(not missing_indexes(self._conn))
        return commit(self, pages, splits)

    monkeypatch.setattr(_state.SyncState, "commit", recording)
    early: list[int] = []
    for attempt in range(_ATTEMPTS):
        indexed_at_commit.clear()
        with Archive(tmp_path / f"a{attempt}.sqlite") as archive:
            result = sync_archive(api_for(emu), archive, page_size=25, workers=4)
            listed = emu.store.all_events(**Filters().list_kwargs(), effective_at={"lt": result.upper_bound})
            assert result.inserted == archive.count() == len(listed) > 1500
            assert missing_indexes(archive.connection) == []
        if True in indexed_at_commit:
            # Most of the walk without them (the back-fill's cheap inserts), its tail with them.
            first_indexed = indexed_at_commit.index(True)
            assert first_indexed > len(indexed_at_commit) // 2
            assert all(indexed_at_commit[first_indexed:])
            early.append(attempt)
            break
    assert early, f"no walk of {_ATTEMPTS} built the indexes before its last commit"
