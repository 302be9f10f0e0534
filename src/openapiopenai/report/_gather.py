"""The access review's facts, asked of the archive's ``events`` view for one period.

Each query first narrows on ``type`` and ``effective_at`` (real, indexed columns), so only the events a
section is about are parsed; the one full pass over the period is the per-day count, which reads no
JSON. Both partitions (organisation-level and tenant-scoped) are read. Tables are cut at `MAX_ROWS`
rows, with the count that matched, so a million-event archive still gives a file one can e-mail.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from openapiopenai.report._model import Chart, DetectionMatch, Report, Section, Table
from openapiopenai.report._privileged import CATEGORIES, category_of, privileged_types

__all__ = ["DAY", "MAX_ROWS", "gather"]

DAY = 86_400
#: The most rows a table shows; the rest is counted and left to the archive (a hint says how).
MAX_ROWS = 200
#: Categories of the activity chart, by type prefix (first match); the rest is "other".
ACTIVITY_CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sign-in", ("login.", "logout.")),
    ("API keys", ("api_key.", "tenant.admin_api_key.", "tenant.project_api_key.", "external_key.")),
    ("people", ("user.", "invite.", "tenant.user.", "tenant.membership.", "tenant.group.member.",
                "tenant.api_organization_invite.", "tenant.chatgpt_workspace_invite.", "group.")),
    ("roles", ("role.", "tenant.role_assignment.", "tenant.resource_role_assignment.", "tenant.custom_role.",
               "checkpoint.")),
    ("projects", ("project.", "service_account.", "rate_limit.", "resource.")),
    ("security settings", ("scim.", "ip_allowlist.", "certificate.", "certificates.", "workload_identity",
                           "tenant.sso", "tenant.scim.", "tenant.policy.", "tenant.session_policy.",
                           "organization.")),
)
KEY_TYPES = ("api_key.created", "api_key.deleted", "tenant.admin_api_key.created", "tenant.admin_api_key.deleted",
             "tenant.project_api_key.created")
NEW_USER_TYPES = ("user.added", "tenant.user.added")
INVITE_TYPES = ("invite.sent", "tenant.user.invited", "tenant.api_organization_invite.upserted",
                "tenant.chatgpt_workspace_invite.upserted")
REMOVAL_TYPES = ("user.deleted", "tenant.user.removed", "tenant.membership.revoked")
SIGN_IN_TYPES = ("login.succeeded", "login.failed")


def activity_category(event_type: str) -> str:
    for name, prefixes in ACTIVITY_CATEGORIES:
        if event_type.startswith(prefixes):
            return name
    return "other"


def _when(at: int | None) -> str:
    return "" if at is None else time.strftime("%Y-%m-%d %H:%M", time.gmtime(at))


def _day(at: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(at))


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


def _table(title: str, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]], hint: str = "") -> Table:
    kept: list[tuple[str, ...]] = []
    total = 0
    for row in rows:
        total += 1
        if len(kept) < MAX_ROWS:
            kept.append(tuple(_s(v) for v in row))
    return Table(title, columns, kept, total, hint)


class _Period:
    """The archive and the period's bounds; ``where(types)`` narrows a query the indexed way."""

    def __init__(self, conn: sqlite3.Connection, db: str, since: int, until: int) -> None:
        self.conn, self.db, self.since, self.until = conn, db, since, until

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return list(self.conn.execute(sql, [*args]))

    def where(self, types: Sequence[str]) -> tuple[str, list[Any]]:
        return (
            f"type IN ({_marks(types)}) AND effective_at >= ? AND effective_at < ?",
            [*types, self.since, self.until],
        )

    def hint(self, types: Sequence[str]) -> str:
        flags = " ".join(f"--type {t}" for t in types)
        return f"openapiopenai audit-logs list --db {self.db} --all {flags} --since {self.since} --until {self.until}"


