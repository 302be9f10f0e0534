"""Where things are, relative to the checkout (the benchmark runs from a clean one)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "audit-logs.openapi.yaml"
WORK = ROOT / "bench" / ".work"
DOC = ROOT / "docs" / "benchmarks.md"
#: The key every contender sends; the emulators are started with it.
ADMIN_KEY = "sk-admin-bench"
