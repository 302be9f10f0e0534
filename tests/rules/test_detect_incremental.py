"""Detection follows the archive: a later sync's events are seen, ``--new`` repeats nothing.

A small emulated organisation synced over HTTP, ``audit-logs detect --new`` run as a user runs it, then
attacks planted after the newest event and synced, and ``--new`` run again.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

import openapiopenai
from openapiopenai.archive import Archive, sync_archive
from openapiopenai.emulator import Emulator


def _detect(db: Path, *extra: str) -> list[dict]:
    exe = shutil.which("openapiopenai", path=os.path.dirname(sys.executable))
    assert exe is not None
    done = subprocess.run([exe, "audit-logs", "detect", "--db", str(db), "--format", "jsonl", *extra],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def _sync(emu: Emulator, db: Path) -> None:
    config = openapiopenai.Configuration(host=emu.base_url, access_token=emu.admin_key)
    with openapiopenai.ApiClient(config) as client, Archive(db) as archive:
        sync_archive(openapiopenai.AuditLogsApi(client), archive)


def test_a_later_sync_is_seen_and_new_repeats_nothing(tmp_path: Path) -> None:
    db = tmp_path / "audit.sqlite"
    with Emulator(events=2000, seed=5) as emu:
        _sync(emu, db)
        with sqlite3.connect(db) as conn:
            before = conn.execute("SELECT count(*) FROM audit_logs").fetchone()[0]
        first = _detect(db, "--new")
        assert first   # the generated history has risky changes of its own
        now = int(time.time())   # planted within the sync's look-back, as late events arrive
        response = httpx.post(emu.base_url.removesuffix("/v1") + "/_emulator/scenarios", timeout=30,
                              json=[{"name": "credential_stuffing", "at": now - 540},
                                    {"name": "allowlist_off", "at": now - 200}])
        response.raise_for_status()
        planted = {i for item in response.json() for i in item["ids"]}
        _sync(emu, db)
    with sqlite3.connect(db) as conn:
        archived = conn.execute("SELECT count(*) FROM audit_logs").fetchone()[0]
        new_seqs = {r[0] for r in conn.execute(
            f"SELECT seq FROM audit_logs WHERE id IN ({', '.join('?' * len(planted))})", sorted(planted))}
    assert archived == before + len(planted) and len(new_seqs) == len(planted)
    assert min(new_seqs) > before   # archived after the first detect ran
    second = _detect(db, "--new")
    # Only the planted events' alerts, each holding a new event; none of the first run's again.
    assert {m["title"] for m in second} == {"Credential Stuffing Against One User", "IP Allow-List Changed",
                                            "IP Allow-List Deactivated", "IP Allow-List Deleted"}
    assert all(planted.intersection(m["event_ids"]) for m in second)
    keys = {(m["rule_id"], tuple(m["event_ids"])) for m in first}
    assert not keys.intersection((m["rule_id"], tuple(m["event_ids"])) for m in second)
    assert _detect(db, "--new") == []
    # A full run sees the old and the new.
    everything = _detect(db)
    assert len(everything) == len(first) + len(second)
