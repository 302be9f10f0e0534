"""`docs/schemas.md` is what `scripts/schemas_doc.py` makes of the mapping table, and the check notices drift."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from openapiopenai.models._schemas import EVENT_TYPES
from openapiopenai.schemas._table import NEWER_TYPES, rule_for

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "schemas_doc.py"
DOC = ROOT / "docs" / "schemas.md"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


def test_the_committed_page_is_up_to_date() -> None:
    result = _run("--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_check_notices_a_stale_page(tmp_path: Path) -> None:
    stale = tmp_path / "schemas.md"
    stale.write_text(DOC.read_text().replace("| 300201 |", "| 300202 |", 1))
    result = _run("--check", "--out", str(stale))
    assert result.returncode == 1 and "out of date" in result.stderr and "300201" in result.stdout
    assert _run("--out", str(stale)).returncode == 0
    assert stale.read_text() == DOC.read_text()


def test_the_page_lists_every_type_as_the_table_resolves_it() -> None:
    rows = {line.split(" | ")[0].strip("| `").split("`")[0]: line for line in DOC.read_text().splitlines()
            if line.startswith("| `")}
    for event_type in EVENT_TYPES + NEWER_TYPES:
        rule = rule_for(event_type)
        assert f"| {rule.class_name} ({rule.class_uid}) | {rule.activity_name} ({rule.activity_id}) |" in rows[event_type]
