"""The mapping table: what each event type is in OCSF 1.8.0 and in ECS, as data.

An event type is ``<family>.<action>`` (``api_key.created``, ``tenant.group.member.added``,
``role.bound_to_resource``). The family says *what* the event is about, and so the OCSF class, the
entity's kind and the ECS category; the action says *what happened*, and so the OCSF activity and the
ECS type. Every type of the spec and every newer one the official SDK knows belongs to a family below
(a test holds it to that); a type of a family nobody listed yet maps as OCSF API Activity (6003) and ECS
``api``, with what its action word tells, so a new type is carried, never dropped.

``rule_for(event_type)`` resolves a type once (cached); ``docs/schemas.md`` is generated from it.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

__all__ = ["ECS_VERSION", "FAMILIES", "NEWER_TYPES", "OCSF_CLASSES", "OCSF_VERSION", "Family", "OcsfClass",
           "TypeRule", "rule_for"]

OCSF_VERSION = "1.8.0"
ECS_VERSION = "9.4.0"

#: Types the official SDK 3.57.0 knows and the spec does not (spec README, fact 5).
NEWER_TYPES = (
    "external_storage.registered",
    "external_storage.removed",
    "tenant.trusted_access.business_verification.started",
    "tenant.trusted_access.application.submitted",
)


class OcsfClass(NamedTuple):
    uid: int
    name: str
    """The class's caption in the schema (`class_name`)."""
    schema_name: str
    """Its name in the compiled schema (`ocsf-json-schema`), for validation."""
    activities: dict[str, int]
    """Action word -> ``activity_id``; any other action is 99 (Other)."""
    captions: dict[int, str]
    """``activity_id`` -> its caption in the schema (`activity_name`); a test checks them against it."""


OCSF_CLASSES: dict[str, OcsfClass] = {
    "authentication": OcsfClass(
        3002, "Authentication", "authentication",
        # The family decides here (login -> Logon, logout -> Logoff): see Family.activity.
        {}, {1: "Logon", 2: "Logoff", 99: "Other"}),
    "account_change": OcsfClass(
        3001, "Account Change", "account_change",
        {"added": 1, "invited": 1, "sent": 1, "upserted": 1, "provisioned": 1, "accepted": 2, "deleted": 6,
         "removed": 6, "revoked": 6},
        {1: "Create", 2: "Enable", 6: "Delete", 99: "Other"}),
    "user_access": OcsfClass(
        3005, "User Access Management", "user_access",
        {"created": 1, "deleted": 2},
        {1: "Assign Privileges", 2: "Revoke Privileges", 99: "Other"}),
    "group_management": OcsfClass(
        3006, "Group Management", "group_management",
        {"created": 6, "deleted": 5, "added": 3, "removed": 4},
        {3: "Add User", 4: "Remove User", 5: "Delete", 6: "Create", 99: "Other"}),
    "entity_management": OcsfClass(
        3004, "Entity Management", "entity_management",
        {"created": 1, "registered": 1, "provisioned": 1, "issued": 1, "looked_up": 2, "updated": 3,
         "upserted": 3, "deleted": 4, "removed": 4, "enabled": 8, "disabled": 9, "activated": 10,
         "deactivated": 11, "archived": 11, "revoked": 4},
        {1: "Create", 2: "Read", 3: "Update", 4: "Delete", 8: "Enable", 9: "Disable", 10: "Activate",
         11: "Deactivate", 99: "Other"}),
    "api_activity": OcsfClass(
        6003, "API Activity", "api_activity",
        {"created": 1, "read": 2, "looked_up": 2, "updated": 3, "deleted": 4, "removed": 4},
        {1: "Create", 2: "Read", 3: "Update", 4: "Delete", 99: "Other"}),
}


class Family(NamedTuple):
    ocsf_class: str
    """A key of ``OCSF_CLASSES``."""
    entity: str
    """What the event is about, in words (the OCSF entity/resource ``type``, ``openai.audit.target.type``)."""
    ecs_category: str
    ecs_extra_type: str | None = None
    """An ECS ``event.type`` added to the action's (``user``/``group``/``admin`` under ``iam``)."""
    activity: int | None = None
    """An OCSF activity the family fixes whatever the action (login is Logon, logout Logoff)."""
    entity_type_id: int = 99
    """OCSF ``managed_entity.type_id`` (2 User, 3 Group, 4 Organization, 5 Policy, 99 Other)."""


_AUTH, _ACCOUNT, _ACCESS, _GROUP, _ENTITY = (
    "authentication", "account_change", "user_access", "group_management", "entity_management")

