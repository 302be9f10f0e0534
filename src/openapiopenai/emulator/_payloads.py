"""Payloads: the object under the key named by an event's type, shaped by the spec's schema for it.

The spec details 55 payload schemas (`openapiopenai.models._schemas.PAYLOAD_SCHEMAS`); the values are
chosen by field name so that they look like what the live service sends (key ids under `id` of
`api_key.*`, scopes under `scopes`, CIDRs under `allowed_ips`, ...). Types without a schema get a small
plausible object. A few types carry fields the spec does not declare, as the live service's events do.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from typing import Any

from openapiopenai.emulator._org import ALPHANUM, Organisation, hexstr, token
from openapiopenai.models._schemas import PAYLOAD_SCHEMAS

Builder = Callable[[random.Random, "PayloadContext"], Any]

SCOPES = (
    "api.model.request", "api.model.read", "api.files.write", "api.files.read", "api.assistants.write",
    "api.batch.write", "api.fine_tuning.jobs.write", "api.vector_stores.read", "api.responses.write",
)
PERMISSIONS = (
    "api.organization.read", "api.organization.projects.write", "api.organization.users.read",
    "api.organization.audit_logs.read", "api.model.request", "api.files.write", "chatgpt.connectors.use",
)
LOGIN_ERRORS = (
    ("invalid_credentials", "The email or password is incorrect."),
    ("mfa_required", "Multi-factor authentication is required."),
    ("account_locked", "Too many failed attempts; the account is locked for 15 minutes."),
    ("sso_required", "Your organization requires single sign-on."),
)
WORDS = (
    "alpha", "beta", "gamma", "delta", "orion", "lyra", "vega", "atlas", "ember", "harbor", "summit",
    "cobalt", "quartz", "juniper", "meridian", "nimbus", "onyx", "pioneer", "redwood", "sierra",
)
CONNECTOR_TYPES = frozenset({"role.bound_to_resource", "role.unbound_from_resource"})
MODELS = ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3-mini", "text-embedding-3-large", "dall-e-3", "whisper-1")


class PayloadContext:
    """What a payload refers to: the organisation, the event's type family and its resource id."""

    __slots__ = ("family", "org", "resource_id")

    def __init__(self, org: Organisation, family: str, resource_id: str) -> None:
        self.org = org
        self.family = family
        self.resource_id = resource_id


def family_of(event_type: str) -> str:
    """`api_key.created` -> `api_key`; `tenant.policy.created` -> `policy`; `role.assignment.x` -> `role_assignment`."""
    if event_type in CONNECTOR_TYPES:
        return "connector"
    parts = event_type.split(".")
    if parts[0] == "tenant":
        return parts[1]
    if parts[0] in ("role", "checkpoint") and len(parts) > 2:
        return parts[0] + "_" + parts[1]
    return parts[0]


def _words(rng: random.Random, n: int = 2) -> str:
    # choice() per word rather than sample(): a million events make the difference felt.
    return " ".join([rng.choice(WORDS) for _ in range(n)]).title()


def _string(name: str, rng: random.Random, ctx: PayloadContext) -> str:
    org = ctx.org
    if name == "id":
        return ctx.resource_id
    if name == "email":
        first = rng.choice(WORDS)
        return f"{first}.{rng.choice(WORDS)}@example.com"
    if name == "role":
        return rng.choice(("owner", "member", "member", "member"))
    if name in ("name", "role_name", "group_name", "title", "connector_name"):
        return _words(rng)
    if name == "description":
        return f"{_words(rng, 3)} team access"
    if name in ("project_id", "resource_id"):
        return rng.choice(org.projects)["id"]
    if name == "resource_type":
        return "project"
    if name == "principal_id":
        return rng.choice(org.people).id
    if name == "principal_type":
        return rng.choice(("user", "user", "group"))
    if name == "role_id":
        return org.resource_id(rng, "role")
    if name == "identity_provider_id":
        return org.resource_id(rng, "workload_identity_provider")
    if name == "service_account_id":
        return rng.choice(org.service_accounts)["id"]
    if name == "workspace_id":
        return "ws_" + token(rng, 16)
    if name == "connector_id":
        return "conn_" + token(rng, 16)
    if name == "fine_tuned_model_checkpoint":
        return f"ft:gpt-4o-mini-2024-07-18:{org.id[4:12].lower()}::{token(rng, 8)}:ckpt-step-{rng.randint(1, 40) * 50}"
    if name == "certificate":
        return "-----BEGIN CERTIFICATE-----\nMIIB" + token(rng, 60) + "\n-----END CERTIFICATE-----\n"
    if name == "threads_ui_visibility":
        return rng.choice(("ANY_ROLE", "OWNERS", "NONE"))
    if name == "usage_dashboard_visibility":
        return rng.choice(("ANY_ROLE", "OWNERS"))
    if name == "api_call_logging":
        return rng.choice(("disabled", "enabled_per_call", "enabled_for_all_projects", "enabled_for_selected_projects"))
    if name == "api_call_logging_project_ids":
        return ",".join(p["id"] for p in rng.sample(org.projects, 2))
    return rng.choice(WORDS)