def _detections(matches: Sequence[DetectionMatch] | None) -> Section:
    if matches is None:
        # HOOK (issue 11, `audit-logs detect`): the detection rules' matches for the period come in as
        # `matches` (see `build_report`); until a caller passes them, the section says they were not run.
        return Section("detections", "Detections that fired",
                       "Detection rules were not run for this report (no detection results were given).")
    ordered = sorted(matches, key=lambda m: (m.severity != "critical", m.severity != "high", -m.effective_at))
    by_rule = Counter(m.rule for m in matches)
    summary = (f"{len(matches):,} matches of {len(by_rule)} rules." if matches
               else "No detection rule matched an event in this period.")
    return Section("detections", "Detections that fired", summary, [_table(
        "Matches, most severe first", ("severity", "rule", "time (UTC)", "what", "event"),
        ((m.severity, m.rule, _when(m.effective_at), m.summary, m.event_id) for m in ordered),
    )])


def _privileged(p: _Period, types_present: list[str]) -> Section:
    types = privileged_types(types_present)
    found: list[tuple[str, sqlite3.Row]] = []
    if types:
        where, args = p.where(types)
        for row in p.rows(
            "SELECT id, effective_at, type, coalesce(user_email, actor_id, api_key_id) AS actor, ip_address, country,"
            " coalesce(target_name, target_email, target_id) AS target, coalesce(role, requested_role) AS role,"
            f" scopes, principal_type, project_name FROM events WHERE {where}"
            " ORDER BY effective_at DESC, id DESC", args
        ):
            category = category_of(row["type"], role=row["role"], scopes_json=row["scopes"])
            if category is not None:
                found.append((category, row))
    order = {c.name: i for i, c in enumerate(CATEGORIES)}
    per: dict[str, list[sqlite3.Row]] = defaultdict(list)
    for category, row in found:
        per[category].append(row)
    summary_rows = [
        (name, f"{len(rows):,}", _when(rows[0]["effective_at"]), _s(rows[0]["actor"]), rows[0]["id"])
        for name, rows in sorted(per.items(), key=lambda kv: order[kv[0]])
    ]

    def detail(category: str, row: sqlite3.Row) -> tuple[Any, ...]:
        what = row["role"] or row["scopes"] or row["principal_type"] or ""
        return (_when(row["effective_at"]), category, row["type"], row["actor"], row["target"], what,
                row["ip_address"], row["country"], row["id"])

    found.sort(key=lambda cr: (order[cr[0]], -cr[1]["effective_at"]))
    return Section(
        "privileged", "Privileged changes",
        f"{len(found):,} changes that grant administrative access, create broad keys or change the "
        "organisation's guard rails (SCIM, IP allow-list, certificates, identity providers).",
        [
            _table("By kind, most important first", ("change", "events", "latest (UTC)", "latest by", "latest event"),
                   summary_rows),
            _table("Every change", ("time (UTC)", "change", "type", "by", "target", "role / scopes", "ip",
                                    "country", "event"),
                   (detail(c, r) for c, r in found), p.hint(types)),
        ],
    )


def _keys(p: _Period) -> Section:
    where, args = p.where(KEY_TYPES)
    rows = p.rows(
        "SELECT id, effective_at, type, coalesce(user_email, service_account_id, actor_id, api_key_id) AS owner,"
        f" target_id, target_name, scopes, project_name FROM events WHERE {where}"
        " ORDER BY effective_at DESC, id DESC", args
    )
    owners: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = owners.setdefault(_s(row["owner"]) or "(unknown)", {"created": 0, "deleted": 0, "latest": row})
        entry["deleted" if row["type"].endswith(".deleted") else "created"] += 1
    created = sum(e["created"] for e in owners.values())
    deleted = sum(e["deleted"] for e in owners.values())
    by_owner = sorted(owners.items(), key=lambda kv: (-(kv[1]["created"] + kv[1]["deleted"]), kv[0]))
    return Section(
        "keys", "Key inventory",
        f"{created:,} keys created and {deleted:,} deleted in the period, by {len(owners):,} owners.",
        [
            _table("By owner", ("owner", "created", "deleted", "latest (UTC)", "latest event"),
                   ((o, e["created"], e["deleted"], _when(e["latest"]["effective_at"]), e["latest"]["id"])
                    for o, e in by_owner)),
            _table("Keys created and deleted", ("time (UTC)", "type", "key", "name", "scopes", "owner", "project",
                                                "event"),
                   ((_when(r["effective_at"]), r["type"], r["target_id"], r["target_name"], r["scopes"], r["owner"],
                     r["project_name"], r["id"]) for r in rows), p.hint(KEY_TYPES)),
        ],
    )


