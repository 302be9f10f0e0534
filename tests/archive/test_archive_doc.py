"""docs/archive.md: every ready query runs against the demo's archive and returns rows; the view's
columns are all documented."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from openapiopenai.archive._views import VIEW_COLUMNS

DOC = Path(__file__).resolve().parents[2] / "docs" / "archive.md"


def _ready_queries() -> list[tuple[str, str]]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Ready queries", 1)[1].split("\n## ", 1)[0]
    found = re.findall(r"^### (.+?)\n+```sql\n(.*?)```", section, flags=re.S | re.M)
    return [(title.strip(), sql.strip()) for title, sql in found]


QUERIES = _ready_queries()


def test_a_dozen_ready_queries() -> None:
    assert len(QUERIES) >= 12
    assert len({title for title, _ in QUERIES}) == len(QUERIES)


@pytest.mark.parametrize(("title", "sql"), QUERIES, ids=[t.split(".")[0] for t, _ in QUERIES])
def test_ready_query_returns_rows(demo_run: tuple[Path, str], title: str, sql: str) -> None:
    db, _ = demo_run
    # Plain sqlite3, read-only, as an analyst's shell opens it: the view is in the file itself.
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute(sql).fetchall()
    finally:
        conn.close()
    assert rows, title


def test_every_view_column_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("## The `events` view", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `(\w+)` \|", table, flags=re.M)
    assert documented == list(VIEW_COLUMNS)
