"""The converted rules, kept in the archive so a scheduled ``detect --new`` does not convert them again.

Parsing thirty rule files with pySigma and converting them costs about a second, more than looking at a
thousand new events. The result (each rule's SQL or correlation plan, and what ``detect`` shows of it)
is stored in the archive's ``detect_rules`` table under a key of everything it depends on: the rule
files' names and bytes, the placeholders, the level, and the versions of this package and of pySigma's
packages. Any change gives a new key, so a stale entry is never used; only the newest few are kept.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from openapiopenai.rules._catalog import RuleInfo, rule_files
from openapiopenai.rules._engine import Compiled

__all__ = ["CACHE_SQL", "cache_key", "load_compiled", "store_compiled"]

CACHE_SQL = """CREATE TABLE IF NOT EXISTS detect_rules (
    key        TEXT PRIMARY KEY,   -- sha256 of the rule files, placeholders, level and versions
    compiled   TEXT NOT NULL,      -- JSON: each rule's SQL or correlation plan, and its description
    created_at REAL NOT NULL
)"""
_KEEP = 4
#: The stored shape; a change gives new keys, so an entry of another shape is never read.
_FORMAT = 2
_PACKAGES = ("openapiopenai", "pysigma", "pysigma-backend-sqlite")


def cache_key(dirs: list[str], builtin: bool, placeholders: dict[str, list[str]], level: str) -> str:
    digest = hashlib.sha256()
    for path in rule_files(dirs, builtin=builtin):
        digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    versions = []
    for name in _PACKAGES:
        try:
            versions.append(metadata.version(name))
        except metadata.PackageNotFoundError:
            versions.append("-")
    digest.update(json.dumps([sorted(placeholders.items()), level, versions, _FORMAT]).encode())
    return digest.hexdigest()


def _info_json(info: RuleInfo) -> dict[str, Any]:
    return {"id": info.id, "title": info.title, "level": info.level, "kind": info.kind, "file": str(info.file),
            "tags": list(info.tags), "fields": list(info.fields), "placeholders": list(info.placeholders),
            "description": info.description, "falsepositives": list(info.falsepositives),
            "timespan_s": info.timespan_s}


def _info(d: dict[str, Any]) -> RuleInfo:
    return RuleInfo(d["id"], d["title"], d["level"], d["kind"], Path(d["file"]), tuple(d["tags"]), tuple(d["fields"]),
                    tuple(d["placeholders"]), d["description"], tuple(d["falsepositives"]), int(d["timespan_s"]))


def load_compiled(conn: sqlite3.Connection, key: str) -> Compiled | None:
    try:
        row = conn.execute("SELECT compiled FROM detect_rules WHERE key = ?", (key,)).fetchone()
    except sqlite3.OperationalError:   # no table yet (an archive no writable run has seen)
        return None
    if row is None:
        return None
    data = json.loads(row[0])
    return Compiled(events=[(_info(i), sql, None if types is None else tuple(types))
                            for i, sql, types in data["events"]],
                    correlations=[(_info(i), plan, None if types is None else tuple(types), shape)
                                  for i, plan, types, shape in data["correlations"]])


def store_compiled(conn: sqlite3.Connection, key: str, compiled: Compiled) -> None:
    """Keep ``compiled`` under ``key`` (writable archives only), dropping all but the newest few."""
    data = {"events": [[_info_json(i), sql, None if types is None else list(types)]
                       for i, sql, types in compiled.events],
            "correlations": [[_info_json(i), plan, None if types is None else list(types), shape]
                             for i, plan, types, shape in compiled.correlations]}
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(CACHE_SQL)
        conn.execute("INSERT OR REPLACE INTO detect_rules (key, compiled, created_at) VALUES (?, ?, ?)",
                     (key, json.dumps(data), time.time()))
        conn.execute("DELETE FROM detect_rules WHERE key NOT IN "
                     "(SELECT key FROM detect_rules ORDER BY created_at DESC LIMIT ?)", (_KEEP,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
