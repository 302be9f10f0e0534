"""Finding, parsing and checking Sigma rules: the package's own and the user's folders.

A rule file is Sigma 2.0 YAML (one or more documents: plain rules and correlations, the base rules a
correlation uses in the same file). Each file is parsed on its own so that a bad one is reported by name;
then all of them form one collection, so a correlation may name a rule of any file. A rule must be for
``logsource: product: openai, service: audit`` and may use only the fields of the archive's ``events``
view (`openapiopenai.fields`); anything else is a `RuleError` (exit 2 from the CLI), never a silent miss.

Placeholders (``field|expand: '%name%'``) are the organisation's own facts a rule cannot know:
``org_email_domains`` and ``org_project_ids``. Set ones are expanded to their values; an unset one
matches anything, so a rule whose filter names it stays quiet until it is configured (``rules list``
shows which rules wait for which placeholder).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from openapiopenai.fields import FIELDS_BY_NAME

__all__ = ["LEVELS", "PLACEHOLDERS", "RuleError", "RuleInfo", "RuleSet", "load_rules", "package_rules_dir"]

#: Sigma's levels, lowest first.
LEVELS = ("informational", "low", "medium", "high", "critical")
#: The placeholders the shipped rules use, and what each stands for.
PLACEHOLDERS = {
    "org_email_domains": "the organisation's own email domains, e.g. example.com (invites elsewhere are flagged)",
    "org_project_ids": "the organisation's own project ids (checkpoint permissions to others are flagged)",
}
_EXTRA_MISSING = "the detection rules need pySigma: pip install 'openapiopenai[detect]'"


class RuleError(ValueError):
    """A rule file that cannot be used: unreadable, not Sigma, another logsource, an unknown field."""


def package_rules_dir() -> Path:
    """The folder of the rules shipped in the package."""
    return Path(str(resources.files("openapiopenai.rules") / "sigma"))


@dataclass(frozen=True)
class RuleInfo:
    """One rule as ``rules list`` and ``detect`` show it."""

    id: str
    title: str
    level: str
    kind: str
    """``event`` or the correlation type (``value_count``, ``temporal_ordered``, ...)."""
    file: Path
    tags: tuple[str, ...]
    fields: tuple[str, ...]
    placeholders: tuple[str, ...]
    description: str
    falsepositives: tuple[str, ...]
    timespan_s: int = 0
    """A correlation's window, the history ``--new`` must look back over."""


@dataclass
class RuleSet:
    """The parsed collection (pySigma's) plus what we know about each rule to be run."""

    collection: Any
    rules: list[RuleInfo]
    placeholders: dict[str, list[str]] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    def by_id(self) -> dict[str, RuleInfo]:
        return {r.id: r for r in self.rules}


def _sigma() -> Any:
    try:
        import sigma.collection
    except ImportError:
        raise RuleError(_EXTRA_MISSING) from None
    return sigma.collection


