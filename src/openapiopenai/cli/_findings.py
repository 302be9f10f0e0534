"""What a security engineer looks for first in an archive, as queries on its documented tables.

Failed logins grouped by who, from where and which country; then the changes that weaken an
organisation's defences or widen access. The demo prints these ahead of the volume counts.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

__all__ = ["HIGH_RISK_TYPES", "Findings", "HighRisk", "find"]

#: Event types that switch a control off, grant a role or change the organisation itself.
HIGH_RISK_TYPES = (
    "scim.disabled",
    "ip_allowlist.config.deactivated",
    "role.assignment.created",
    "organization.updated",
    "tenant.admin_api_key.created",
)
#: The row for API keys created with a write scope or every scope.
BROAD_KEYS = "api_key.created, write/all scope"


@dataclass(frozen=True)
class HighRisk:
    what: str
    count: int
    latest_at: int | None
    latest_actor: str | None


@dataclass(frozen=True)
class Findings:
    failed_logins: int
    failed_login_groups: list[tuple[str, str, str, int]]
    """(user, ip, country, count), most frequent first."""
    high_risk: list[HighRisk]


def _latest(conn: sqlite3.Connection, what: str, where: str, args: tuple[object, ...]) -> HighRisk:
    row = conn.execute(
        f"SELECT count(*), max(effective_at) FROM audit_logs WHERE {where}", args
    ).fetchone()
    count, latest_at = int(row[0]), row[1]
    actor = conn.execute(
        f"SELECT coalesce(actor_email, actor_id, api_key_id) FROM audit_logs WHERE {where}"
        " ORDER BY effective_at DESC, id DESC LIMIT 1",
        args,
    ).fetchone()
    return HighRisk(what, count, latest_at, actor[0] if actor else None)


def find(conn: sqlite3.Connection, *, top: int = 8) -> Findings:
    failed = int(conn.execute("SELECT count(*) FROM audit_logs WHERE type = 'login.failed'").fetchone()[0])
    groups = [
        (str(user or "-"), str(ip or "-"), str(country or "-"), int(n))
        for user, ip, country, n in conn.execute(
            "SELECT coalesce(actor_email, actor_id) AS who, ip_address,"
            " json_extract(raw, '$.actor.session.ip_address_details.country') AS country, count(*) AS n"
            " FROM audit_logs WHERE type = 'login.failed'"
            " GROUP BY who, ip_address, country ORDER BY n DESC, who, ip_address LIMIT ?",
            (top,),
        )
    ]
    high_risk = [_latest(conn, t, "type = ?", (t,)) for t in HIGH_RISK_TYPES]
    broad = _latest(
        conn,
        BROAD_KEYS,
        "type = 'api_key.created' AND EXISTS (SELECT 1 FROM json_each(raw, '$.\"api_key.created\".data.scopes')"
        " WHERE value LIKE '%.write' OR value = 'all')",
        (),
    )
    return Findings(failed, groups, [*high_risk, broad])
