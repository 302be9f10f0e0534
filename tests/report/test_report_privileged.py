"""The privileged headings' look inside an event, in Python and as SQL, say the same of every event."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _report_helpers import write_archive

from openapiopenai.anatomy import facts
from openapiopenai.archive import Archive
from openapiopenai.fields import FIELDS_BY_NAME
from openapiopenai.report._privileged import CATEGORIES, category_of, condition_sql, types_by_category

CONDITIONAL = [c for c in CATEGORIES if condition_sql(c)]


def _python_ids(rows: list[tuple[str, str, str]], name: str) -> set[str]:
    found = set()
    for event_id, event_type, raw in rows:
        event = json.loads(raw)
        f = facts(event)
        role = f.role
        if role is None and event_type == "user.updated":
            role = FIELDS_BY_NAME["requested_role"].read(event)
        if category_of(event_type, role=role if isinstance(role, str) else None, scopes=f.scopes) == name:
            found.add(event_id)
    return found


def _agree(db: Path) -> int:
    """How many events the conditional headings were compared on (each must agree)."""
    compared = 0
    with Archive(db, create=False, readonly=True) as archive:
        conn = archive.connection
        known = [t for (t,) in conn.execute("SELECT DISTINCT type FROM audit_logs")]
        for category, types in types_by_category(known):
            if category not in CONDITIONAL or not types:
                continue
            marks = ", ".join("?" * len(types))
            rows = conn.execute(f"SELECT id, type, raw FROM audit_logs WHERE type IN ({marks})", types).fetchall()
            in_sql = {i for (i,) in conn.execute(
                f"SELECT a.id FROM audit_logs AS a WHERE a.type IN ({marks}) AND ({condition_sql(category)})", types)}
            assert in_sql == _python_ids(rows, category.name), category.name
            compared += len(rows)
    return compared


def test_sql_and_python_agree_on_the_demo_archive(demo_run: tuple[Path, str]) -> None:
    assert _agree(demo_run[0]) > 100


@pytest.mark.parametrize(("event_type", "payload"), [
    ("user.added", {"id": "u", "data": {"role": "ADMIN"}}),
    ("user.added", {"id": "u", "data": {"role": 7}}),
    ("invite.sent", {"id": "i", "data": {"email": "a@b", "role": ""}}),
    ("user.updated", {"id": "u", "changes_requested": {"role": "owner"}}),
    ("user.updated", {"id": "u", "role_id": "member", "changes_requested": {"role": "owner"}}),
    ("api_key.created", {"id": "k", "data": {"scopes": ["all", 3]}}),
    ("api_key.created", {"id": "k", "data": {"scopes": ["api.model.read", "api.files:write"]}}),
    ("api_key.created", {"id": "k", "data": {"scopes": ["api.files.WRITE"]}}),
    ("api_key.updated", {"id": "k", "changes_requested": {"scopes": ["all"]}}),
    ("api_key.updated", {"id": "k", "data": {"scopes": []}, "changes_requested": {"scopes": ["all"]}}),
])
def test_sql_and_python_agree_on_odd_shapes(tmp_path: Path, event_type: str, payload: dict[str, object]) -> None:
    event = {"id": "audit_log-odd", "type": event_type, "effective_at": 1_780_000_000,
             "actor": {"type": "session", "session": {"user": {"id": "u1", "email": "a@corp.example"}}},
             event_type: payload}
    db = tmp_path / "odd.sqlite"
    write_archive(db, [(event, False)])
    assert _agree(db) == 1