def _string_list(name: str, rng: random.Random) -> list[str]:
    if name == "scopes":
        return rng.sample(SCOPES, rng.randint(1, 3))
    if name == "allowed_ips":
        return [f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.0/{rng.choice((24, 28, 32))}"
                for _ in range(rng.randint(1, 4))]
    if name.startswith("permissions"):
        return rng.sample(PERMISSIONS, rng.randint(1, 3))
    return rng.sample(WORDS, rng.randint(1, 3))


def _integer(name: str, rng: random.Random) -> int:
    if "tokens" in name:
        return rng.choice((30_000, 150_000, 800_000, 2_000_000, 10_000_000))
    if "megabytes" in name:
        return rng.choice((10, 50, 100))
    return rng.choice((60, 500, 3_500, 10_000, 30_000))


def _free_object(name: str, rng: random.Random) -> dict[str, Any]:
    """Objects the spec leaves open (`data`, `changes_requested` without properties, `metadata`)."""
    if name == "metadata":
        return {"owner_team": rng.choice(WORDS)}
    return {"name": _words(rng), "issuer": f"https://{rng.choice(WORDS)}.idp.example.com", "enabled": True}


def compile_schema(name: str, schema: dict[str, Any]) -> Builder:
    """Turn a JSON schema into a function drawing a value for it; built once per type for speed."""
    kind = schema.get("type")
    if "enum" in schema:
        choices = tuple(schema["enum"])
        return lambda rng, ctx: rng.choice(choices)
    if kind == "object":
        props = schema.get("properties")
        if props is None:
            return lambda rng, ctx: _free_object(name, rng)
        fields = [(key, compile_schema(key, sub), key == "id") for key, sub in props.items()]

        def build_object(rng: random.Random, ctx: PayloadContext) -> dict[str, Any]:
            # Optional fields are sometimes left out, as real events omit unset ones; ids never are.
            return {key: build(rng, ctx) for key, build, always in fields if always or rng.random() < 0.85}

        return build_object
    if kind == "array":
        items = schema.get("items", {})
        if items.get("type") == "object":
            item = compile_schema(name, items)

            def build_list(rng: random.Random, ctx: PayloadContext) -> list[Any]:
                entries = [item(rng, ctx) for _ in range(rng.randint(1, 3))]
                # Each listed object is a different resource (three certificates activated at once):
                # the first keeps the event's resource id, the others get ids of their own.
                for i, entry in enumerate(entries[1:], start=1):
                    if isinstance(entry, dict) and "id" in entry:
                        entry["id"] = sibling_id(ctx.resource_id, i)
                return entries

            return build_list
        return lambda rng, ctx: _string_list(name, rng)
    if kind == "integer":
        return lambda rng, ctx: _integer(name, rng)
    if kind == "boolean":
        return lambda rng, ctx: rng.random() < 0.7
    return lambda rng, ctx: _string(name, rng, ctx)


def sibling_id(resource_id: str, index: int) -> str:
    """Another id of the same kind as ``resource_id`` (same prefix and length), fixed by it and ``index``.

    Derived by hashing rather than drawn from the generator's random stream, so that adding it
    changed no other event of a seeded organisation.
    """
    cut = max(resource_id.find("_"), resource_id.find("-")) + 1
    prefix, body = resource_id[:cut], resource_id[cut:]
    digest = hashlib.blake2b(f"{resource_id}/{index}".encode(), digest_size=32).digest()
    return prefix + "".join(ALPHANUM[b % len(ALPHANUM)] for b in digest)[: max(len(body), 8)]


# Regions per provider, with the OpenAI geography each one derives (the SDK's `data.geography`).
_STORAGE_REGIONS = {
    "aws": (("us-east-1", "US"), ("us-west-2", "US"), ("eu-west-1", "EU"), ("eu-central-1", "EU")),
    "azure": (("eastus", "US"), ("westeurope", "EU"), ("northeurope", "EU")),
    "gcp": (("us-central1", "US"), ("europe-west4", "EU")),
    "oci": (("us-ashburn-1", "US"), ("eu-frankfurt-1", "EU")),
}


