"""Which events are privileged changes, and under which heading an access review lists them.

A declarative table, most important heading first: an event type belongs to the first heading whose
types or prefixes name it. Two headings look inside the event as well: a role given to a person is a
grant only when the role is an owner's or an admin's, and an API key counts only when it was given a
write scope or every scope (``all``); reading keys and members are the bulk of normal work. Those two
tests are written twice, once for an event in hand (`category_of`) and once as SQL over the archive's
row (`condition_sql`, for counting a million events without decoding them); the tests hold them together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from openapiopenai.archive._views import column_sql

__all__ = ["ADMIN_ROLES", "CATEGORIES", "Category", "category_of", "condition_sql", "is_broad_scope",
           "types_by_category"]

#: Roles that make a person an administrator of the organisation or a project.
ADMIN_ROLES = frozenset({"owner", "admin"})


@dataclass(frozen=True)
class Category:
    name: str
    types: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()

    def names(self, event_type: str) -> bool:
        return event_type in self.types or event_type.startswith(self.prefixes)


CATEGORIES: tuple[Category, ...] = (
    Category("role grant", frozenset({
        "role.assignment.created", "tenant.role_assignment.created", "tenant.resource_role_assignment.created",
        "role.bound_to_resource", "checkpoint.permission.created",
    })),
    # user.added / user.updated / invite.sent: only with an owner or admin role (see `category_of`).
    Category("admin role given", frozenset({"user.added", "user.updated", "invite.sent", "tenant.user.invited"})),
    Category("admin API key", prefixes=("tenant.admin_api_key.",)),
    Category("API key with write/all scope", frozenset({"api_key.created", "api_key.updated"})),
    Category("SCIM", frozenset({"scim.enabled", "scim.disabled"}), ("tenant.scim.",)),
    Category("IP allow-list", prefixes=("ip_allowlist.",)),
    Category("certificate", prefixes=("certificate.", "certificates.")),
    Category("identity provider", prefixes=(
        "workload_identity_provider", "tenant.workload_identity.provider.", "tenant.workload_identity.mapping.",
        "tenant.sso_connection.", "tenant.sso.", "tenant.microsoft_entra_mapping.", "external_key.",
    )),
    Category("role definition", frozenset({"role.created", "role.updated", "role.deleted"}),
             ("tenant.custom_role.",)),
    Category("organisation policy", frozenset({"organization.updated", "tenant.third_party_app_policy.updated"}),
             ("tenant.policy.", "tenant.session_policy.")),
)


def is_broad_scope(scopes: Sequence[str] | None) -> bool:
    """A write scope or every scope (``all``)."""
    return any(s == "all" or s.endswith((".write", ":write")) for s in scopes or ())


def category_of(event_type: str, *, role: str | None, scopes: Sequence[str] | None) -> str | None:
    """The heading an event goes under, or None when it is not a privileged change."""
    for category in CATEGORIES:
        if not category.names(event_type):
            continue
        if category.name == "admin role given" and (role or "").lower() not in ADMIN_ROLES:
            return None
        if category.name == "API key with write/all scope" and not is_broad_scope(scopes):
            return None
        return category.name
    return None


def types_by_category(known: list[str]) -> list[tuple[Category, list[str]]]:
    """Each heading, most important first, with the types among ``known`` it names (first heading wins)."""
    out: list[tuple[Category, list[str]]] = [(c, []) for c in CATEGORIES]
    for event_type in known:
        for category, types in out:
            if category.names(event_type):
                types.append(event_type)
                break
    return out


def _admin_role_sql() -> str:
    role, requested = column_sql("role"), column_sql("requested_role")
    given = f"CASE WHEN a.type = 'user.updated' THEN coalesce({role}, {requested}) ELSE {role} END"
    return f"lower({given}) IN ({', '.join(repr(r) for r in sorted(ADMIN_ROLES))})"


def _broad_scope_sql() -> str:
    return (f"EXISTS (SELECT 1 FROM json_each({column_sql('scopes')})"
            " WHERE value = 'all' OR value GLOB '*.write' OR value GLOB '*:write')")


_CONDITIONS = {"admin role given": _admin_role_sql(), "API key with write/all scope": _broad_scope_sql()}


def condition_sql(category: Category) -> str:
    """`category_of`'s look inside the event, as SQL over ``audit_logs AS a`` ("" when it has none)."""
    return _CONDITIONS.get(category.name, "")
