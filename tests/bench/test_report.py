"""A partial benchmark run replaces its own rows of the report and keeps the others as they were."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PREVIOUS = """# Benchmarks

- Date: 2026-11-26 06:46 UTC

| # | measure | runs | goal | this project | openapi-generator 7.26 | openai SDK | floor (httpx + orjson) | goal met? |
|---|---|---|---|---|---|---|---|---|
| 1 | old list | 15 | g | 1 ms (1.00x) | — | — | — | met: old |
| 3 | old start-up | 10 | g | 9 s (1.00x) | — | — | — | NOT met: old 3 |
| 5 | sync | 2 | g | 6 events/s (1.00x) | — | — | — | NOT met: 41% of floor |
"""


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_partial_run_replaces_its_rows_and_keeps_the_others(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(PREVIOUS, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--rows", "3", "--doc", str(doc)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = doc.read_text(encoding="utf-8")
    keys = [line.split(" | ")[0][2:] for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert keys == ["#", "1", "3", "5"]
    assert "| 1 | old list |" in text and "| 5 | sync |" in text  # kept as they were
    assert "old start-up" not in text and "start-up: new process" in text  # row 3 is this run's
    assert "rows 1, 5 from the run of 2026-11-26 06:46 UTC, kept as they were" in text
    # Run again: the rows kept the first time still say the run they are from.
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--rows", "3", "--doc", str(doc)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    again = doc.read_text(encoding="utf-8")
    assert "rows 1, 5 from the run of 2026-11-26 06:46 UTC, kept as they were" in again
    below = text.split("## Below goal in this run", 1)[1]
    assert "- row 5 (sync): NOT met: 41% of floor" in below and "old 3" not in below


def test_a_row_that_comes_with_an_asked_for_one_is_not_also_kept() -> None:
    # `--rows 5` also measures row 7 (one walk serves both): the old row 7 is replaced, not listed as kept.
    previous = PREVIOUS + "| 7 | emulator | 2 | g | 9 events/s (1.00x) | — | — | — | NOT met: old 7 |\n"
    table = ("| # | measure | runs | goal | this project | openapi-generator 7.26 | openai SDK | floor | goal met? |\n"
             "|---|---|---|---|---|---|---|---|---|\n"
             "| 5 | sync | 2 | g | 8 events/s (1.00x) | — | — | — | met: 75% of floor |\n"
             "| 7 | emulator | 2 | g | 10 events/s (1.00x) | — | — | — | met: new 7 |\n")
    code = ("import sys; from bench.__main__ import keep_previous; "
            "t, below, origin = keep_previous(sys.argv[1], sys.argv[2], {5}); print(origin); print(below); print(t)")
    proc = subprocess.run([sys.executable, "-c", code, table, previous], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=True)
    origin, below, *merged = proc.stdout.splitlines()
    assert origin == "rows 1, 3 from the run of 2026-11-26 06:46 UTC"
    assert "old 7" not in below and "old 3" in below
    assert [line.split(" | ")[0][2:] for line in merged[2:]] == ["1", "3", "5", "7"]
    assert "met: new 7" in merged[-1]