FAMILIES: dict[str, Family] = {
    # -- sign-ins ---------------------------------------------------------------------------------
    "login": Family(_AUTH, "user", "authentication", activity=1),
    "logout": Family(_AUTH, "user", "authentication", activity=2),
    # -- people: accounts, invitations, memberships ---------------------------------------------------
    "user": Family(_ACCOUNT, "user", "iam", "user"),
    "invite": Family(_ACCOUNT, "invite", "iam", "user"),
    "tenant.user": Family(_ACCOUNT, "user", "iam", "user"),
    "tenant.membership": Family(_ACCOUNT, "membership", "iam", "user"),
    "tenant.api_organization_invite": Family(_ACCOUNT, "invite", "iam", "user"),
    "tenant.chatgpt_workspace_invite": Family(_ACCOUNT, "invite", "iam", "user"),
    # -- who may do what ----------------------------------------------------------------------------
    "role.assignment": Family(_ACCESS, "role_assignment", "iam", "admin"),
    "tenant.role_assignment": Family(_ACCESS, "role_assignment", "iam", "admin"),
    "tenant.resource_role_assignment": Family(_ACCESS, "role_assignment", "iam", "admin"),
    # -- groups -------------------------------------------------------------------------------------
    "group": Family(_GROUP, "group", "iam", "group"),
    "tenant.group": Family(_GROUP, "group", "iam", "group"),
    "tenant.group.member": Family(_GROUP, "group", "iam", "group"),
    # -- credentials and identities: keys, service accounts, identity providers -------------------
    "api_key": Family(_ENTITY, "api_key", "iam"),
    "external_key": Family(_ENTITY, "external_key", "iam"),
    "service_account": Family(_ENTITY, "service_account", "iam", "user", entity_type_id=2),
    "tenant.service_account": Family(_ENTITY, "service_account", "iam", "user", entity_type_id=2),
    "tenant.service_account.token": Family(_ENTITY, "service_account_token", "iam"),
    "tenant.admin_api_key": Family(_ENTITY, "admin_api_key", "iam", "admin"),
    "tenant.project_api_key": Family(_ENTITY, "api_key", "iam"),
    "tenant.chatgpt_access_token": Family(_ENTITY, "access_token", "iam"),
    "workload_identity_provider": Family(_ENTITY, "identity_provider", "iam", "admin"),
    "workload_identity_provider_mapping": Family(_ENTITY, "identity_provider_mapping", "iam", "admin"),
    "tenant.workload_identity.provider": Family(_ENTITY, "identity_provider", "iam", "admin"),
    "tenant.workload_identity.mapping": Family(_ENTITY, "identity_provider_mapping", "iam", "admin"),
    "tenant.workload_identity.binding": Family(_ENTITY, "identity_binding", "iam", "admin"),
    "tenant.workload_identity.principal": Family(_ENTITY, "identity_principal", "iam", "user", entity_type_id=2),
    "tenant.workload_identity.access_token": Family(_ENTITY, "access_token", "iam"),
    "tenant.microsoft_entra_mapping": Family(_ENTITY, "identity_provider_mapping", "iam", "admin"),
    "tenant.sso": Family(_ENTITY, "sso", "iam", "admin"),
    "tenant.sso_connection": Family(_ENTITY, "sso_connection", "iam", "admin"),
    "tenant.sso_connection.setup": Family(_ENTITY, "sso_connection", "iam", "admin"),
    "scim": Family(_ENTITY, "scim", "iam", "admin"),
    "tenant.scim.setup": Family(_ENTITY, "scim", "iam", "admin"),
    "tenant.scim.deletion": Family(_ENTITY, "scim", "iam", "admin"),
    "tenant.scim.directory": Family(_ENTITY, "scim_directory", "iam", "admin"),
    "tenant.session_revocation": Family(_ENTITY, "session", "iam", "user"),
    # -- roles, permissions and policies ------------------------------------------------------------
    "role": Family(_ENTITY, "role", "iam", "admin"),
    "tenant.custom_role": Family(_ENTITY, "role", "iam", "admin"),
    "tenant.role.metadata": Family(_ENTITY, "role", "iam", "admin"),
    "checkpoint.permission": Family(_ENTITY, "checkpoint_permission", "iam", "admin"),
    "tenant.policy": Family(_ENTITY, "policy", "iam", "admin", entity_type_id=5),
    "tenant.principal_authentication_policy": Family(_ENTITY, "policy", "iam", "admin", entity_type_id=5),
    "tenant.product_access_policy": Family(_ENTITY, "policy", "iam", "admin", entity_type_id=5),
    "tenant.session_policy": Family(_ENTITY, "policy", "iam", "admin", entity_type_id=5),
    "tenant.third_party_app_policy": Family(_ENTITY, "policy", "iam", "admin", entity_type_id=5),
    "tenant.resource_access": Family(_ENTITY, "resource_access", "iam", "admin"),
    "tenant.resource_share_grant": Family(_ENTITY, "resource_share_grant", "iam", "admin"),
    # -- configuration of the organisation, its projects and its network -----------------------------
    "organization": Family(_ENTITY, "organization", "configuration", entity_type_id=4),
    "project": Family(_ENTITY, "project", "configuration"),
    "resource": Family(_ENTITY, "resource", "configuration"),
    "rate_limit": Family(_ENTITY, "rate_limit", "configuration"),
    "certificate": Family(_ENTITY, "certificate", "configuration"),
    "certificates": Family(_ENTITY, "certificate", "configuration"),
    "ip_allowlist": Family(_ENTITY, "ip_allowlist", "configuration"),
    "ip_allowlist.config": Family(_ENTITY, "ip_allowlist", "configuration"),
    "tunnel": Family(_ENTITY, "tunnel", "configuration"),
    "external_storage": Family(_ENTITY, "external_storage", "configuration"),
    "tenant.metadata": Family(_ENTITY, "tenant", "configuration", entity_type_id=4),
    "tenant.domains": Family(_ENTITY, "domain", "configuration"),
    "tenant.migration": Family(_ENTITY, "migration", "configuration"),
    "tenant.migration_rollout.status": Family(_ENTITY, "migration_rollout", "configuration"),
    "tenant.migration_rollout.tier": Family(_ENTITY, "migration_rollout", "configuration"),
    "tenant.billing.overage_limit": Family(_ENTITY, "billing", "configuration"),
    "tenant.billing.alerts": Family(_ENTITY, "billing", "configuration"),
    "tenant.billing.info": Family(_ENTITY, "billing", "configuration"),
    "tenant.usage_limit.workspace": Family(_ENTITY, "usage_limit", "configuration"),
    "tenant.usage_limit.group": Family(_ENTITY, "usage_limit", "configuration"),
    "tenant.usage_limit.user": Family(_ENTITY, "usage_limit", "configuration"),
    "tenant.usage_limit.increase_request": Family(_ENTITY, "usage_limit", "configuration"),
    "tenant.ads_account.onboarding": Family(_ENTITY, "ads_account", "configuration"),
    "tenant.workspace_invite_email_settings": Family(_ENTITY, "workspace_settings", "configuration"),
    "tenant.trusted_access.business_verification": Family(_ENTITY, "trusted_access", "configuration"),
    "tenant.trusted_access.application": Family(_ENTITY, "trusted_access", "configuration"),
}

