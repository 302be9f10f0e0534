"""The converted rules kept in the archive: used again while nothing changed, never once a rule did."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from _event_shapes import EVENTS
from _user_rule import ANY_LOGIN_FAILURE
from openapiopenai.archive import Archive
from openapiopenai.archive._rows import event_row, insert_rows


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("openapiopenai", path=os.path.dirname(sys.executable))
    assert exe is not None
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=300, check=False)


def test_a_changed_rule_is_converted_again(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite"
    with Archive(db) as archive:
        archive.connection.execute("BEGIN")
        insert_rows(archive.connection, [event_row(e, json.dumps(e), tenant=False) for e in EVENTS])
        archive.connection.execute("COMMIT")
    mine = tmp_path / "rules"
    mine.mkdir()
    text = ANY_LOGIN_FAILURE
    (mine / "mine.yml").write_text(text)
    args = ("audit-logs", "detect", "--db", str(db), "--rules", str(mine), "--no-builtin", "--format", "json")
    first = _cli(*args)
    assert first.returncode == 0, first.stderr
    failures = sum(1 for e in EVENTS if e["type"] == "login.failed")
    assert len(json.loads(first.stdout)) == failures > 0
    with Archive(db, readonly=True) as archive:
        assert archive.connection.execute("SELECT count(*) FROM detect_rules").fetchone()[0] == 1
    assert json.loads(_cli(*args).stdout) == json.loads(first.stdout)   # from the stored conversion
    (mine / "mine.yml").write_text(text.replace("type: login.failed", "type: login.succeeded"))
    changed = json.loads(_cli(*args).stdout)
    assert changed and all(m["types"] == ["login.succeeded"] for m in changed)
    with Archive(db, readonly=True) as archive:
        assert archive.connection.execute("SELECT count(*) FROM detect_rules").fetchone()[0] == 2
    (mine / "mine.yml").write_text("title: [broken")
    broken = _cli(*args)
    assert broken.returncode == 2 and "mine.yml" in broken.stderr


def test_detect_bad_usage_is_one_line_and_exit_2(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite"
    with Archive(db):
        pass
    for args, expected in [
        (("--db", str(db), "--since", "7d", "--new"), "--since and --new"),
        (("--db", str(tmp_path / "missing.sqlite")), "no such archive"),
        (("--db", str(db), "--set", "org_domains=example.com"), "no such placeholder"),
        (("--db", str(db), "--set", "novalue"), "expected NAME=VALUE"),
        (("--db", str(db), "--rules", str(tmp_path / "nope")), "not a folder"),
    ]:
        result = _cli("audit-logs", "detect", *args)
        assert result.returncode == 2 and expected in result.stderr and result.stderr.count("\n") == 1, (args, result.stderr)
    empty = _cli("audit-logs", "detect", "--db", str(db), "--fail-on-match")
    assert empty.returncode == 0 and "0 matches" in empty.stderr
