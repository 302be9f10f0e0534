"""Detections as code: Sigma rules for OpenAI organisations, run on the archive or converted for a SIEM.

    from openapiopenai.archive import Archive
    from openapiopenai.rules import compile_rules, detect, load_rules

    rules = load_rules(placeholders={"org_email_domains": ["example.com"]})
    with Archive("audit.sqlite", readonly=True) as archive:
        for match in detect(archive.connection, compile_rules(rules)):
            print(match.level, match.title, match.event_ids)

The rules (``sigma/*.yml``, package data) are Sigma 2.0 for ``logsource: product: openai, service:
audit`` over the fields of the archive's ``events`` view; ``docs/detections.md`` lists both. Needs the
``detect`` extra (pySigma and its SQLite, Splunk and Elasticsearch backends).

Modules: `_catalog` finds, parses and checks rule files; `_engine` runs them on an archive; `_convert`
turns them into Splunk, Lucene or ES|QL queries, on our field names or on ECS's.
"""

from openapiopenai.rules._catalog import (
    LEVELS,
    PLACEHOLDERS,
    RuleError,
    RuleInfo,
    RuleSet,
    load_rules,
    package_rules_dir,
)
from openapiopenai.rules._engine import (
    Match,
    Scope,
    compile_rules,
    detect,
    each_match,
    new_position,
    save_position,
)

__all__ = [
    "LEVELS",
    "PLACEHOLDERS",
    "Match",
    "RuleError",
    "RuleInfo",
    "RuleSet",
    "Scope",
    "compile_rules",
    "detect",
    "each_match",
    "load_rules",
    "new_position",
    "package_rules_dir",
    "save_position",
]
