"""Attack scenarios: named sequences of events planted into the emulated organisation at a given time.

Each scenario is what a detection should see when the attack happens: credential stuffing is eight failed
logins for one user from eight addresses, a key escalation is a key minted by a key with every
permission, and so on. `plant` stores one in an `EventStore` (completed like any control-API insert)
and returns the ids it planted, so a test can tell which alerts belong to which scenario. The actors
are the scenario's own (``<scenario>.actor@example.com``, addresses from the documentation ranges
192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24), so no two scenarios share a user or an address and
none is mistaken for the generated history.

``detects`` names the shipped rule files (stems) each scenario is meant to trigger; the tests hold every
rule to firing on its scenario and on no other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openapiopenai.emulator._store import EventStore

__all__ = ["SCENARIOS", "PlantedScenario", "Scenario", "plant", "plant_all", "plant_request"]

Event = dict[str, Any]


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    detects: tuple[str, ...]
    """The rule files (without ``.yml``) that should fire on it."""
    build: Callable[[str, int], list[Event]]
    """(scenario name, start time) -> the partial events to insert."""


@dataclass(frozen=True)
class PlantedScenario:
    name: str
    at: int
    ids: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "at": self.at, "ids": list(self.ids)}


def _user(name: str, who: str = "actor") -> dict[str, str]:
    return {"id": f"user-scn-{name}-{who}", "email": f"{name}.{who}@example.com"}


def _session(user: dict[str, str], ip: str, country: str = "NL") -> dict[str, Any]:
    return {"type": "session", "session": {"user": user, "ip_address": ip, "user_agent": "Mozilla/5.0 (scenario)",
                                           "ip_address_details": {"country": country, "city": "Amsterdam",
                                                                  "region": "North Holland", "asn": "64500"}}}


def _key_actor(user: dict[str, str], key_id: str) -> dict[str, Any]:
    return {"type": "api_key", "api_key": {"id": key_id, "type": "user", "user": user}}


def _event(event_type: str, at: int, actor: dict[str, Any], payload: dict[str, Any]) -> Event:
    return {"type": event_type, "effective_at": at, "actor": actor, event_type: payload}


def _actions(*steps: tuple[str, dict[str, Any]], spacing: int = 60) -> Callable[[str, int], list[Event]]:
    """One actor, signed in from one address, doing ``steps`` a minute apart."""

    def build(name: str, at: int) -> list[Event]:
        actor = _session(_user(name), "192.0.2.10")
        return [_event(t, at + i * spacing, actor, dict(p)) for i, (t, p) in enumerate(steps)]

    return build


def _stuffing(name: str, at: int) -> list[Event]:
    victim = _user(name, "victim")
    return [_event("login.failed", at + 60 * i, _session(victim, f"198.51.100.{10 + i}", "BR"),
                   {"error_code": "invalid_credentials", "error_message": "The email or password is incorrect."})
            for i in range(8)]


def _spraying(name: str, at: int) -> list[Event]:
    return [_event("login.failed", at + 30 * i, _session(_user(name, f"victim{i}"), "203.0.113.77", "RU"),
                   {"error_code": "invalid_credentials", "error_message": "The email or password is incorrect."})
            for i in range(8)]


def _brute_force(name: str, at: int) -> list[Event]:
    victim = _session(_user(name, "victim"), "192.0.2.50", "US")
    failures = [_event("login.failed", at + 60 * i, victim,
                       {"error_code": "invalid_credentials", "error_message": "The email or password is incorrect."})
                for i in range(6)]
    return [*failures, _event("login.succeeded", at + 7 * 60, victim, {})]


def _key_escalation(name: str, at: int) -> list[Event]:
    user = _user(name)
    minted = f"key_scn{name[:6]}minted01"
    return [
        _event("api_key.created", at, _key_actor(user, f"key_scn{name[:6]}stolen01"),
               {"id": minted, "data": {"scopes": ["all"]}}),
        _event("api_key.updated", at + 60, _session(user, "192.0.2.20"),
               {"id": minted, "changes_requested": {"scopes": ["api.files.write", "api.model.request"]}}),
    ]


def _service_account_key(name: str, at: int) -> list[Event]:
    actor = _session(_user(name), "192.0.2.30")
    account = f"svc_acct_scn{name[:8]}"
    return [
        _event("service_account.created", at, actor, {"id": account, "data": {"role": "member"}}),
        _event("api_key.created", at + 180, actor, {"id": f"key_scn{name[:6]}svc01", "data": {"scopes": ["api.model.read"]}}),
    ]


def _mass(event_type: str, count: int, prefix: str) -> Callable[[str, int], list[Event]]:
    def build(name: str, at: int) -> list[Event]:
        actor = _session(_user(name), "192.0.2.40")
        return [_event(event_type, at + 40 * i, actor, {"id": f"{prefix}scn{i:02d}{name[:10]}"}) for i in range(count)]

    return build


def _unknown(name: str, at: int) -> list[Event]:
    return [_event("organization.mystery_feature.enabled", at, _session(_user(name), "192.0.2.60"),
                   {"id": "org-scenario"})]


def _lockout(name: str, at: int) -> list[Event]:
    return [_event("login.failed", at, _session(_user(name, "victim"), "192.0.2.70"),
                   {"error_code": "account_locked",
                    "error_message": "Too many failed attempts; the account is locked for 15 minutes."})]


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("credential_stuffing", "eight failed logins for one user from eight addresses",
             ("correlation_openai_audit_credential_stuffing",), _stuffing),
    Scenario("password_spraying", "one address failing as eight users", ("correlation_openai_audit_password_spraying",),
             _spraying),
    Scenario("brute_force_then_success", "six failed logins for one user, then a success",
             ("correlation_openai_audit_brute_force_then_success",), _brute_force),
    Scenario("account_lockout", "a login refused because the account is locked", ("openai_audit_account_locked",),
             _lockout),
    Scenario("key_escalation", "a key minting an all-permissions key, then write scopes added to it",
             ("openai_audit_api_key_all_scopes", "openai_audit_api_key_created_by_api_key",
              "openai_audit_api_key_write_scopes"), _key_escalation),
    Scenario("service_account_key", "a service account created and given a key minutes later",
             ("correlation_openai_audit_service_account_key_minted",), _service_account_key),
    Scenario("admin_key_created", "an admin API key created",
             ("openai_audit_admin_api_key_created",), _actions(("tenant.admin_api_key.created", {"id": "key_scnadmin01"}))),
    Scenario("privilege_escalation", "owner granted every way there is, roles assigned and bound",
             ("openai_audit_user_role_updated_to_owner", "openai_audit_user_added_as_owner",
              "openai_audit_service_account_created_as_owner", "openai_audit_invite_with_owner_role",
              "openai_audit_role_assignment_created", "openai_audit_role_bound_to_resource"),
             _actions(("user.updated", {"id": "user-scnpromoted01", "changes_requested": {"role": "owner"}}),
                      ("user.added", {"id": "user-scnadded01", "data": {"role": "owner"}}),
                      ("service_account.created", {"id": "svc_acct_scnowner01", "data": {"role": "owner"}}),
                      ("invite.sent", {"id": "invite-scn01", "data": {"email": "new.admin@example.com", "role": "owner"}}),
                      ("role.assignment.created", {"id": "ra_scn01", "principal_id": "user-scnpromoted01",
                                                   "principal_type": "user", "resource_type": "api.organization"}),
                      ("role.bound_to_resource", {"id": "role_scn01", "role_id": "role_scn01",
                                                  "resource_type": "chatgpt_workspace_connector"}))),
    Scenario("allowlist_off", "an IP allow-list changed, deactivated, then deleted",
             ("openai_audit_ip_allowlist_updated", "openai_audit_ip_allowlist_deactivated",
              "openai_audit_ip_allowlist_deleted"),
             _actions(("ip_allowlist.updated", {"id": "ipal_scn01", "allowed_ips": ["0.0.0.0/0"]}),
                      ("ip_allowlist.config.deactivated", {"configs": [{"id": "ipal_scn01", "name": "Office"}]}),
                      ("ip_allowlist.deleted", {"id": "ipal_scn01"}))),
    Scenario("scim_tampering", "SCIM disabled and its directory deletion requested",
             ("openai_audit_scim_disabled", "openai_audit_scim_deletion_requested"),
             _actions(("scim.disabled", {"id": "org-scenario"}), ("tenant.scim.deletion.requested", {"id": "scim_scn01"}))),
    Scenario("mtls_off", "mutual-TLS certificates deactivated and one deleted", ("openai_audit_mtls_certificates_disabled",),
             _actions(("certificates.deactivated", {"certificates": [{"id": "cert_scn01", "name": "Gateway"}]}),
                      ("certificate.deleted", {"id": "cert_scn01"}))),
    Scenario("identity_provider_change", "a workload identity provider changed, an SSO connection deleted",
             ("openai_audit_identity_provider_changed",),
             _actions(("workload_identity_provider.updated", {"id": "wip_scn01", "changes_requested": {"issuer": "x"}}),
                      ("tenant.sso_connection.deleted", {"id": "sso_scn01"}))),
    Scenario("rate_limits_removed", "a rate limit raised, another removed",
             ("openai_audit_rate_limit_updated", "openai_audit_rate_limit_deleted"),
             _actions(("rate_limit.updated", {"id": "rl-scn01", "changes_requested": {"max_requests_per_1_minute": 10**7}}),
                      ("rate_limit.deleted", {"id": "rl-scn02"}))),
    Scenario("external_key_removed", "the customer-managed encryption key removed", ("openai_audit_external_key_removed",),
             _actions(("external_key.removed", {"id": "ekc_scn01"}))),
    Scenario("checkpoint_shared", "a model checkpoint shared with another organisation's project",
             ("openai_audit_checkpoint_permission_to_other_org",),
             _actions(("checkpoint.permission.created", {"id": "cp_scn01", "data": {
                 "project_id": "proj_scnOutsideTheOrganisation", "fine_tuned_model_checkpoint": "ft:gpt-4o-mini:x::y"}}))),
    Scenario("resource_share", "a resource shared with another tenant", ("openai_audit_resource_share_grant_created",),
             _actions(("tenant.resource_share_grant.created", {"id": "rsg_scn01"}))),
    Scenario("tenant_policy_removed", "a session policy deleted, a tenant policy detached",
             ("openai_audit_session_policy_deleted", "openai_audit_tenant_policy_removed"),
             _actions(("tenant.session_policy.deleted", {"id": "sp_scn01"}), ("tenant.policy.detached", {"id": "pol_scn01"}))),
    Scenario("external_invite", "an invitation to an address outside the organisation's domains",
             ("openai_audit_invite_external_domain",),
             _actions(("invite.sent", {"id": "invite-scn02", "data": {"email": "someone@outside-partner.test",
                                                                      "role": "reader"}}))),
    Scenario("mass_user_removal", "six users removed within four minutes", ("correlation_openai_audit_mass_user_removal",),
             _mass("user.deleted", 6, "user-")),
    Scenario("mass_archival", "four projects archived within three minutes", ("correlation_openai_audit_mass_project_archival",),
             _mass("project.archived", 4, "proj_")),
    Scenario("unknown_type", "an event of a type nobody has documented", ("openai_audit_unknown_event_type",), _unknown),
)}


def plant(store: EventStore, name: str, at: int) -> PlantedScenario:
    """Insert scenario ``name`` starting at ``at`` (Unix seconds); ``ValueError`` for an unknown name."""
    scenario = SCENARIOS.get(name)
    if scenario is None:
        raise ValueError(f"no scenario {name!r} (known: {', '.join(SCENARIOS)})")
    stored = store.insert(scenario.build(name, int(at)))
    return PlantedScenario(name, int(at), tuple(e["id"] for e in stored))


#: Scenarios planted without a time start this long before the newest stored event, one after another.
SPACING_S = 3 * 3600


def plant_all(store: EventStore, names: list[str], at: int | None = None) -> list[PlantedScenario]:
    """Plant each of ``names``: from ``at`` on, or ending before the newest stored event, ``SPACING_S`` apart
    (far enough that no correlation window holds two of them)."""
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise ValueError(f"no scenario {unknown[0]!r} (known: {', '.join(SCENARIOS)})")
    if at is None:
        newest = store.newest_effective_at() or 0
        at = newest - SPACING_S * len(names)
    return [plant(store, name, at + i * SPACING_S) for i, name in enumerate(names)]


def plant_request(store: EventStore, body: Any) -> list[dict[str, Any]]:
    """The control API's ``POST /_emulator/scenarios``: ``{"name", "at"?}`` or a list of them."""
    items = body if isinstance(body, list) else [body]
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ValueError('each scenario must be an object with a "name"')
        at = item.get("at")
        if at is not None and (not isinstance(at, int) or isinstance(at, bool)):
            raise ValueError('"at" must be Unix seconds')
        out += [p.to_json() for p in plant_all(store, [item["name"]], at)]
    return out
