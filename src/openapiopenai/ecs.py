"""Audit-log events as Elastic Common Schema 9.4.0 documents: ``to_ecs(event) -> dict``.

``event.kind/category/type/outcome`` per type from the mapping table (``docs/schemas.md``), the ECS fields
the event fills (``user.*``, ``source.*``, ``user_agent.original``, ``tls.client.ja3``, ``cloud.project.id``),
and everything else under ``openai.audit.*``, the payload included.
"""

from __future__ import annotations

from openapiopenai.schemas._ecs import DATASET, to_ecs
from openapiopenai.schemas._table import ECS_VERSION, rule_for

__all__ = ["DATASET", "ECS_VERSION", "rule_for", "to_ecs"]
