"""The shipped rules on a real archive: each fires on its attack scenario and on no other.

One emulated organisation of 50,000 benign events with every scenario planted through the control API,
synced over HTTP into an archive (both partitions), then every rule run on it. A match belongs to the
scenario whose planted events it includes; one that includes none is the benign organisation's.
"""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import openapiopenai
from openapiopenai.archive import Archive, Filters, sync_archive
from openapiopenai.emulator import Emulator
from openapiopenai.emulator._org import EMAIL_DOMAINS
from openapiopenai.emulator._scenarios import SCENARIOS
from openapiopenai.rules import Match, RuleSet, Scope, compile_rules, detect, load_rules

pytestmark = pytest.mark.slow
BENIGN_EVENTS = 50_000


class Org:
    def __init__(self, path: Path, emu: Emulator, planted: dict[str, set[str]], rules: RuleSet) -> None:
        self.path, self.emu, self.planted, self.rules = path, emu, planted, rules


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    with Emulator(events=BENIGN_EVENTS, seed=11, newer_types=True) as emu:
        planted: dict[str, set[str]] = {}
        response = httpx.post(emu.base_url.removesuffix("/v1") + "/_emulator/scenarios",
                              json=[{"name": name} for name in SCENARIOS], timeout=30)
        response.raise_for_status()
        for item in response.json():
            planted[item["name"]] = set(item["ids"])
        path = tmp_path_factory.mktemp("detect") / "audit.sqlite"
        config = openapiopenai.Configuration(host=emu.base_url, access_token=emu.admin_key)
        with openapiopenai.ApiClient(config) as client, Archive(path) as archive:
            api = openapiopenai.AuditLogsApi(client)
            sync_archive(api, archive)
            sync_archive(api, archive, Filters(tenant_only=True))
        projects = [p["id"] for p in emu.store.generator().org.projects]
        rules = load_rules(placeholders={"org_email_domains": list(EMAIL_DOMAINS), "org_project_ids": projects})
        yield Org(path, emu, planted, rules)


@pytest.fixture(scope="module")
def matches(org: Org) -> list[Match]:
    with Archive(org.path) as archive:
        return detect(archive.connection, compile_rules(org.rules))


def _owner(match: Match, planted: dict[str, set[str]]) -> set[str]:
    return {name for name, ids in planted.items() if ids.intersection(match.event_ids)}


def test_every_planted_event_was_archived(org: Org) -> None:
    with Archive(org.path, readonly=True) as archive:
        ids = {r[0] for r in archive.connection.execute("SELECT id FROM audit_logs")}
    assert all(planted <= ids for planted in org.planted.values())
    assert sum(len(v) for v in org.planted.values()) > 50


def test_each_rule_fires_on_its_scenario_and_no_other(org: Org, matches: list[Match]) -> None:
    rules = {r.id: r for r in org.rules.rules}
    expected: dict[str, str] = {}
    for scenario in SCENARIOS.values():
        for stem in scenario.detects:
            expected[stem] = scenario.name
    fired: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for m in matches:
        for owner in _owner(m, org.planted):
            fired[m.rule_id][owner] += 1
    rows = []
    problems = []
    for rule in sorted(rules.values(), key=lambda r: r.file.name):
        stem = rule.file.stem
        own = expected.get(stem)
        tp = fired[rule.id].get(own, 0) if own else 0
        fp = sum(n for s, n in fired[rule.id].items() if s != own)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = 1.0 if tp else 0.0
        rows.append(f"{stem[:58]:58} {own or '-':26} {tp:3} {fp:3} {precision:9.2f} {recall:6.2f}")
        if own is None:
            problems.append(f"{stem}: no scenario plants what it detects")
        elif not tp or fp:
            problems.append(f"{stem}: {tp} on {own}, {fp} on others {dict(fired[rule.id])}")
    print("\nrule" + " " * 55 + "scenario                    tp  fp precision recall")
    print("\n".join(rows))
    assert problems == []
    assert len(rules) >= 25


def test_the_benign_organisation_high_and_critical_count(org: Org, matches: list[Match]) -> None:
    benign = [m for m in matches if not _owner(m, org.planted)]
    by_level = collections.Counter(m.level for m in benign)
    serious = collections.Counter(m.title for m in benign if m.level in ("high", "critical"))
    print(f"\nbenign organisation of {BENIGN_EVENTS} events: {by_level['high'] + by_level['critical']} high/critical "
          f"matches ({dict(by_level)}); by rule: {dict(serious.most_common())}")
    # The benign history draws every type at random, so guard-rail rules do fire on it; what must not
    # happen is an attack signature out of nowhere.
    assert not any(m.title in ("Credential Stuffing Against One User", "Password Spraying From One Address")
                   for m in benign)


