"""Where output goes and where archives live: wrong paths are bad input (exit 2, nothing left
behind), read-only media can still be read, and an unknown extension needs --format.

Permissions are tested as a user meets them: the script runs with the file-mode overrides of root
dropped (see `unprivileged`), so a 0555 folder really is read-only to it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from _cli_helpers import archive_raws, assert_one_line_error, run_script, unprivileged

pytestmark = pytest.mark.usefixtures("needs_emulator")


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "ro"
    folder.mkdir()
    yield folder
    folder.chmod(0o755)
    for path in folder.iterdir():
        path.chmod(0o644)


def test_out_in_a_read_only_folder(org, read_only_dir: Path, tmp_path: Path) -> None:
    read_only_dir.chmod(0o555)
    out = read_only_dir / "out.csv"
    proc = run_script("audit-logs", "export", "--out", str(out), base_url=org.base_url, prefix=unprivileged())
    assert_one_line_error(proc.stderr, proc.returncode, 2, f"--out {out}", "cannot write")
    assert list(read_only_dir.iterdir()) == []


def test_out_in_a_missing_folder(org, tmp_path: Path) -> None:
    out = tmp_path / "nonexistent-dir" / "x.jsonl"
    proc = run_script("audit-logs", "export", "--out", str(out), base_url=org.base_url)
    assert_one_line_error(proc.stderr, proc.returncode, 2, f"--out {out}", "does not exist")
    assert not out.parent.exists()


def test_unknown_extension_needs_format(org, tmp_path: Path) -> None:
    out = tmp_path / "x.xlsx"
    proc = run_script("audit-logs", "export", "--out", str(out), base_url=org.base_url)
    assert_one_line_error(proc.stderr, proc.returncode, 2, "x.xlsx", "--format")
    assert not out.exists()
    # With --format it is the user's choice.
    proc = run_script(
        "audit-logs", "export", "--out", str(out), "--format", "jsonl", "--since", "1d", base_url=org.base_url
    )
    assert proc.returncode == 0, proc.stderr
    assert out.exists()


def test_export_from_an_archive_on_read_only_media(run, read_only_dir: Path) -> None:
    db = read_only_dir / "b.sqlite"
    assert run("audit-logs", "sync", "--db", str(db)).exit_code == 0
    assert not Path(f"{db}-wal").exists()  # a closed archive keeps no WAL
    expected = archive_raws(str(db))
    # As copied onto read-only media: the file alone (that read left an empty -wal/-shm beside it).
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.chmod(0o444)
    read_only_dir.chmod(0o555)
    before = sorted(p.name for p in read_only_dir.iterdir())
    proc = run_script("audit-logs", "export", "--db", str(db), "--out", "-", prefix=unprivileged())
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == len(expected)
    assert sorted(p.name for p in read_only_dir.iterdir()) == before
    # A sync there is still refused as bad input, not a crash.
    proc = run_script("audit-logs", "sync", "--db", str(db), prefix=unprivileged())
    assert_one_line_error(proc.stderr, proc.returncode, 2, "--db")


def test_the_privilege_drop_is_real(read_only_dir: Path) -> None:
    # If this ever passes the write, the tests above test nothing.
    read_only_dir.chmod(0o555)
    import subprocess

    proc = subprocess.run([*unprivileged(), "touch", str(read_only_dir / "x")], capture_output=True, check=False)
    assert proc.returncode != 0
    assert not (read_only_dir / "x").exists()
    assert os.geteuid() != 0 or unprivileged()


def test_read_only_archive_with_unmerged_wal_is_refused_not_half_read(run, read_only_dir: Path, tmp_path: Path) -> None:
    """Immutable reads ignore a -wal file: one that holds commits must not be silently left out."""
    import shutil
    import sqlite3

    src = tmp_path / "live.sqlite"
    assert run("audit-logs", "sync", "--db", str(src)).exit_code == 0
    # Copy the files while a writer holds commits in the WAL (not yet checkpointed into the db).
    with sqlite3.connect(src) as writer:
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("UPDATE audit_logs SET actor_email = actor_email WHERE rowid IN (SELECT rowid FROM audit_logs LIMIT 5)")
        writer.commit()
        for suffix in ("", "-wal"):
            shutil.copy(f"{src}{suffix}", read_only_dir / f"b.sqlite{suffix}")
    assert (read_only_dir / "b.sqlite-wal").stat().st_size > 0
    read_only_dir.chmod(0o555)
    db = read_only_dir / "b.sqlite"
    proc = run_script("audit-logs", "export", "--db", str(db), "--out", "-", prefix=unprivileged())
    assert_one_line_error(proc.stderr, proc.returncode, 2, "--db", "b.sqlite-wal", "writable")
    assert proc.stdout == ""
