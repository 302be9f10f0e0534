"""The benchmark harness runs end to end in quick mode, so it cannot rot between full runs.

It checks the table's shape, not the speeds: every row is there, every cell is a figure that parses or
says why there is none, and this project has a figure in every row.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROWS = ["1", "1a", "1b", "2", "2a", "3", "4", "4a", "4b", "5", "5a", "6", "6a", "7", "7a", "8", "8a", "9", "9a", "10",
        "10a", "10b", "11", "11a", "11b", "12", "12a", "12b", "12c", "12d", "13"]
CONTENDER_COLUMNS = slice(4, 8)  # this project, generated, SDK, floor
FIGURE = re.compile(r"^(?P<num>[\d,]+(?:\.\d+)?) \S+( \((?P<ratio>\d+\.\d+)x\))?")
NO_FIGURE = re.compile(r"^(n/a: .+|—)$")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    doc = tmp_path_factory.mktemp("bench") / "benchmarks.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--doc", str(doc)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, doc.read_text(encoding="utf-8")


def table_rows(markdown: str) -> dict[str, list[str]]:
    rows = {}
    for line in markdown.splitlines():
        if line.startswith("| ") and not line.startswith("| #"):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            rows[cells[0]] = cells
    return rows


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_quick_table_has_every_row_and_parseable_cells(quick_run: tuple[str, str]) -> None:
    stdout, _ = quick_run
    rows = table_rows(stdout)
    assert list(rows) == ROWS
    for key, cells in rows.items():
        assert len(cells) == 9, (key, cells)
        assert re.fullmatch(r"\d+(-\d+)?", cells[2]), (key, cells[2])
        for cell in cells[CONTENDER_COLUMNS]:
            match = FIGURE.match(cell)
            if match:
                assert float(match["num"].replace(",", "")) > 0, (key, cell)
            else:
                assert NO_FIGURE.match(cell), (key, cell)
        assert FIGURE.match(cells[4]), f"row {key}: this project has no figure: {cells[4]}"
        assert cells[8].startswith(("met", "NOT met", "info", "—")), (key, cells[8])


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_quick_document_holds_the_same_table_and_its_context(quick_run: tuple[str, str]) -> None:
    stdout, doc = quick_run
    assert table_rows(doc) == table_rows(stdout)
    for needle in ("Date:", "cores", "Python", "Command: `python -m bench --quick --doc"):
        assert needle in doc