def test_pruned_correlations_alert_as_the_full_plans_do(org: Org, matches: list[Match]) -> None:
    # `rules._prune` only narrows what each correlation plan reads: the alerts must be the same ones.
    with Archive(org.path) as archive:
        full = detect(archive.connection, compile_rules(org.rules), prune=False)
    correlations = {i.id for i in org.rules.rules if i.kind != "event"}
    pruned = sorted((m.rule_id, m.event_ids) for m in matches if m.rule_id in correlations)
    assert pruned == sorted((m.rule_id, m.event_ids) for m in full if m.rule_id in correlations)
    assert len(pruned) >= 7   # every sign-in and mass scenario's alerts, and the benign history's
    assert sorted(matches, key=repr) == sorted(full, key=repr)


def test_new_reports_each_alert_once_and_sees_the_whole_burst(org: Org, tmp_path: Path) -> None:
    path = tmp_path / "copy.sqlite"
    with Archive(org.path, readonly=True) as src, Archive(path) as dst:
        src.connection.backup(dst.connection)
    with Archive(path) as archive:
        conn = archive.connection
        compiled = compile_rules(load_rules(placeholders=org.rules.placeholders), level="high")
        from openapiopenai.rules import new_position, save_position

        last, upto = new_position(conn)
        first = detect(conn, compiled, Scope(after_seq=last, upto_seq=upto))
        save_position(conn, upto)
        assert first
        last, upto = new_position(conn)
        assert detect(conn, compiled, Scope(after_seq=last, upto_seq=upto)) == []
    # Stuffing again: four failures archived now, after four archived earlier in the same half hour.
    at = org.emu.store.newest_effective_at() or 0
    victim = {"id": "user-late-victim", "email": "late.victim@example.com"}

    def failed(i: int) -> dict[str, Any]:
        return {"type": "login.failed", "effective_at": at + 60 * i, "actor": {"type": "session", "session": {
            "user": victim, "ip_address": f"198.51.100.{100 + i}"}}, "login.failed": {"error_code": "invalid_credentials"}}

    from openapiopenai.archive._rows import event_row, insert_rows

    def archive_events(events: list[dict[str, Any]]) -> None:
        import json

        with Archive(path) as archive:
            archive.connection.execute("BEGIN")
            insert_rows(archive.connection, [event_row(e | {"id": f"audit_log-late{e['effective_at']}"},
                                                       json.dumps(e | {"id": f"audit_log-late{e['effective_at']}"}),
                                                       tenant=False) for e in events])
            archive.connection.execute("COMMIT")

    archive_events([failed(i) for i in range(4)])
    with Archive(path) as archive:
        last, upto = new_position(archive.connection)
        assert detect(archive.connection, compiled, Scope(after_seq=last, upto_seq=upto)) == []
        save_position(archive.connection, upto)
    archive_events([failed(i) for i in range(4, 8)])
    with Archive(path) as archive:
        last, upto = new_position(archive.connection)
        late = detect(archive.connection, compiled, Scope(after_seq=last, upto_seq=upto))
    # One alert per window that qualifies (the 5th to the 8th failure each close one), each of this burst.
    assert {m.title for m in late} == {"Credential Stuffing Against One User"}
    assert all(set(m.event_ids) <= {f"audit_log-late{at + 60 * i}" for i in range(8)} for m in late)
    assert any({f"audit_log-late{at}", f"audit_log-late{at + 240}"} <= set(m.event_ids) for m in late)


def test_the_cli_exits_3_on_a_match_and_keeps_its_position(org: Org, tmp_path: Path) -> None:
    path = tmp_path / "cli.sqlite"
    with Archive(org.path, readonly=True) as src, Archive(path) as dst:
        src.connection.backup(dst.connection)
    exe = shutil.which("openapiopenai", path=os.path.dirname(sys.executable))
    assert exe is not None
    args = [exe, "audit-logs", "detect", "--db", str(path), "--new",
            "--level", "critical", "--format", "jsonl", "--fail-on-match"]
    first = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert first.returncode == 3, first.stderr
    assert any("Login Success After Repeated Failures" in line for line in first.stdout.splitlines())
    again = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert (again.returncode, again.stdout) == (0, ""), again.stderr
