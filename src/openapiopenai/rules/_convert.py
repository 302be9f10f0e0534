"""Taking the rules elsewhere: Splunk SPL, Lucene and ES|QL through pySigma's own backends.

``--schema raw`` keeps our field names (the archive's ``events`` view, for data shipped as our flat
rows); ``--schema ecs`` maps each field to where ``openapiopenai.ecs.to_ecs`` puts it in an ECS 9.4
document and adds ``event.dataset: openai.audit``, so the same rule runs in a SIEM on the events this
project ships. A field ECS has no place for is under ``openai.audit.*`` (the payload as sent under
``openai.audit.payload``), exactly as ``to_ecs`` writes it; a test holds every mapped path to a field
``to_ecs`` really fills.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from openapiopenai.rules._catalog import RuleError, RuleSet

__all__ = ["ECS_FIELDS", "SCHEMAS", "TARGETS", "Converted", "convert_rules", "ecs_pipeline"]

TARGETS = ("splunk", "lucene", "esql")
SCHEMAS = ("raw", "ecs")

#: Our field -> the ECS document's field(s) (several: the rule matches if any does).
ECS_FIELDS: dict[str, str | list[str]] = {
    "id": "event.id",
    "effective_at": "openai.audit.effective_at",
    "time": "@timestamp",
    "type": "event.action",
    "actor_type": "openai.audit.actor_type",
    "actor_id": "user.id",
    "user_id": "user.id",
    "user_email": "user.email",
    "service_account_id": "openai.audit.service_account.id",
    "api_key_id": "openai.audit.api_key.id",
    "api_key_type": "openai.audit.api_key.type",
    "ip_address": "source.ip",
    "user_agent": "user_agent.original",
    "ja3": "tls.client.ja3",
    "ja4": "openai.audit.ja4",
    "country": "source.geo.country_iso_code",
    "city": "source.geo.city_name",
    "region": "source.geo.region_name",
    "asn": "source.as.number",
    "latitude": "source.geo.location.lat",
    "longitude": "source.geo.location.lon",
    "project_id": "cloud.project.id",
    "project_name": "cloud.project.name",
    "target_id": "openai.audit.target.id",
    "target_name": "openai.audit.target.name",
    "target_email": ["openai.audit.payload.email", "openai.audit.payload.data.email"],
    "subject_user_id": ["openai.audit.payload.user_id", "openai.audit.payload.principal_id"],
    "role": ["openai.audit.payload.role_id", "openai.audit.payload.data.role"],
    "requested_role": "openai.audit.payload.changes_requested.role",
    "resource_id": "openai.audit.payload.resource_id",
    "resource_type": "openai.audit.payload.resource_type",
    "principal_type": "openai.audit.payload.principal_type",
    "granted_project_id": "openai.audit.payload.data.project_id",
    "error_code": "error.code",
    "error_message": "error.message",
    "scopes": "openai.audit.scopes",
    "payload": "openai.audit.payload",
}
#: Fields of the view the ECS documents do not carry (the archive's own, or ECS shapes them otherwise).
ECS_UNMAPPED = {"tenant": "the archive's partition flag", "region_code": "ECS holds COUNTRY-REGION"}


@dataclass(frozen=True)
class Converted:
    rule_id: str
    title: str
    query: str | None
    error: str | None = None


def ecs_pipeline() -> Any:
    """The processing pipeline from our field names to ECS 9.4's (and to ``openai.audit.*``)."""
    from sigma.processing.conditions import LogsourceCondition
    from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
    from sigma.processing.transformations import AddConditionTransformation, FieldMappingTransformation

    def ours() -> list[Any]:
        return [LogsourceCondition(product="openai", service="audit")]

    return ProcessingPipeline(name="openapiopenai events to ECS 9.4", priority=20, items=[
        ProcessingItem(FieldMappingTransformation(dict(ECS_FIELDS)), identifier="openai_ecs_fields",  # type: ignore[arg-type]
                       rule_conditions=ours()),
        ProcessingItem(AddConditionTransformation({"event.dataset": "openai.audit"}), identifier="openai_ecs_dataset",
                       rule_conditions=ours()),
    ])


def _backend(target: str, pipeline: Any) -> Any:
    if target == "splunk":
        from sigma.backends.splunk import SplunkBackend

        return SplunkBackend(pipeline, collect_errors=True)
    from sigma.backends.elasticsearch import ESQLBackend, LuceneBackend

    return (LuceneBackend if target == "lucene" else ESQLBackend)(pipeline, collect_errors=True)


def convert_rules(ruleset: RuleSet, target: str, schema: str = "raw") -> list[Converted]:
    """Each rule as a query of ``target`` on ``schema``'s field names, or the reason it cannot be one."""
    if target not in TARGETS:
        raise RuleError(f"--target {target}: not one of {', '.join(TARGETS)}")
    if schema not in SCHEMAS:
        raise RuleError(f"--schema {schema}: not one of {', '.join(SCHEMAS)}")
    from sigma.exceptions import SigmaError

    from openapiopenai.rules._engine import _pipeline

    pipeline = _pipeline(ruleset.placeholders)
    if schema == "ecs":
        pipeline = pipeline + ecs_pipeline()
    from sigma.collection import SigmaCollection
    from sigma.correlations import SigmaCorrelationRule

    def with_bases(rule: Any) -> list[Any]:
        if not isinstance(rule, SigmaCorrelationRule):
            return [rule]
        return [r for ref in rule.rules or () for r in with_bases(ref.rule)] + [rule]

    infos = ruleset.by_id()
    out: list[Converted] = []
    for rule in ruleset.collection.rules:
        info = infos.get(str(rule.id))
        if info is None:
            continue   # a correlation's base rule: converted as part of it
        # One rule (with the rules a correlation names) per conversion, so each query is known to be its.
        backend = _backend(target, pipeline)
        try:
            # A copy: a pipeline rewrites the rule objects it processes.
            queries = backend.convert(SigmaCollection(copy.deepcopy(with_bases(rule))))
        except (SigmaError, NotImplementedError) as exc:   # the backend's word for "cannot express this"
            out.append(Converted(info.id, info.title, None, " ".join(str(exc).split())))
            continue
        errors = [e for _, e in backend.errors]
        if errors or not queries:
            reason = " ".join(str(errors[0]).split()) if errors else f"{target} cannot express it"
            out.append(Converted(info.id, info.title, None, reason))
        else:
            out.append(Converted(info.id, info.title, "\n".join(str(q) for q in queries)))
    return out