def _people(p: _Period) -> Section:
    def fetch(types: Sequence[str]) -> list[sqlite3.Row]:
        where, args = p.where(types)
        return p.rows(
            "SELECT id, effective_at, type, coalesce(user_email, actor_id, api_key_id) AS actor,"
            " coalesce(target_email, target_name, target_id) AS target, coalesce(role, requested_role) AS role,"
            f" target_email, project_name FROM events WHERE {where} ORDER BY effective_at DESC, id DESC", args
        )

    added, invites, removed = fetch(NEW_USER_TYPES), fetch(INVITE_TYPES), fetch(REMOVAL_TYPES)
    domains: dict[str, list[sqlite3.Row]] = defaultdict(list)
    for row in invites:
        email = _s(row["target_email"])
        domains[email.rpartition("@")[2].lower() if "@" in email else "(no email in the event)"].append(row)
    return Section(
        "people", "People",
        f"{len(added):,} users added, {len(invites):,} invitations sent, {len(removed):,} users removed.",
        [
            _table("New users", ("time (UTC)", "type", "user", "role", "project", "added by", "event"),
                   ((_when(r["effective_at"]), r["type"], r["target"], r["role"], r["project_name"], r["actor"],
                     r["id"]) for r in added), p.hint(NEW_USER_TYPES)),
            _table("Invitations by domain", ("domain", "invitations", "latest (UTC)", "latest by", "latest event"),
                   ((d, len(rs), _when(rs[0]["effective_at"]), rs[0]["actor"], rs[0]["id"])
                    for d, rs in sorted(domains.items(), key=lambda kv: (-len(kv[1]), kv[0])))),
            _table("Removals", ("time (UTC)", "type", "user", "removed by", "event"),
                   ((_when(r["effective_at"]), r["type"], r["target"], r["actor"], r["id"]) for r in removed),
                   p.hint(REMOVAL_TYPES)),
        ],
    )


