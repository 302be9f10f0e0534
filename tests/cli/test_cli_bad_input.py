"""Bad usage: one line on stderr, exit 2, no traceback, nothing sent, the archive untouched."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from _cli_helpers import DEAD_URL, FAKE_KEY, assert_one_line_error, file_state, run_script, unprivileged

from openapiopenai.cli import _audit_logs

BAD_USAGE = [
    (["audit-logs", "list", "--format", "xml"], "--format"),
    (["audit-logs", "list", "--limit", "0"], "--limit"),
    (["audit-logs", "list", "--limit", "ten"], "--limit"),
    (["audit-logs", "list", "--limit", "5", "--all"], "--all"),
    (["audit-logs", "list", "--since", "2026-11-02", "--until", "2026-11-01"], "--since"),
    (["audit-logs", "list", "--since", "1d", "--until", "2d"], "--since"),
    (["audit-logs", "list", "--since", "last tuesday"], "--since"),
    (["audit-logs", "list", "--until", "2026-02-30"], "--until"),
    (["audit-logs", "list", "--timeout", "0"], "--timeout"),
    (["audit-logs", "list", "--max-retries", "-1"], "--max-retries"),
    (["audit-logs", "list", "--bogus"], "--bogus"),
    (["audit-logs", "list", "--base-url", "ftp://example.com"], "http"),
    (["audit-logs", "list", "--base-url", "http://example.com/v1"], "http"),
    (["audit-logs", "export", "--format", "xlsx", "--out", "x"], "--format"),
    (["audit-logs", "export"], "--out"),
    (["audit-logs", "export", "--out", "-", "--format", "parquet"], "parquet"),
    (["audit-logs", "tail", "--interval", "soon"], "--interval"),
    (["audit-logs", "tail", "--interval", "0s"], "--interval"),
    (["audit-logs", "sync"], "--db"),
    (["audit-logs", "sync", "--db", "a.sqlite", "--lookback", "15 minutes"], "--lookback"),
    (["audit-logs", "sync", "--db", "a.sqlite", "--workers", "0"], "--workers"),
    (["demo", "--events", "0"], "--events"),
    (["emulator", "--fail-rate", "2"], "--fail-rate"),
    (["emulator", "--host", "0.0.0.0", "--port", "0", "--events", "1"], "--allow-public"),
    (["no-such-command"], "no-such-command"),
]


@pytest.mark.parametrize(("args", "needle"), BAD_USAGE, ids=[" ".join(a) for a, _ in BAD_USAGE])
def test_bad_usage_is_one_line_and_exit_2(run_offline, tmp_path, monkeypatch, args, needle) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_offline(*args)
    assert_one_line_error(result.stderr, result.exit_code, 2, needle)
    assert result.stdout == ""
    assert not (tmp_path / "a.sqlite").exists()


def test_missing_key(run_offline) -> None:
    result = run_offline("audit-logs", "list", key=None)
    assert_one_line_error(result.stderr, result.exit_code, 2, "OPENAI_ADMIN_KEY")


@pytest.fixture
def archive(tmp_path: Path) -> str:
    """A valid, empty archive (made by the archive itself)."""
    from openapiopenai.archive import Archive

    path = str(tmp_path / "audit.sqlite")
    with Archive(path, create=True):
        pass
    return path


BAD_WITH_ARCHIVE = [
    ["audit-logs", "sync", "--since", "2026-11-02", "--until", "2026-11-01"],
    ["audit-logs", "sync", "--lookback", "-5m"],
    ["audit-logs", "sync", "--workers", "999"],
    ["audit-logs", "sync", "--since", "soon"],
    ["audit-logs", "export", "--out", "-", "--format", "parquet"],
    ["audit-logs", "export", "--out", "-", "--since", "3d", "--until", "4d"],
]


@pytest.mark.parametrize("args", BAD_WITH_ARCHIVE, ids=[" ".join(a) for a in BAD_WITH_ARCHIVE])
def test_bad_usage_leaves_the_archive_untouched(run_offline, archive: str, args: list[str]) -> None:
    before = file_state(archive)
    result = run_offline(*args, "--db", archive)
    assert_one_line_error(result.stderr, result.exit_code, 2)
    assert file_state(archive) == before


def test_sync_without_key_does_not_touch_the_archive(run_offline, archive: str, tmp_path: Path) -> None:
    before = file_state(archive)
    result = run_offline("audit-logs", "sync", "--db", archive, key=None)
    assert_one_line_error(result.stderr, result.exit_code, 2, "admin key")
    assert file_state(archive) == before
    # Nor create one where there was none.
    missing = tmp_path / "new.sqlite"
    result = run_offline("audit-logs", "sync", "--db", str(missing), key=None)
    assert result.exit_code == 2 and not missing.exists()


@pytest.mark.parametrize(
    "content",
    [b"not a database at all\n", b"SQLite format 3\x00" + b"\x00" * 84, b"\x00" * 4096, b""],
    ids=["text", "truncated-header", "zeros", "empty"],
)
@pytest.mark.parametrize("command", ["sync", "export"])
def test_non_sqlite_db_is_refused_untouched(
    run_offline, tmp_path: Path, content: bytes, command: str
) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_bytes(content)
    before = file_state(str(path))
    # The sync retries an unreachable service until --give-up-after; here it gives up at once.
    extra = ["--out", str(tmp_path / "out.jsonl")] if command == "export" else ["--give-up-after", "0s"]
    result = run_offline("audit-logs", command, "--db", str(path), "--max-retries", "0", *extra)
    if content == b"" and command == "sync":
        # An empty file is a fine place to create an archive; the sync then fails to reach the
        # service (exit 1), which is the next test's subject.
        assert result.exit_code == 1, result.stderr
        return
    assert_one_line_error(result.stderr, result.exit_code, 2, "--db")
    assert file_state(str(path)) == before
    assert not (tmp_path / "out.jsonl").exists()
    assert sorted(os.listdir(tmp_path)) == ["notes.sqlite"]


def test_other_programs_database_is_refused_untouched(run_offline, tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (name TEXT)")
    before = file_state(str(path))
    result = run_offline("audit-logs", "sync", "--db", str(path))
    assert_one_line_error(result.stderr, result.exit_code, 2, "--db")
    assert file_state(str(path)) == before


# Every command that takes --db opens it the same way (cli._audit_logs.open_archive).
_DB_COMMANDS = [
    ("audit-logs", "sync"),
    ("audit-logs", "export", "--out", "-"),
    ("audit-logs", "detect"),
    ("audit-logs", "ship", "--to", "file:///tmp/never-written"),
    ("audit-logs", "status"),
    ("audit-logs", "report", "--out", "-"),
]


@pytest.mark.parametrize("command", _DB_COMMANDS, ids=lambda c: c[1])
def test_directory_and_missing_db(run_offline, tmp_path: Path, command: tuple[str, ...]) -> None:
    result = run_offline(*command, "--db", str(tmp_path))
    assert_one_line_error(result.stderr, result.exit_code, 2, "directory")
    if command[1] == "sync":
        return  # sync creates a missing archive
    result = run_offline(*command, "--db", str(tmp_path / "nope.sqlite"))
    assert_one_line_error(result.stderr, result.exit_code, 2, "no such archive")
    assert not (tmp_path / "nope.sqlite").exists()


def test_unreadable_db(archive: str) -> None:
    os.chmod(archive, 0)
    try:
        # Root reads any file; the script runs with that override dropped, as a user would.
        proc = run_script("audit-logs", "export", "--db", archive, "--out", "-", prefix=unprivileged())
        assert_one_line_error(proc.stderr, proc.returncode, 2, "--db")
    finally:
        os.chmod(archive, 0o600)


def test_parquet_without_pyarrow(run_offline, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "pyarrow", None)  # makes `import pyarrow` fail
    out = tmp_path / "x.parquet"
    result = run_offline("audit-logs", "export", "--out", str(out))
    assert_one_line_error(result.stderr, result.exit_code, 2, "openapiopenai[parquet]")
    assert not out.exists()


def test_unreachable_service_is_a_runtime_failure(run_offline) -> None:
    result = run_offline("audit-logs", "list", "--max-retries", "0")
    assert_one_line_error(result.stderr, result.exit_code, 1, "cannot reach", DEAD_URL)


def test_unexpected_exception_is_one_line_unless_debug(run_offline, monkeypatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(_audit_logs, "_service_events", boom)
    result = run_offline("audit-logs", "list")
    assert_one_line_error(result.stderr, result.exit_code, 1, "internal error", "kaboom", "--debug")
    result = run_offline("--debug", "audit-logs", "list")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "kaboom" in result.stderr


def test_help_never_shows_the_key(run_offline) -> None:
    for args in (["--help"], ["audit-logs", "list", "--help"], ["audit-logs", "sync", "--help"]):
        result = run_offline(*args)
        assert result.exit_code == 0
        assert "OPENAI_ADMIN_KEY" in result.stdout or args == ["--help"]


# The same checks through the installed console script, as a shell runs it.


def test_script_bad_flag(tmp_path: Path) -> None:
    proc = run_script("audit-logs", "list", "--limit", "0")
    assert_one_line_error(proc.stderr, proc.returncode, 2, "--limit")
    assert proc.stdout == ""


def test_script_missing_key_and_bad_db(tmp_path: Path) -> None:
    proc = run_script("audit-logs", "list", key=None)
    assert_one_line_error(proc.stderr, proc.returncode, 2, "OPENAI_ADMIN_KEY")
    path = tmp_path / "x.sqlite"
    path.write_bytes(b"hello")
    before = file_state(str(path))
    proc = run_script("audit-logs", "sync", "--db", str(path), base_url=DEAD_URL)
    assert_one_line_error(proc.stderr, proc.returncode, 2, "--db")
    assert file_state(str(path)) == before


def test_script_unreachable_and_version() -> None:
    proc = run_script("audit-logs", "list", "--max-retries", "0", base_url=DEAD_URL)
    assert_one_line_error(proc.stderr, proc.returncode, 1, "cannot reach")
    assert FAKE_KEY not in proc.stderr
    proc = run_script("--version")
    assert proc.returncode == 0 and "openapiopenai" in proc.stdout
