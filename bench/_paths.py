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