def rule_files(dirs: Sequence[str | os.PathLike[str]] = (), *, builtin: bool = True) -> list[Path]:
    """The ``*.yml``/``*.yaml`` files of the package (unless ``builtin`` is False) and of ``dirs``, sorted."""
    folders = ([package_rules_dir()] if builtin else []) + [Path(d) for d in dirs]
    files: list[Path] = []
    for folder in folders:
        if not folder.is_dir():
            raise RuleError(f"--rules {folder}: not a folder")
        files += sorted(p for p in folder.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
    return files


def load_rules(dirs: Sequence[str | os.PathLike[str]] = (), *, builtin: bool = True,
               placeholders: Mapping[str, Iterable[str]] | None = None) -> RuleSet:
    """Parse and check every rule file; `RuleError` names the first file that is not usable."""
    collection_mod = _sigma()
    from sigma.exceptions import SigmaError

    files = rule_files(dirs, builtin=builtin)
    collections = []
    infos: list[RuleInfo] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RuleError(f"{path}: cannot read ({exc})") from None
        try:
            parsed = collection_mod.SigmaCollection.from_yaml(text)
        except SigmaError as exc:
            raise RuleError(f"{path}: not a valid Sigma rule ({_one_line(exc)})") from None
        except Exception as exc:   # YAML errors and pySigma's own slips alike: one line naming the file
            raise RuleError(f"{path}: not a valid Sigma rule ({type(exc).__name__}: {_one_line(exc)})") from None
        if not parsed.rules:
            raise RuleError(f"{path}: holds no rule")
        collections.append(parsed)
        infos += [_info(rule, path) for rule in parsed.rules]
    collection = collection_mod.SigmaCollection.merge(collections)
    try:
        collection.resolve_rule_references()
    except SigmaError as exc:
        raise RuleError(f"rules: {_one_line(exc)}") from None
    seen: dict[str, Path] = {}
    for info in infos:
        if info.id in seen:
            raise RuleError(f"{info.file}: rule id {info.id} is also used in {seen[info.id]}")
        seen[info.id] = info.file
    # Only rules that produce output are detections; the base rules of a correlation are not.
    output = {str(r.id) for r in collection.rules if getattr(r, "_output", True)}
    chosen = {k: list(v) for k, v in (placeholders or {}).items()}
    for name in chosen:
        if name not in PLACEHOLDERS:
            raise RuleError(f"--set {name}: no such placeholder (known: {', '.join(PLACEHOLDERS)})")
    return RuleSet(collection, [i for i in infos if i.id in output], chosen, files)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _info(rule: Any, path: Path) -> RuleInfo:
    from sigma.correlations import SigmaCorrelationRule

    if rule.id is None:
        raise RuleError(f"{path}: rule {rule.title!r} has no id")
    level = rule.level.name.lower() if rule.level is not None else "medium"
    if isinstance(rule, SigmaCorrelationRule):
        kind = rule.type.name.lower()
        fields = list(rule.group_by or [])
        fieldref = getattr(rule.condition, "fieldref", None)
        if isinstance(fieldref, str):
            fields.append(fieldref)
        timespan = int(rule.timespan.seconds)
        placeholders: list[str] = []
    else:
        if rule.logsource.product != "openai" or rule.logsource.service != "audit":
            raise RuleError(f"{path}: rule {rule.title!r} is for logsource {rule.logsource.product}/"
                            f"{rule.logsource.service}, not openai/audit")
        kind, timespan = "event", 0
        fields, placeholders = _detection_fields(rule)
    for name in fields:
        if name not in FIELDS_BY_NAME:
            raise RuleError(f"{path}: rule {rule.title!r} uses field {name!r}, which the events view does not "
                            f"have (see docs/detections.md)")
    return RuleInfo(str(rule.id), rule.title, level, kind, path, tuple(str(t) for t in rule.tags),
                    tuple(dict.fromkeys(fields)), tuple(dict.fromkeys(placeholders)),
                    " ".join((rule.description or "").split()), tuple(rule.falsepositives or ()), timespan)


def _detection_fields(rule: Any) -> tuple[list[str], list[str]]:
    from sigma.rule import SigmaDetection, SigmaDetectionItem
    from sigma.types import SigmaExpansion, SigmaString

    fields: list[str] = []
    placeholders: list[str] = []

    def walk(item: Any) -> None:
        if isinstance(item, SigmaDetection):
            for sub in item.detection_items:
                walk(sub)
        elif isinstance(item, SigmaDetectionItem):
            if item.field is None:
                raise RuleError(f"rule {rule.title!r}: keyword (field-less) searches are not supported")
            fields.append(item.field)
            for value in item.value:
                values = value.values if isinstance(value, SigmaExpansion) else [value]
                for v in values:
                    if isinstance(v, SigmaString):
                        placeholders.extend(p.name for p in v.s if hasattr(p, "name") and
                                            type(p).__name__ == "Placeholder")

    for detection in rule.detection.detections.values():
        walk(detection)
    return fields, placeholders
