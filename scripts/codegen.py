"""Generate ``src/openapiopenai/models/`` from ``spec/audit-logs.openapi.yaml``.

    python scripts/codegen.py            # regenerate in place
    python scripts/codegen.py --check    # exit 1 if the committed models differ from a fresh run
    python scripts/codegen.py --out DIR  # write somewhere else (the drift test uses this)

Every module it writes starts with a "generated ...; do not edit" line that records the spec's hash.
Fixes to the upstream spec belong in ``scripts/codegen_overrides.py``, not in the output.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import hashlib
import keyword
import pprint
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "audit-logs.openapi.yaml"
OUT = ROOT / "src" / "openapiopenai" / "models"
sys.path.insert(0, str(Path(__file__).resolve().parent))

import codegen_overrides as overrides  # noqa: E402

PAYLOAD_BASE = "AuditLogPayload"
CORE_EVENT_FIELDS = ("id", "type", "effective_at", "project", "actor")
#: Bases whose models are typed records (msgspec structs) rather than views over a dict: the parts of
#: an event, which the event decodes from its bytes in one go.
STRUCT_BASES = ("StructModel", PAYLOAD_BASE)
#: The records at a fixed key of every event (the payload's key is the event's type): record -> key.
EVENT_PARTS = {"AuditLogActor": "actor", "AuditLogProject": "project"}


def camel(text: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^0-9A-Za-z]+", text) if p)


def attr_name(key: str) -> str:
    name = re.sub(r"[^0-9A-Za-z_]", "_", key)
    if keyword.iskeyword(name) or name[:1].isdigit():
        name += "_"
    return name


def member_name(value: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "_", value).upper()


def oneline(text: str | None) -> str:
    return " ".join((text or "").split()).replace('"""', "'''").replace("\\", "\\\\")


@dataclass
class ModelDef:
    name: str
    module: str
    schema: dict[str, Any]
    base: str = "ViewModel"
    doc: str = ""
    mutable: bool = False
    #: property attr -> python source of its body and type, filled by `Generator.plan_fields`.
    fields: list[tuple[str, str, str, str, str]] = field(default_factory=list)  # attr, key, type, expr, doc