def _external_storage_registered(rng: random.Random, ctx: PayloadContext) -> dict[str, Any]:
    """``{id, data: {geography, provider: {type, ...}}}`` as the official SDK (3.57) models the event:
    one of its four provider shapes, each with the fields that SDK declares for it."""
    # A local generator (seeded by the resource id) keeps the organisation's random stream as it was.
    local = random.Random(ctx.resource_id)
    kind = local.choice(("aws", "aws", "azure", "gcp", "oci"))
    region, geography = local.choice(_STORAGE_REGIONS[kind])
    bucket = f"{local.choice(WORDS)}-audit-{token(local, 6).lower()}"
    provider: dict[str, Any] = {"type": kind, "region": region}
    if kind == "aws":
        account = str(local.randrange(10**11, 10**12))
        provider.update(account_id=account, bucket=bucket, external_id=token(local, 24),
                        role_arn=f"arn:aws:iam::{account}:role/openai-external-storage")
    elif kind == "azure":
        provider.update(account_name=bucket.replace("-", "")[:24], container="openai-data",
                        resource_group=f"rg-{local.choice(WORDS)}", subscription_id=_uuid(local),
                        tenant_id=_uuid(local))
    elif kind == "gcp":
        number = str(local.randrange(10**11, 10**12))
        provider.update(audience=f"//iam.googleapis.com/projects/{number}/locations/global/workloadIdentityPools/openai",
                        bucket=bucket, workload_identity_pool_id="openai", workload_identity_project_number=number,
                        workload_identity_provider_id="openai-provider")
    else:
        provider.update(bucket=bucket, tenancy_ocid="ocid1.tenancy.oc1.." + token(local, 60).lower())
    return {"id": ctx.resource_id, "data": {"geography": geography, "provider": provider}}


def _uuid(rng: random.Random) -> str:
    h = hexstr(rng, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


#: Types the spec does not detail but the official SDK models: shaped like its models.
SDK_SHAPED: dict[str, Builder] = {"external_storage.registered": _external_storage_registered}


def _generic(event_type: str) -> Builder:
    """A small plausible payload for the types the spec does not detail."""
    action = event_type.rsplit(".", 1)[1]

    def build(rng: random.Random, ctx: PayloadContext) -> dict[str, Any]:
        payload: dict[str, Any] = {"id": ctx.resource_id}
        if action in ("created", "upserted", "registered", "added", "invited", "provisioned"):
            payload["name"] = _words(rng)
        elif action == "updated":
            payload["changes_requested"] = {rng.choice(("name", "status", "description")): _words(rng)}
        elif action in ("started", "completed", "resolved", "migrated", "issued", "redemption"):
            payload["status"] = rng.choice(("succeeded", "pending", "in_progress"))
        elif action in ("attached", "detached", "accepted", "declined", "looked_up"):
            payload["user_id"] = rng.choice(ctx.org.people).id
        return payload

    return build


def _empty(rng: random.Random, ctx: PayloadContext) -> dict[str, Any]:
    return {}


def _with_undeclared(build: Builder, extra: Callable[[random.Random], dict[str, Any]]) -> Builder:
    def wrapped(rng: random.Random, ctx: PayloadContext) -> Any:
        payload = build(rng, ctx)
        payload.update(extra(rng))
        return payload

    return wrapped


def _connector(build: Builder) -> Builder:
    """Connector role events name their resource `<workspace_id>__<connector_id>`; keep the parts in agreement."""

    def wrapped(rng: random.Random, ctx: PayloadContext) -> Any:
        payload = build(rng, ctx)
        workspace, connector = ctx.resource_id.split("__", 1)
        for key, value in (("resource_id", ctx.resource_id), ("workspace_id", workspace), ("connector_id", connector)):
            if key in payload:
                payload[key] = value
        if "resource_type" in payload:
            payload["resource_type"] = "chatgpt_workspace_connector"
        return payload

    return wrapped

# Fields the live service sends beyond the spec, so clients are exercised on them (spec README, fact 4).
UNDECLARED: dict[str, Callable[[random.Random], dict[str, Any]]] = {
    "login.succeeded": lambda rng: {"auth_method": rng.choice(("password", "google", "sso", "passkey"))},
    "api_key.created": lambda rng: {"name": f"{rng.choice(WORDS)}-{rng.randint(1, 99)}", "redacted_value": "sk-...Xq" + hexstr(rng, 2)},
    "project.created": lambda rng: {"geography": rng.choice(("US", "EU"))},
    "rate_limit.updated": lambda rng: {"model": rng.choice(MODELS)},
}


def build_payload_builders(event_types: tuple[str, ...]) -> dict[str, Builder]:
    builders: dict[str, Builder] = {}
    for event_type in event_types:
        schema = PAYLOAD_SCHEMAS.get(event_type)
        if event_type in SDK_SHAPED:
            build = SDK_SHAPED[event_type]
        elif schema is None:
            build = _generic(event_type)
        elif "properties" not in schema:
            # `login.succeeded` and `logout.succeeded`: "no additional fields beyond the standard attributes".
            build = _empty
        else:
            build = compile_schema(event_type, schema)
        if event_type in CONNECTOR_TYPES:
            build = _connector(build)
        if event_type in UNDECLARED:
            build = _with_undeclared(build, UNDECLARED[event_type])
        builders[event_type] = build
    return builders

