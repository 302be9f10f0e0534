"""Audit-log events as OCSF 1.8.0 events: ``to_ocsf(event) -> dict``.

Each type maps to the class the mapping table gives it (Authentication 3002 for sign-ins, Account Change
3001, User Access Management 3005, Group Management 3006, Entity Management 3004, and API Activity 6003
for a type nobody listed yet); ``docs/schemas.md`` lists them all. What OCSF has no place for on these
classes (JA3, JA4, the payload) is kept under ``unmapped``; ``raw_data=True`` adds the original JSON.
"""

from __future__ import annotations

from openapiopenai.schemas._ocsf import to_ocsf
from openapiopenai.schemas._table import OCSF_VERSION, rule_for

__all__ = ["OCSF_VERSION", "rule_for", "to_ocsf"]
