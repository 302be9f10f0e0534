"""Where things are, relative to the checkout (the benchmark runs from a clean one)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "audit-logs.openapi.yaml"
WORK = ROOT / "bench" / ".work"
DOC = ROOT / "docs" / "benchmarks.md"
#: The key every contender sends; the emulators are started with it.
ADMIN_KEY = "sk-admin-bench"


def current_schema(archive: Path) -> Path:
    """``archive`` brought to this version's schema, in place: an archive cached under `WORK` by an earlier
    version is migrated once here, as a user's upgrade does once, so that no row times the migration as
    part of the command it measures. Returns the path."""
    from openapiopenai.archive._schema import open_archive_db

    open_archive_db(archive, create=False, readonly=False).close()
    return archive


def settled_copy(source: Path, copy: Path) -> Path:
    """``source`` copied to ``copy`` and flushed to disk before it is used: a fresh copy of an archive is
    a gigabyte of dirty pages, and their write-back would otherwise run inside the first command timed on
    it (measured: a cold `detect` at 1M events 12.1 s unflushed, 9.9 s flushed, the warm one 9.0 s).
    A user's archive was not written a second before they run a command on it."""
    import os
    import shutil

    shutil.copyfile(source, copy)
    fd = os.open(copy, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return copy
