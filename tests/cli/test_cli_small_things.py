"""The small things a user notices: --help, counts, plurals, the --json figures, copy-pasteable hints."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from _cli_helpers import run_script

COMMANDS = [
    ["audit-logs", "list"],
    ["audit-logs", "export"],
    ["audit-logs", "sync"],
    ["audit-logs", "tail"],
    ["demo"],
    ["emulator"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_names_values_in_the_domain_and_shows_defaults(command: list[str]) -> None:
    proc = run_script(*command, "--help")
    assert proc.returncode == 0
    for type_name in ("INTEGER RANGE", "FLOAT RANGE", "INTEGER", "FLOAT", "TEXT", "PATH"):
        assert not re.search(rf"--[\w-]+ {type_name}\b", proc.stdout), (type_name, proc.stdout)
    if command[0] == "audit-logs":
        # Whitespace folded: a longer option elsewhere (--give-up-after DURATION) moves where click wraps.
        folded = " ".join(proc.stdout.split())
        assert "--max-retries N" in folded and "[default: 2]" in folded


def test_one_page_one_worker_and_rounded_elapsed(run, tmp_path: Path) -> None:
    db = str(tmp_path / "a.sqlite")
    result = run("audit-logs", "sync", "--db", db, "--since", "3d", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["pages"] == 1  # the sentence below is about one page
    assert " in 1 page by 1 worker " in result.stderr
    assert "(s)" not in result.stderr
    assert report["elapsed"] == round(report["elapsed"], 3)


def test_counts_have_thousands_separators(run, tmp_path: Path) -> None:
    db = str(tmp_path / "a.sqlite")
    result = run("audit-logs", "sync", "--db", db)
    assert result.exit_code == 0, result.stderr
    assert re.search(r"synced .*: 1,\d{3} new, 0 already archived, 1,\d{3} fetched", result.stderr), result.stderr


def test_the_parquet_hint_is_quoted_for_zsh(run_offline, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "pyarrow", None)
    result = run_offline("audit-logs", "export", "--out", str(tmp_path / "x.parquet"))
    assert "pip install 'openapiopenai[parquet]'" in result.stderr
