"""Helpers for the sink tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

#: A recognisable sink password: no output, file or log of a test may contain it.
SINK_PASSWORD = "pw-SINKTEST-5e1d0c7a"


def archived(path: Path) -> dict[str, str]:
    """id -> raw of every archived event, read with plain sqlite3."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {str(i): str(r) for i, r in conn.execute("SELECT id, raw FROM audit_logs")}
    finally:
        conn.close()


def read_jsonl_dir(root: Path) -> list[str]:
    lines: list[str] = []
    for file in sorted(root.glob("dt=*/*.jsonl")):
        lines.extend(file.read_text(encoding="utf-8").splitlines())
    return lines


def event_id(raw: str) -> str:
    return str(json.loads(raw)["id"])
