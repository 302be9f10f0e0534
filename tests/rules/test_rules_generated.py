"""The shipped rules converted at build time: used, without pySigma, only for exactly what they were made for."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from _event_shapes import EVENTS
from _user_rule import ANY_LOGIN_FAILURE
from openapiopenai.archive import Archive
from openapiopenai.archive._rows import event_row, insert_rows
from openapiopenai.rules import LEVELS, _cache, _catalog, compile_rules, load_rules
from openapiopenai.rules._cache import GENERATED, _to_json, cache_key, load_compiled

ROOT = Path(__file__).resolve().parents[2]

# The CLI as a user runs it, telling on stderr whether pySigma was imported; `--without` hides the file.
_RUN = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("sigma imported: %s\\n" % any(m.split(".")[0] == "sigma" for m in sys.modules)))
import openapiopenai.rules._cache as cache
if sys.argv.pop(1) == "--without":
    cache.GENERATED = cache.GENERATED.with_name("missing.json")
from openapiopenai.cli import main
sys.argv[0] = "openapiopenai"
main()
"""


def _archive(path: Path) -> Path:
    with Archive(path) as archive:
        archive.connection.execute("BEGIN")
        insert_rows(archive.connection, [event_row(e, json.dumps(e), tenant=False) for e in EVENTS])
        archive.connection.execute("COMMIT")
    return path


def _detect(db: Path, generated: bool, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-c", _RUN, "--with" if generated else "--without",
                           "audit-logs", "detect", "--db", str(db), "--format", "json", *args],
                          capture_output=True, timeout=300, check=False)


def _stored(db: Path) -> int:
    with Archive(db, readonly=True) as archive:
        conn = archive.connection
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'detect_rules'").fetchone() is None:
            return 0
        return int(conn.execute("SELECT count(*) FROM detect_rules").fetchone()[0])


def test_the_findings_are_the_same_with_and_without_it_and_pysigma_is_not_imported(tmp_path: Path) -> None:
    _archive(tmp_path / "a.sqlite")
    for level in ("informational", "high"):
        with_it, without = tmp_path / f"with-{level}.sqlite", tmp_path / f"without-{level}.sqlite"
        shutil.copyfile(tmp_path / "a.sqlite", with_it)
        shutil.copyfile(tmp_path / "a.sqlite", without)
        fast = _detect(with_it, True, "--level", level)
        slow = _detect(without, False, "--level", level)
        assert fast.returncode == slow.returncode == 0, (fast.stderr, slow.stderr)
        assert json.loads(fast.stdout), level   # something matched, so the comparison says something
        assert fast.stdout == slow.stdout, level
        assert b"sigma imported: False" in fast.stderr and b"sigma imported: True" in slow.stderr
        # Nothing to keep in the archive when the conversion came with the package.
        assert (_stored(with_it), _stored(without)) == (0, 1)


def test_placeholders_or_user_rules_are_converted_as_before(tmp_path: Path) -> None:
    db = _archive(tmp_path / "a.sqlite")
    mine = tmp_path / "rules"
    mine.mkdir()
    (mine / "mine.yml").write_text(ANY_LOGIN_FAILURE)
    for args in (("--set", "org_email_domains=example.com"), ("--rules", str(mine))):
        done = _detect(db, True, *args)
        assert done.returncode == 0 and b"sigma imported: True" in done.stderr, (args, done.stderr)
    assert "Any Login Failure" in {m["title"] for m in json.loads(done.stdout)}
    assert _stored(db) == 2


def test_every_level_is_what_converting_at_that_level_gives() -> None:
    rules = load_rules()
    with contextlib.closing(sqlite3.connect(":memory:")) as conn:
        for level in LEVELS:
            generated = load_compiled(conn, cache_key([], True, {}, level))
            assert generated is not None, level
            assert _to_json(generated) == _to_json(compile_rules(rules, level=level)), level
        assert load_compiled(conn, cache_key([], True, {"org_email_domains": ["x.com"]}, "low")) is None


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped rules and the generated file copied where a test may change them."""
    folder = tmp_path / "sigma"
    shutil.copytree(_catalog.package_rules_dir(), folder)
    monkeypatch.setattr(_catalog, "package_rules_dir", lambda: folder)
    monkeypatch.setattr(_cache, "package_rules_dir", lambda: folder)
    monkeypatch.setattr(_cache, "GENERATED", tmp_path / "shipped.json")
    shutil.copyfile(GENERATED, tmp_path / "shipped.json")
    return folder


def _load(level: str = "informational") -> Any:
    with contextlib.closing(sqlite3.connect(":memory:")) as conn:
        return load_compiled(conn, cache_key([], True, {}, level))


def test_a_changed_rule_file_is_not_served_from_it(shipped: Path) -> None:
    assert _load() is not None   # the copy's files are named as the package's: the same key
    rule = next(shipped.glob("*.yml"))
    rule.write_bytes(rule.read_bytes().replace(b"level: ", b"level:  ", 1))
    assert _load() is None


def test_another_pysigma_is_not_served_from_it(shipped: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = _cache.metadata.version
    monkeypatch.setattr(_cache.metadata, "version", lambda name: "0.0.1" if name == "pysigma" else real(name))
    assert _load() is None


def test_an_edited_or_broken_file_is_not_used(shipped: Path, tmp_path: Path) -> None:
    path = tmp_path / "shipped.json"
    data = json.loads(path.read_text())
    data["compiled"]["events"][0][1] = "SELECT seq FROM detect_scope"   # a rule that matches everything
    path.write_text(json.dumps(data, indent=1))
    assert _load("high") is None
    path.write_text(GENERATED.read_text()[:3000])
    assert _load() is None
    path.unlink()
    assert _load() is None


def test_the_committed_file_is_what_the_generator_makes_and_says_so() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "compile_rules.py"), "--check"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(GENERATED.read_text())["generated"].startswith("generated by `python scripts/compile_rules.py`")