class Generator:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.schemas: dict[str, Any] = copy.deepcopy(spec["components"]["schemas"])
        for name, props in overrides.EXTRA_PROPERTIES.items():
            self.schemas[name].setdefault("properties", {}).update(copy.deepcopy(props))
        self.models: dict[str, ModelDef] = {}
        self.order: list[str] = []
        self.event_types: list[str] = list(self.schemas["AuditLogEventType"]["enum"])
        audit = self.schemas["AuditLog"]["properties"]
        self.payload_types = [k for k in audit if k not in CORE_EVENT_FIELDS]

    # -- planning --------------------------------------------------------------------------------
    def ref_name(self, ref: str) -> str:
        return ref.rsplit("/", 1)[-1]

    def add(self, model: ModelDef) -> ModelDef:
        if model.name in self.models:
            raise SystemExit(f"codegen: two models named {model.name}")
        self.models[model.name] = model
        self.order.append(model.name)
        return model

    def py_type(self, schema: dict[str, Any], owner: ModelDef, path: str, key: str) -> tuple[str, str]:
        """(annotation, expression reading `v`) for a property schema."""
        if "$ref" in schema:
            target = self.ref_name(schema["$ref"])
            if target == "AuditLogEventType":
                # Only AuditLog.type refers to the enum, and it is required: emit_model reads it from
                # the parsed head instead.
                return "AuditLogEventType", "AuditLogEventType(v) if isinstance(v, str) else None"
            return target, f"wrap({target}, v)"
        if "anyOf" in schema:
            options = [s for s in schema["anyOf"] if s.get("type") != "null"]
            if len(options) == 1:
                return self.py_type(options[0], owner, path, key)
            return "Any", "v"
        kind = schema.get("type")
        if kind == "string":
            return "str", "v"
        if kind == "integer":
            return "int", "v"
        if kind == "number":
            return "float", "v"
        if kind == "boolean":
            return "bool", "v"
        if kind == "array":
            items = schema.get("items", {})
            if items.get("$ref") and self.ref_name(items["$ref"]) == "AuditLog":
                return "List[AuditLog]", "self._event_list()"
            item_type, item_expr = self.py_type(items, owner, path + ".items", key + "_item")
            if item_expr.startswith("wrap("):
                return f"List[{item_type}]", f"wrap_list({item_type}, v)"
            return f"List[{item_type}]", "v"
        if kind == "object" and schema.get("properties"):
            name = overrides.CLASS_NAMES.get(path) or owner.name + camel(key)
            # An object nested in an event part (or in the event itself) is a record too.
            base = "StructModel" if owner.base in (*STRUCT_BASES, "EventModel") else "ViewModel"
            self.plan(ModelDef(name=name, module=owner.module, schema=schema, base=base,
                               doc=schema.get("description", "")))
            return name, f"wrap({name}, v)"
        if kind == "object":
            return "Dict[str, Any]", "v"
        return "Any", "v"

    def plan(self, model: ModelDef, *, path: str | None = None) -> ModelDef:
        self.add(model)
        path = path or model.name
        for key, prop in (model.schema.get("properties") or {}).items():
            if model.base == "EventModel" and key in self.payload_types:
                continue  # payload properties are planned separately
            annotation, expr = self.py_type(prop, model, f"{path}.{key}", key)
            model.fields.append((attr_name(key), key, annotation, expr, prop.get("description", "")))
        return model

    def plan_all(self) -> None:
        s = self.schemas
        for name in ("AuditLogActorUser", "AuditLogActorServiceAccount", "AuditLogActorSession",
                     "AuditLogActorApiKey", "AuditLogActor"):
            self.plan(ModelDef(name=name, module=snake(name), schema=s[name], base="StructModel",
                               doc=s[name].get("description", "")))
        # The user who owns an API key has a session user's schema, at another place in the event: a
        # subclass of its own says where, so decoding an API key's event needs no pass to tell that
        # record its path (`_link_in_event`), nor does any other actor's.
        self.place_subclass("AuditLogActorApiKey", "user", "AuditLogActorApiKeyUser",
                            "The user who owns the API key: an ``AuditLogActorUser`` under ``actor.api_key``.")
        for name in ("Error", "ErrorResponse"):
            self.plan(ModelDef(name=name, module=snake(name), schema=s[name], doc=s[name].get("description", "")))
        # Payloads: one model per payload schema of AuditLog, all subclasses of AuditLogPayload.
        self.add(ModelDef(name=PAYLOAD_BASE, module="audit_log_payloads", schema={}, base="StructModel",
                          doc="The type-specific details of an event (the object under the key named by its type)."))
        for etype in self.payload_types:
            schema = s["AuditLog"]["properties"][etype]
            self.plan(ModelDef(name=camel(etype) + "Payload", module="audit_log_payloads", schema=schema,
                               base=PAYLOAD_BASE, doc=f"``{etype}``: " + schema.get("description", "")))
        audit = self.plan(ModelDef(name="AuditLog", module="audit_log", schema=s["AuditLog"], base="EventModel",
                                   doc=s["AuditLog"].get("description", "")))
        for etype in self.payload_types:
            cls = camel(etype) + "Payload"
            audit.fields.append((attr_name(etype), etype, cls, f"wrap({cls}, v)",
                                 f"The details of a ``{etype}`` event (``None`` on other events)."))
        param = next(p for p in self.spec["paths"]["/organization/audit_logs"]["get"]["parameters"]
                     if p["name"] == "effective_at")
        self.plan(ModelDef(name="ListAuditLogsEffectiveAtParameter", module="list_audit_logs_effective_at_parameter",
                           schema=param["schema"], mutable=True, doc=param.get("description", "")))
        self.plan(ModelDef(name="ListAuditLogsResponse", module="list_audit_logs_response",
                           schema=s["ListAuditLogsResponse"], base="PageModel", doc="One page of audit logs."))

    def place_subclass(self, owner_name: str, attr: str, name: str, doc: str) -> None:
        """Point ``owner_name.attr`` at a new subclass of its record class, emitted beside it, whose
        ``_event_path`` is that field's place (`emit_place_subclass`)."""
        owner = self.models[owner_name]
        i = next(i for i, f in enumerate(owner.fields) if f[0] == attr)
        _attr, key, target, _expr, field_doc = owner.fields[i]
        record = self.models[target]
        self.add(ModelDef(name=name, module=record.module, schema=record.schema, base=target, doc=doc,
                          fields=list(record.fields)))
        owner.fields[i] = (attr, key, name, f"wrap({name}, v)", field_doc)

    # -- emitting -------------------------------------------------------------------------------
    def header(self, digest: str) -> str:
        return (f"# generated by `python scripts/codegen.py` from spec/audit-logs.openapi.yaml "
                f"(sha256 {digest[:16]}); do not edit\n")

    def emit_model(self, m: ModelDef) -> str:
        if m.base in STRUCT_BASES:
            return self.emit_struct(m)
        if m.base in self.models and self.models[m.base].base in STRUCT_BASES:
            return self.emit_place_subclass(m)
        lines = [f"class {m.name}({m.base}):", f'    """{oneline(m.doc) or m.name}"""', "",
                 '    __slots__ = ()', ""]
        mapping = {attr: key for attr, key, *_ in m.fields}
        if m.base in ("ViewModel", "EventModel", "PageModel") or mapping:
            lines.append(f"    __fields__: ClassVar[Dict[str, str]] = {mapping!r}")
            lines.append("")
        if m.base == "EventModel":
            # The records its body decodes into (`EventModel._body`); subclasses name their payload's.
            lines += ["    _actor_cls: ClassVar[type[StructModel]] = AuditLogActor",
                      "    _project_cls: ClassVar[type[StructModel]] = AuditLogProject",
                      f"    _payload_cls: ClassVar[type[StructModel]] = {PAYLOAD_BASE}", ""]
        if m.fields:
            params = ", ".join(f"{attr}: Optional[{ann}] = None" for attr, _k, ann, _e, _d in m.fields)
            lines += [f"    def __init__(self, *, {params}, **extra: Any) -> None:",
                      f"        super().__init__({', '.join(f'{a}={a}' for a, *_ in m.fields)}, **extra)", ""]
        # The fields the page parser checks on every event read as non-optional; everything else
        # may be absent, whatever the spec says, so it reads as Optional.
        required = {"id", "type", "effective_at"} if m.base == "EventModel" else set()
        for attr, key, ann, expr, doc in m.fields:
            # The page's event list is always a list (empty when the service sent none).
            ret = ann if key in required or expr == "self._event_list()" else f"Optional[{ann}]"
            if m.base == "EventModel" and key in ("id", "effective_at"):
                # A property read in C (no Python frame) from the parsed head: read from every event.
                doc_arg = f", {oneline(doc)!r}" if doc else ""
                lines += [f"    {attr}: {ret} = _head_part({key!r}{doc_arg})", ""]
                continue
            body: list[str]
            if m.base == "EventModel" and key in ("actor", "project"):
                body = [f"return (self._typed or self._body()).{attr}"]
            elif key in required:
                # Read from the head the page parser decoded, without decoding the whole event.
                head = f"h.{key} if (h := self._head) is not None else self._data[{key!r}]"
                if ann == "AuditLogEventType":
                    # A dict lookup: the enum's own call costs a microsecond per event.
                    body = [f"t = {head}", "return _KNOWN_TYPES.get(t) or AuditLogEventType(t)"]
                else:
                    body = [f"return {head}"]
            elif m.base == "EventModel":  # a payload key
                body = [f"return self._payload_under({key!r}, {ann})"]
            elif m.base == "PageModel" and expr == "v":
                body = [f"return self._env.get({key!r})"]
            elif expr == "v":
                body = [f"return self._data.get({key!r})"]
            elif expr.startswith("self."):
                body = [f"return {expr}"]
            else:
                body = [f"v = self._data.get({key!r})", f"return {expr}"]
            lines.append("    @property")
            lines.append(f"    def {attr}(self) -> {ret}:")
            if doc:
                lines.append(f'        """{oneline(doc)}"""')
            lines += [f"        {b}" for b in body]
            lines.append("")
            if m.mutable:
                lines += [f"    @{attr}.setter", f"    def {attr}(self, value: Optional[{ann}]) -> None:",
                          "        if value is None:", f"            self._data.pop({key!r}, None)",
                          "        else:", f"            self._data[{key!r}] = dump_value(value)", ""]
        if m.base == "EventModel":
            lines.append(self.audit_log_payload_property())
        return "\n".join(lines).rstrip() + "\n"

    def emit_place_subclass(self, m: ModelDef) -> str:
        """A record class at one more place in an event (`place_subclass`): its base's fields, its own
        usual place."""
        return "\n".join([f"class {m.name}({m.base}, frozen=True):", f'    """{oneline(m.doc)}"""', "",
                          f"    _event_path: ClassVar[Tuple[str, ...]] = {self.usual_place(m)!r}"]) + "\n"

    def emit_struct(self, m: ModelDef) -> str:
        """A typed record: one msgspec field per declared property, read without any Python code."""
        # `frozen` is inherited at run time; spelled out for the type checker's dataclass rules.
        lines = [f"class {m.name}({m.base}, frozen=True):", f'    """{oneline(m.doc) or m.name}"""', ""]
        mapping = {attr: key for attr, key, *_ in m.fields}
        links = {}
        for attr, key, ann, expr, _doc in m.fields:
            if expr.startswith(("wrap(", "wrap_list(")):
                target = re.sub(r"List\[(.*)\]", r"\1", ann)
                links[attr] = f"({key!r}, {target}, {expr.startswith('wrap_list(')})"
        lines.append(f"    __fields__: ClassVar[Dict[str, str]] = {mapping!r}")
        if links:
            body = ", ".join(f"{a!r}: {v}" for a, v in links.items())
            lines.append(f"    __links__: ClassVar[Dict[str, Any]] = {{{body}}}")
        place = self.usual_place(m)
        if place is not None:
            lines.append(f"    _event_path: ClassVar[Tuple[str, ...]] = {place!r}")
        lines.append("")
        for attr, key, ann, _expr, doc in m.fields:
            default = "None" if attr == key else f"msgspec.field(default=None, name={key!r})"
            lines.append(f"    {attr}: Optional[{ann}] = {default}")
            if doc:
                lines.append(f'    """{oneline(doc)}"""')
            lines.append("")
        if links:
            lines += self.emit_link(m)
        root = self.event_roots().get(m.name)
        relinks = self.relinks(m, root) if root is not None else []
        if relinks:
            lines += self.emit_link_in_event(m, relinks)
        return "\n".join(lines).rstrip() + "\n"

    def struct_links(self, m: ModelDef) -> list[tuple[str, str, ModelDef, bool]]:
        """(attribute, JSON key, target model, is a list) for each struct-valued field."""
        return [(attr, key, self.models[re.sub(r"List\[(.*)\]", r"\1", ann)], expr.startswith("wrap_list("))
                for attr, key, ann, expr, _doc in m.fields if expr.startswith(("wrap(", "wrap_list("))]

    def event_roots(self) -> dict[str, tuple[Any, ...]]:
        """The records at a fixed key of every event of some type: the actor, the project and each
        type's own payload (record -> its key). The fallback payload class sits under any type."""
        roots = {name: (key,) for name, key in EVENT_PARTS.items()}
        roots.update({camel(etype) + "Payload": (etype,) for etype in self.payload_types})
        return roots

    def event_places(self) -> dict[str, list[tuple[tuple[Any, ...], bool]]]:
        """Every place a record class has in an event below a root: (path, under a list)."""
        places: dict[str, list[tuple[tuple[Any, ...], bool]]] = {}

        def visit(model: ModelDef, at: tuple[Any, ...], listed: bool) -> None:
            places.setdefault(model.name, []).append((at, listed))
            for _attr, key, target, many in self.struct_links(model):
                visit(target, (*at, key), listed or many)

        for name, at in self.event_roots().items():
            visit(self.models[name], at, False)
        return places

    def usual_place(self, m: ModelDef) -> tuple[Any, ...] | None:
        """Where a record of this class sits when nothing says otherwise (its ``_event_path``): its
        first place not under a list; the decode gives other places their path (`_link_in_event`)."""
        return next((at for at, listed in self.event_places().get(m.name, []) if not listed), None)

    def relinks(self, m: ModelDef, at: tuple[Any, ...]) -> list[str]:
        """The body of ``_link_in_event`` for a record at ``at``: a path for each record below it (or
        itself) that sits away from its class's usual place, and for every list item."""

        def visit(obj: str, model: ModelDef, at: tuple[Any, ...], indent: str, depth: int) -> list[str]:
            out = [f'{indent}_set({obj}, "_path", {at!r})'] if self.usual_place(model) != at else []
            for attr, key, target, many in self.struct_links(model):
                var = f"_{attr}{depth}"  # one name per field: mypy types each
                if many:
                    inner = [f"{indent}    for i, item in enumerate({var}):",
                             f"{indent}        item._link(src, ({', '.join(map(repr, (*at, key)))}, i))"]
                else:
                    inner = visit(var, target, (*at, key), indent + "    ", depth + 1)
                if inner:
                    out += [f"{indent}if ({var} := {obj}.{attr}) is not None:", *inner]
            return out

        return visit("self", m, at, "        ", 0)

    def emit_link_in_event(self, m: ModelDef, body: list[str]) -> list[str]:
        """``_link_in_event``, unrolled for the record's place at the root of an event: it runs once per
        event decoded, so every path is a constant, and the decode has already set every ``_src``."""
        return ["    _relinks: ClassVar[bool] = True", "",
                "    def _link_in_event(self, src: Any) -> None:", *body, ""]

    def emit_link(self, m: ModelDef) -> list[str]:
        """``_link`` spelled out for this record's struct-valued fields: it runs for every part of
        every event decoded, so no loop over metadata and no call for a leaf record."""
        out = ["    def _link(self, src: Any, path: Tuple[Any, ...]) -> None:",
               '        _set(self, "_src", src)', '        _set(self, "_path", path)']
        for attr, key, ann, expr, _doc in m.fields:
            if not expr.startswith(("wrap(", "wrap_list(")):
                continue
            target = self.models[re.sub(r"List\[(.*)\]", r"\1", ann)]
            leaf = not self.struct_links(target)
            # `path + (...)` rather than `(*path, ...)`: half the cost, and this runs per record.
            v = f"_{attr}"  # one name per field: mypy types each
            if expr.startswith("wrap_list("):
                out += [f"        if ({v} := self.{attr}) is not None:",
                        f"            for i, item in enumerate({v}):",
                        f"                item._link(src, path + ({key!r}, i))"]
            elif leaf:
                out += [f"        if ({v} := self.{attr}) is not None:",
                        f'            _set({v}, "_src", src)', f'            _set({v}, "_path", path + ({key!r},))']
            else:
                out += [f"        if ({v} := self.{attr}) is not None:", f"            {v}._link(src, path + ({key!r},))"]
        return [*out, ""]

    def emit_module(self, module: str, digest: str, imports: list[str], extra: str = "") -> str:
        models = [self.models[n] for n in self.order if self.models[n].module == module]
        # Nested classes are planned after their owner; emit dependencies first.
        emitted: list[ModelDef] = []
        pending = list(models)
        names = {m.name for m in models}
        while pending:
            for m in pending:
                deps = {re.sub(r"List\[(.*)\]", r"\1", ann) for _a, _k, ann, _e, _d in m.fields} & names
                if m.base in names:
                    deps.add(m.base)
                if deps <= {e.name for e in emitted} | {m.name}:
                    emitted.append(m)
                    pending.remove(m)
                    break
            else:
                raise SystemExit(f"codegen: cannot order models in {module}")
        body = "\n\n".join(self.emit_model(m) for m in emitted)
        head = self.header(digest) + ('"""Generated models; see ``openapiopenai._model`` (and ``_record``, ``_event``) '
                                      'for how they work."""\n\n')
        head += "from __future__ import annotations\n\n"
        head += "from typing import Any, ClassVar, Dict, List, Optional, Tuple\n\n"
        head += "\n".join(imports) + "\n\n"
        all_names = [m.name for m in emitted] + re.findall(r"^class (\w+)", extra, re.M)
        head += f"__all__ = {sorted(all_names)!r}\n\n\n"
        return head + body + extra

    def event_types_module(self, digest: str) -> str:
        members = "\n".join(f"    {member_name(v)} = {v!r}" for v in self.event_types)
        return self.header(digest) + f'''"""The event types the spec lists, as an enum that also accepts types it does not list."""

from __future__ import annotations

import enum
from typing import Any, Dict

__all__ = ["AuditLogEventType"]

_unknown: Dict[str, "AuditLogEventType"] = {{}}


class AuditLogEventType(str, enum.Enum):
    """{oneline(self.schemas["AuditLogEventType"].get("description"))}

    A value the spec does not list (the service adds types every month) still parses: it becomes a
    pseudo-member with ``is_known == False`` that compares equal to its string and can be passed back
    as a filter.
    """

{members}

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        member = _unknown.get(value)
        if member is None:
            member = str.__new__(cls, value)
            member._name_ = value
            member._value_ = value
            if len(_unknown) < 10_000:  # bounded: values come from the network
                _unknown[value] = member
        return member

    @property
    def is_known(self) -> bool:
        """Whether the spec this package was generated from lists this type."""
        # Asked of the declared members, not of `_unknown`, which stops growing at its bound.
        return self._value_ in type(self)._value2member_map_

    def __str__(self) -> str:
        return str(self._value_)

    def __format__(self, spec: str) -> str:
        return format(str(self._value_), spec)

    # Hash and compare as the string, so sets and dicts of types mix enum members and plain strings.
    __hash__ = str.__hash__
    __eq__ = str.__eq__
    __ne__ = str.__ne__


#: Event types the spec lists, in the spec's order.
KNOWN_EVENT_TYPES = tuple(AuditLogEventType)
'''

    def events_extra(self) -> str:
        out: list[str] = []
        payload_set = set(self.payload_types)
        names: dict[str, str] = {}
        for etype in self.event_types:
            cls = camel(etype) + "Event"
            if cls in names.values():
                raise SystemExit(f"codegen: event class name clash {cls}")
            names[etype] = cls
            payload = camel(etype) + "Payload" if etype in payload_set else PAYLOAD_BASE
            out.append(f"""
class {cls}(AuditLog):
    \"\"\"An audit log of type ``{etype}``.\"\"\"

    __slots__ = ()
    event_type: ClassVar[AuditLogEventType] = AuditLogEventType.{member_name(etype)}
    _payload_cls: ClassVar[type[StructModel]] = {payload}

    @property
    def payload(self) -> Optional[{payload}]:
        \"\"\"The ``{etype}`` details of this event.\"\"\"
        return (self._typed or self._body()).payload
""")
        reg = ",\n".join(f"    {t!r}: {c}" for t, c in names.items())
        out.append(f"\n#: event type -> its class; a type not listed here parses as plain ``AuditLog``.\n"
                   f"EVENT_CLASSES: Dict[str, type[AuditLog]] = {{\n{reg},\n}}\n"
                   "EventModel._registry.update(EVENT_CLASSES)\nEventModel._fallback = AuditLog\n")
        return "\n".join(out)

    def audit_log_payload_property(self) -> str:
        return ('''
    @property
    def payload(self) -> Optional[AuditLogPayload]:
        """The details under the key named by this event's type, typed by the type's subclass."""
        return (self._typed or self._body()).payload
''')

    def schemas_module(self, digest: str) -> str:
        payloads = {t: self.schemas["AuditLog"]["properties"][t] for t in self.payload_types}
        strip = _strip_descriptions(payloads)
        return (self.header(digest) + '"""The spec\'s event types and payload schemas, as data (the emulator shapes '
                'its events with them)."""\n\nfrom typing import Any, Dict, Tuple\n\n'
                f"EVENT_TYPES: Tuple[str, ...] = {tuple(self.event_types)!r}\n\n"
                f"PAYLOAD_SCHEMAS: Dict[str, Dict[str, Any]] = {pprint.pformat(strip, width=110, sort_dicts=False)}\n"
                "\nSESSION_SCHEMA: Dict[str, Any] = "
                f"{pprint.pformat(_strip_descriptions(self.schemas['AuditLogActorSession']), width=110, sort_dicts=False)}\n")

    def generate(self, digest: str) -> dict[str, str]:
        self.plan_all()
        files: dict[str, str] = {}
        files["audit_log_event_type.py"] = self.event_types_module(digest)
        base_imp = ("import msgspec  # noqa: F401\n\n"
                    "from openapiopenai._model import ViewModel, dump_value, wrap, wrap_list  # noqa: F401\n"
                    "from openapiopenai._record import StructModel, _set  # noqa: F401  (_set: a frozen record's link)")
        for mod, imps in {
            "audit_log_actor_user": [],
            "audit_log_actor_service_account": [],
            "audit_log_actor_session": ["from .audit_log_actor_user import AuditLogActorUser"],
            "audit_log_actor_api_key": ["from .audit_log_actor_user import AuditLogActorApiKeyUser",
                                        "from .audit_log_actor_service_account import AuditLogActorServiceAccount"],
            "audit_log_actor": ["from .audit_log_actor_session import AuditLogActorSession",
                                "from .audit_log_actor_api_key import AuditLogActorApiKey"],
            "error": [],
            "error_response": ["from .error import Error"],
            "audit_log_payloads": [],
            "list_audit_logs_effective_at_parameter": [],
        }.items():
            files[f"{mod}.py"] = self.emit_module(mod, digest, [base_imp, *imps])
        audit_src = self.emit_module("audit_log", digest, [
            "import msgspec  # noqa: F401\n",
            "from openapiopenai._event import EventModel, _head_part  # noqa: F401",
            "from openapiopenai._model import wrap, wrap_list  # noqa: F401",
            "from openapiopenai._record import StructModel, _set  # noqa: F401  (_set: a frozen record's link)",
            "from .audit_log_actor import AuditLogActor",
            "from .audit_log_event_type import AuditLogEventType",
            "from .audit_log_payloads import *  # noqa: F403",
            "from .audit_log_payloads import AuditLogPayload",
            "\n#: value -> member, so reading an event's type is a dict lookup",
            "_KNOWN_TYPES: Dict[str, AuditLogEventType] = AuditLogEventType._value2member_map_  # type: ignore[assignment]",
        ], self.events_extra())
        # The generic payload accessor sits on AuditLog itself, after its declared fields.
        files["audit_log.py"] = audit_src
        files["list_audit_logs_response.py"] = self.emit_module("list_audit_logs_response", digest, [
            "from openapiopenai._event import PageModel  # noqa: F401",
            "from openapiopenai._model import wrap, wrap_list  # noqa: F401",
            "from .audit_log import AuditLog"])
        files["_schemas.py"] = self.schemas_module(digest)
        files["__init__.py"] = self.init_module(digest, files)
        return files

    def init_module(self, digest: str, files: dict[str, str]) -> str:
        lines = [self.header(digest).rstrip(), '"""Models for every schema of the audit-log endpoint."""', ""]
        exported: list[str] = []
        for fname in sorted(files):
            if fname.startswith("_"):
                continue
            m = re.search(r"^__all__ = (\[.*?\])", files[fname], re.M | re.S)
            names = eval(m.group(1)) if m else []  # our own generated literal
            if fname == "audit_log.py":
                names = [*names, "EVENT_CLASSES"]
            if fname == "audit_log_event_type.py":
                names = [*names, "KNOWN_EVENT_TYPES"]
            lines.append(f"from .{fname[:-3]} import {', '.join(sorted(names))}")
            exported += names
        lines.append("")
        lines.append(f"__all__ = {sorted(set(exported))!r}")
        return "\n".join(lines) + "\n"