#: The fallback for a family nobody listed: the action happened through the platform's API.
_UNLISTED = Family("api_activity", "resource", "api")

# Actions whose events record something that did not happen; every other event records a done deed.
_FAILURES = frozenset({"failed", "denied", "rejected"})
#: Action word -> ECS ``event.type``; any other action is ``info``.
_ECS_TYPES: dict[str, str] = {
    **dict.fromkeys(("created", "registered", "provisioned", "issued", "added", "invited", "sent"), "creation"),
    **dict.fromkeys(("deleted", "removed", "archived", "revoked"), "deletion"),
    **dict.fromkeys(("updated", "upserted", "activated", "deactivated", "enabled", "disabled", "attached",
                     "detached", "bound_to_resource", "unbound_from_resource", "accepted", "declined",
                     "migrated", "resolved", "completed", "redemption"), "change"),
}
_AUTH_ECS_TYPES = {1: "start", 2: "end"}


class TypeRule(NamedTuple):
    """Everything the mappings need to know about one event type, resolved from the table."""

    event_type: str
    family: str
    action: str
    listed: bool
    """Whether the family is in ``FAMILIES`` (else the API Activity fallback)."""
    entity: str
    entity_type_id: int
    class_uid: int
    class_name: str
    schema_name: str
    activity_id: int
    activity_name: str
    failure: bool
    ecs_category: tuple[str, ...]
    ecs_type: tuple[str, ...]

    @property
    def category_uid(self) -> int:
        return self.class_uid // 1000

    @property
    def type_uid(self) -> int:
        return self.class_uid * 100 + self.activity_id

    @property
    def outcome(self) -> str:
        """ECS ``event.outcome``: a failure, a listed deed done, or unknown for a type nobody listed."""
        return "failure" if self.failure else "success" if self.listed else "unknown"


def _split(event_type: str) -> tuple[str, str]:
    # `role.bound_to_resource`: the action is the last word, whatever its underscores.
    family, _, action = event_type.rpartition(".")
    return family, action


@functools.lru_cache(maxsize=1024)
def rule_for(event_type: str) -> TypeRule:
    """The table's answer for ``event_type`` (any string; an unknown family gets the fallback)."""
    family_name, action = _split(event_type)
    family = FAMILIES.get(family_name)
    listed = family is not None
    if family is None:
        family = _UNLISTED
    ocsf = OCSF_CLASSES[family.ocsf_class]
    activity_id = family.activity if family.activity is not None else ocsf.activities.get(action, 99)
    if family.ecs_category == "authentication":
        ecs_type = _AUTH_ECS_TYPES.get(activity_id, "info")
    else:
        ecs_type = _ECS_TYPES.get(action, "info")
    extra = family.ecs_extra_type
    types = (ecs_type,) if extra is None or extra == ecs_type else (ecs_type, extra)
    return TypeRule(
        event_type, family_name, action, listed, family.entity, family.entity_type_id, ocsf.uid, ocsf.name,
        ocsf.schema_name, activity_id, ocsf.captions[activity_id], action in _FAILURES,
        (family.ecs_category,), types,
    )