def _sign_ins(p: _Period, days: list[str]) -> Section:
    where, args = p.where(("login.failed",))
    failed = p.rows(
        "SELECT coalesce(user_email, actor_id) AS who, ip_address, country, count(*) AS n, max(effective_at) AS at,"
        f" id, error_code FROM events WHERE {where} GROUP BY who, ip_address, country ORDER BY n DESC, who, ip_address",
        args,
    )
    per_day = Counter(
        _day(r[0]) for r in p.conn.execute(
            f"SELECT effective_at FROM audit_logs WHERE {where}", args
        )
    )
    # New countries and user agents: a user's first sign-in from each, over the whole archive up to the
    # period's end, is "new" when it falls inside the period. One pass, oldest first.
    first_country: dict[tuple[str, str], tuple[int, str]] = {}
    first_agent: dict[tuple[str, str], tuple[int, str]] = {}
    countries: Counter[str] = Counter()
    for who, country, agent, at, event_id in p.conn.execute(
        "SELECT coalesce(user_email, actor_id), country, user_agent, effective_at, id FROM events"
        f" WHERE type IN ({_marks(SIGN_IN_TYPES)}) AND effective_at < ? ORDER BY effective_at, id",
        [*SIGN_IN_TYPES, p.until],
    ):
        if at >= p.since and country:
            countries[country] += 1
        if who is None:
            continue
        if country:
            first_country.setdefault((who, country), (at, event_id))
        if agent:
            first_agent.setdefault((who, agent), (at, event_id))

    def new(first: dict[tuple[str, str], tuple[int, str]]) -> list[tuple[Any, ...]]:
        fresh = [(who, what, at, eid) for (who, what), (at, eid) in first.items() if at >= p.since]
        fresh.sort(key=lambda f: (-f[2], f[0]))
        return [(who, what, _when(at), eid) for who, what, at, eid in fresh]

    total_failed = sum(r["n"] for r in failed)
    top = countries.most_common(15)
    return Section(
        "sign-ins", "Sign-ins",
        f"{total_failed:,} failed sign-ins from {len(failed):,} user, IP and country combinations; "
        f"sign-ins from {len(countries):,} countries.",
        [
            _table("Failed sign-ins by user, IP and country",
                   ("user", "ip", "country", "failures", "latest (UTC)", "latest error", "latest event"),
                   ((r["who"], r["ip_address"], r["country"], r["n"], _when(r["at"]), r["error_code"], r["id"])
                    for r in failed), p.hint(("login.failed",))),
            _table("New countries per user (first sign-in from there in this period)",
                   ("user", "country", "first seen (UTC)", "event"), new(first_country)),
            _table("New user agents per user (first sign-in with it in this period)",
                   ("user", "user agent", "first seen (UTC)", "event"), new(first_agent)),
        ],
        [
            Chart("failed-logins", "Failed sign-ins per day", "bar", days,
                  [("failed sign-ins", [per_day.get(d, 0) for d in days])]),
            Chart("countries", "Sign-ins by country (top 15)", "hbar", [c for c, _ in top],
                  [("sign-ins", [n for _, n in top])]),
        ],
    )


def _activity(p: _Period, days: list[str], by_type: list[tuple[str, int, str]]) -> Section:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for day, event_type, n in p.conn.execute(
        "SELECT effective_at / 86400 AS day, type, count(*) FROM audit_logs"
        " WHERE effective_at >= ? AND effective_at < ? GROUP BY day, type", (p.since, p.until)
    ):
        counts[activity_category(event_type)][_day(day * DAY)] += n
    names = [n for n, _ in ACTIVITY_CATEGORIES] + ["other"]
    series = [(name, [counts[name].get(d, 0) for d in days]) for name in names if counts.get(name)]
    return Section(
        "activity", "Activity over time",
        f"{sum(n for _, n, _ in by_type):,} events of {len(by_type)} types.",
        [_table("Events by type", ("type", "events", "latest event"), by_type)],
        [Chart("activity", "Events per day by category", "stacked", days, series)],
    )


def gather(
    conn: sqlite3.Connection,
    db: str,
    since: int,
    until: int,
    *,
    detections: Sequence[DetectionMatch] | None = None,
    now: float | None = None,
) -> Report:
    if since >= until:
        raise ValueError("the report's period must start before it ends (since < until)")
    p = _Period(conn, db, since, until)
    by_type = [
        (str(t), int(n), str(i)) for t, n, _, i in conn.execute(
            "SELECT type, count(*) AS n, max(effective_at), id FROM audit_logs"
            " WHERE effective_at >= ? AND effective_at < ? GROUP BY type ORDER BY n DESC, type", (since, until)
        )
    ]
    first, last = conn.execute("SELECT min(effective_at), max(effective_at) FROM audit_logs").fetchone()
    days = [_day(d * DAY) for d in range(since // DAY, (until - 1) // DAY + 1)]
    sections = [
        _detections(detections),
        _privileged(p, [t for t, _, _ in by_type]),
        _keys(p),
        _people(p),
        _sign_ins(p, days),
        _activity(p, days, by_type),
    ]
    return Report(db, since, until, int(time.time() if now is None else now), sum(n for _, n, _ in by_type),
                  first, last, sections)
