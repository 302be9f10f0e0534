"""``rules convert``: the same query pySigma's own backends write for a hand-written equivalent rule."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Any

import pytest

from _event_shapes import EVENTS
from openapiopenai.ecs import to_ecs
from openapiopenai.fields import FIELDS, FIELDS_BY_NAME
from openapiopenai.rules import load_rules
from openapiopenai.rules._convert import ECS_FIELDS, ECS_UNMAPPED, convert_rules

# What each shipped rule says, written by hand on the ECS documents' own field names.
HAND_WRITTEN = {
    "SCIM Provisioning Disabled": """
detection:
    dataset:
        event.dataset: openai.audit
    selection:
        event.action: scim.disabled
    condition: dataset and selection
""",
    "User Role Changed To Owner": """
detection:
    dataset:
        event.dataset: openai.audit
    selection:
        event.action: user.updated
        openai.audit.payload.changes_requested.role: owner
    condition: dataset and selection
""",
    "API Key With Write Scopes": """
detection:
    dataset:
        event.dataset: openai.audit
    selection:
        event.action:
            - api_key.created
            - api_key.updated
        openai.audit.scopes|contains: '.write'
    condition: dataset and selection
""",
}
HEAD = """title: Hand Written
id: 0b7cd7a2-7d0c-4b0f-8f57-4c8c9a0b1c2d
status: experimental
logsource:
    product: anything
"""
RAW_HAND_WRITTEN = """title: Hand Written
id: 0b7cd7a2-7d0c-4b0f-8f57-4c8c9a0b1c2d
status: experimental
logsource:
    product: anything
detection:
    selection:
        type: login.failed
        error_code: account_locked
    condition: selection
"""


def _backend(target: str) -> Any:
    if target == "splunk":
        from sigma.backends.splunk import SplunkBackend

        return SplunkBackend()
    from sigma.backends.elasticsearch import ESQLBackend, LuceneBackend

    return LuceneBackend() if target == "lucene" else ESQLBackend()


def _reference(target: str, text: str) -> str:
    from sigma.collection import SigmaCollection

    return "\n".join(str(q) for q in _backend(target).convert(SigmaCollection.from_yaml(text)))


@pytest.mark.parametrize("target", ["splunk", "lucene", "esql"])
def test_ecs_queries_equal_pysigmas_for_hand_written_ecs_rules(target: str) -> None:
    ours = {c.title: c for c in convert_rules(load_rules(), target, "ecs")}
    for title, detection in HAND_WRITTEN.items():
        assert ours[title].query == _reference(target, HEAD + detection), title


@pytest.mark.parametrize("target", ["splunk", "lucene", "esql"])
def test_raw_queries_equal_pysigmas_on_our_field_names(target: str) -> None:
    ours = {c.title: c for c in convert_rules(load_rules(), target, "raw")}
    assert ours["Account Locked After Failed Logins"].query == _reference(target, RAW_HAND_WRITTEN)


def test_correlations_convert_where_the_backend_can_and_say_so_where_not() -> None:
    splunk = {c.title: c for c in convert_rules(load_rules(), "splunk", "ecs")}
    stuffing = splunk["Credential Stuffing Against One User"].query or ""
    assert "dc(source.ip)" in stuffing and "user.email" in stuffing and "value_count >= 5" in stuffing
    brute = splunk["Login Success After Repeated Failures"]
    assert brute.query is None and brute.error and "temporal_ordered" in brute.error
    lucene = {c.title: c for c in convert_rules(load_rules(), "lucene", "raw")}
    assert lucene["Mass User Removal"].query is None


def test_every_ecs_path_is_one_to_ecs_fills() -> None:
    filled: set[str] = set()

    def walk(prefix: str, value: Any) -> None:
        filled.add(prefix)
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else key, sub)

    for event in EVENTS:
        walk("", to_ecs(event))
    assert {f.name for f in FIELDS} == set(ECS_FIELDS) | set(ECS_UNMAPPED)
    missing = []
    for name, paths in ECS_FIELDS.items():
        for path in [paths] if isinstance(paths, str) else paths:
            inside = path.removeprefix("openai.audit.payload.")
            if inside != path:
                # The payload is carried as sent: its path must be where the field reads it.
                if inside not in FIELDS_BY_NAME[name].source.paths:
                    missing.append((name, path))
            elif path not in filled:
                missing.append((name, path))
    assert missing == []


def test_the_cli_prints_each_query_under_its_rule() -> None:
    exe = shutil.which("openapiopenai", path=os.path.dirname(sys.executable))
    assert exe is not None
    result = subprocess.run([exe, "rules", "convert", "--target", "lucene", "--schema", "ecs"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "# SCIM Provisioning Disabled (" in result.stdout
    assert "event.dataset:openai.audit AND event.action:scim.disabled" in result.stdout
    assert "not converted" in result.stderr and "rules converted for lucene/ecs" in result.stderr
    bad = subprocess.run([exe, "rules", "convert", "--target", "qradar"], capture_output=True, text=True,
                         timeout=60, check=False)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