def _strip_descriptions(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_descriptions(v) for k, v in obj.items() if k != "description"}
    if isinstance(obj, list):
        return [_strip_descriptions(v) for v in obj]
    return obj


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def render(spec_path: Path = SPEC) -> dict[str, str]:
    text = spec_path.read_bytes()
    digest = hashlib.sha256(text).hexdigest()
    files = Generator(yaml.safe_load(text)).generate(digest)
    return files


def format_files(files: dict[str, str]) -> dict[str, str]:
    """Run ruff's formatter over the output so it reads like hand-written code (skipped if absent)."""
    import shutil
    import subprocess
    import tempfile

    ruff = shutil.which("ruff")
    if not ruff:
        return files
    with tempfile.TemporaryDirectory() as tmp:
        for name, src in files.items():
            (Path(tmp) / name).write_text(src)
        subprocess.run([ruff, "format", "--quiet", "--line-length", "110", tmp], check=True)
        return {name: (Path(tmp) / name).read_text() for name in files}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="fail if the committed models are out of date")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    files = render()
    if args.check:
        stale = []
        for name, src in files.items():
            path = args.out / name
            current = path.read_text() if path.exists() else ""
            if _normalise(current) != _normalise(src):
                stale.append(name)
                sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), src.splitlines(True),
                                                           f"committed/{name}", f"generated/{name}", n=1))
        extra = sorted(p.name for p in args.out.glob("*.py") if p.name not in files)
        if stale or extra:
            print(f"codegen: out of date: {stale + extra}; run `python scripts/codegen.py`", file=sys.stderr)
            return 1
        return 0
    files = format_files(files)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, src in files.items():
        (args.out / name).write_text(src)
    print(f"codegen: wrote {len(files)} modules to {args.out}")
    return 0


def _normalise(src: str) -> str:
    # Compare modulo formatting (the check must not depend on the formatter's version), but keep the
    # "generated from ... (sha256 ...)" first line, so a spec edit that changes no code is still caught.
    import ast

    first = src.split("\n", 1)[0]
    try:
        return first + "\n" + ast.dump(ast.parse(src))
    except SyntaxError:
        return src


if __name__ == "__main__":
    raise SystemExit(main())
