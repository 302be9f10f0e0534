"""The access review's facts, read from an archive for one period.

Everything starts from the covering ``(type, effective_at)`` index: the count of every type in the
period, and per day (`_per_type`, `_per_day`), which no event is read for. Those counts give the activity chart, the failed
sign-ins per day, each table's size when a table is a plain list of one set of types, and which types
a section needs to look at. Each section is then a few SQL aggregations (`_period`, `_sign_ins`); the
events a table shows are picked by rowid, newest first and at most `MAX_ROWS` of them, and only those are
decoded. Both partitions are read. A cut table keeps its count and says how to get the rest.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from openapiopenai.report._model import SEVERITY, Chart, DetectionMatch, Detections, Report, Section, Table
from openapiopenai.report._period import ACTOR_SQL, MAX_ROWS, Event, Period, when
from openapiopenai.report._privileged import condition_sql, types_by_category
from openapiopenai.report._sign_ins import sign_ins_section

__all__ = ["DAY", "MAX_ROWS", "gather"]

DAY = 86_400
#: The most bars a chart over time draws: a year's report shows weeks, not 365 slivers.
MAX_BARS = 120
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
NO_EMAIL = "(no email in the event)"


def activity_category(event_type: str) -> str:
    for name, prefixes in ACTIVITY_CATEGORIES:
        if event_type.startswith(prefixes):
            return name
    return "other"


def _day(at: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(at))


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _table(title: str, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]], total: int, hint: str = "") -> Table:
    return Table(title, columns, [tuple(_s(v) for v in row) for row in rows], total, hint)


class Buckets:
    """The charts' time axis: days, or runs of days when the period is long (at most `MAX_BARS` bars)."""

    def __init__(self, since: int, until: int) -> None:
        self.first_day = since // DAY
        days = (until - 1) // DAY - self.first_day + 1
        self.size = -(-days // MAX_BARS)  # ceil: one bar per day up to MAX_BARS days
        self.labels = [_day((self.first_day + i) * DAY) for i in range(0, days, self.size)]
        self.unit = "day" if self.size == 1 else f"{self.size} days"

    def index(self, day: int) -> int:
        return (day - self.first_day) // self.size

    def counts(self, per_day: Iterable[tuple[int, int]]) -> list[int]:
        out = [0] * len(self.labels)
        for day, n in per_day:
            out[self.index(day)] += n
        return out


def _detections(p: Period, matches: Detections | Sequence[DetectionMatch] | None) -> Section:
    if matches is None:
        return Section("detections", "Detections that fired",
                       "Detection rules were not run for this report (--no-detect, or without the 'detect' "
                       "extra: pip install 'openapiopenai[detect]').")
    found = matches if isinstance(matches, Detections) else Detections.fold(matches, MAX_ROWS)
    levels = ", ".join(f"{found.by_level[level]:,} {level}" for level in SEVERITY if found.by_level.get(level))
    summary = (f"{found.total:,} alerts from {len(found.by_rule)} rules ({levels})." if found.total
               else "No detection rule matched an event in this period.")
    by_rule = found.by_rule
    rules = sorted(found.latest.values(), key=lambda m: (SEVERITY.get(m.severity, 5), -by_rule[m.rule], m.rule))
    hint = f"openapiopenai audit-logs detect --db {p.db} --since {p.since}"
    return Section("detections", "Detections that fired", summary, [
        _table("By rule, most severe first", ("severity", "rule", "alerts", "latest (UTC)", "latest event"),
               ((m.severity, m.rule, f"{by_rule[m.rule]:,}", when(m.effective_at), m.event_id)
                for m in rules[:MAX_ROWS]), len(rules), hint),
        _table("Alerts, most severe first", ("severity", "rule", "time (UTC)", "what", "event"),
               ((m.severity, m.rule, when(m.effective_at), m.summary, m.event_id) for m in found.top[:MAX_ROWS]),
               found.total, hint),
    ])


def _privileged(p: Period) -> Section:
    summary_rows: list[tuple[Any, ...]] = []
    shown: list[tuple[str, Event]] = []
    found = 0
    listed: list[str] = []
    for category, types in types_by_category(sorted(p.totals)):
        if not types:
            continue
        listed += types
        # Most important heading first, newest first within it: take what is left of the table's rows.
        count, events = p.newest(types, max(MAX_ROWS - len(shown), 1), condition_sql(category))
        if not count:
            continue
        found += count
        latest = events[0]
        summary_rows.append((category.name, f"{count:,}", when(latest.at), latest.actor, latest.id))
        shown += [(category.name, e) for e in events[:MAX_ROWS - len(shown)]]

    def detail(category: str, e: Event) -> tuple[Any, ...]:
        f = e.facts
        what = e.role or (", ".join(f.scopes) if f.scopes else "") or f.resource_type or ""
        return (when(e.at), category, f.type, e.actor, e.target, what, f.ip_address, f.ip_country, e.id)

    return Section(
        "privileged", "Privileged changes",
        f"{found:,} changes that grant administrative access, create broad keys or change the "
        "organisation's guard rails (SCIM, IP allow-list, certificates, identity providers).",
        [
            _table("By kind, most important first", ("change", "events", "latest (UTC)", "latest by", "latest event"),
                   summary_rows, len(summary_rows)),
            _table("Every change", ("time (UTC)", "change", "type", "by", "target", "role / scopes", "ip",
                                    "country", "event"),
                   (detail(c, e) for c, e in shown), found, p.list_hint(listed)),
        ],
    )


def _keys(p: Period) -> Section:
    types = p.present(KEY_TYPES)
    deleted = sum(p.totals[t] for t in types if t.endswith(".deleted"))
    created = sum(p.totals[t] for t in types) - deleted
    owners, by_owner = 0, []
    if types:
        where, args = p.where(types)
        owner = f"coalesce(a.actor_email, {p.field('service_account_id')}, a.actor_id, a.api_key_id, '(unknown)')"
        rows = p.conn.execute(
            f"SELECT owner, sum(NOT gone) AS c, sum(gone) AS d, max(at), id, count(*) OVER () FROM"
            f" (SELECT {owner} AS owner, a.type GLOB '*.deleted' AS gone, a.effective_at AS at, a.id AS id"
            f" FROM audit_logs AS a WHERE {where}) GROUP BY owner ORDER BY c + d DESC, owner LIMIT ?",
            [*args, MAX_ROWS]).fetchall()
        owners = int(rows[0][-1]) if rows else 0
        by_owner = [(o, f"{c:,}", f"{d:,}", when(at), eid) for o, c, d, at, eid, _ in rows]
    total, shown = p.newest(types)

    def key_row(e: Event) -> tuple[Any, ...]:
        f = e.facts
        owner = f.user_email or f.service_account_id or f.actor_id or f.api_key_id
        return (when(e.at), f.type, f.target_id, f.target_name, ", ".join(f.scopes or ()), owner, f.project_name,
                e.id)

    return Section(
        "keys", "Key inventory",
        f"{created:,} keys created and {deleted:,} deleted in the period, by {owners:,} owners.",
        [
            _table("By owner", ("owner", "created", "deleted", "latest (UTC)", "latest event"), by_owner, owners,
                   p.sql_hint(
                       "SELECT coalesce(user_email, service_account_id, actor_id, api_key_id) AS owner,"
                       " sum(type NOT GLOB '*.deleted') AS created, sum(type GLOB '*.deleted') AS deleted,"
                       f" max(time) AS latest FROM events WHERE {p.in_period(types)} GROUP BY owner"
                       " ORDER BY created + deleted DESC")),
            _table("Keys created and deleted", ("time (UTC)", "type", "key", "name", "scopes", "owner", "project",
                                                "event"),
                   (key_row(e) for e in shown), total, p.list_hint(types)),
        ],
    )


def _invitations(p: Period) -> Table:
    """Invitations by e-mail domain: counted by address in SQL, folded into domains here."""
    title, columns = "Invitations by domain", ("domain", "invitations", "latest (UTC)", "latest by", "latest event")
    types = p.present(INVITE_TYPES)
    if not types:
        return _table(title, columns, [], 0)
    where, args = p.where(types)
    domains: dict[str, list[Any]] = {}
    for email, n, at, actor, event_id in p.conn.execute(
        f"SELECT email, count(*), max(at), actor, id FROM (SELECT {p.field('target_email')} AS email,"
        f" a.effective_at AS at, {ACTOR_SQL} AS actor, a.id AS id FROM audit_logs AS a WHERE {where})"
        " GROUP BY email", args
    ):
        email = email or ""
        domain = email.rpartition("@")[2].lower() if "@" in email else NO_EMAIL
        entry = domains.setdefault(domain, [0, at, actor, event_id])
        entry[0] += n
        if at > entry[1]:
            entry[1:] = [at, actor, event_id]
    ordered = sorted(domains.items(), key=lambda kv: (-kv[1][0], kv[0]))
    rows = [(d, f"{n:,}", when(at), actor, eid) for d, (n, at, actor, eid) in ordered[:MAX_ROWS]]
    hint = p.sql_hint(
        "SELECT lower(substr(target_email, instr(target_email, '@') + 1)) AS domain, count(*) AS invitations,"
        f" max(time) AS latest FROM events WHERE {p.in_period(types)} AND target_email LIKE '%@%'"
        " GROUP BY domain ORDER BY invitations DESC")
    return _table(title, columns, rows, len(ordered), hint)


def _people(p: Period) -> Section:
    added_total, added = p.newest(NEW_USER_TYPES)
    invites_total = sum(p.totals[t] for t in p.present(INVITE_TYPES))
    removed_total, removed = p.newest(REMOVAL_TYPES)

    def person(e: Event) -> str:
        f = e.facts
        return f.target_email or f.target_name or f.target_id or ""

    return Section(
        "people", "People",
        f"{added_total:,} users added, {invites_total:,} invitations sent, {removed_total:,} users removed.",
        [
            _table("New users", ("time (UTC)", "type", "user", "role", "project", "added by", "event"),
                   ((when(e.at), e.facts.type, person(e), e.role, e.facts.project_name, e.actor, e.id)
                    for e in added), added_total, p.list_hint(p.present(NEW_USER_TYPES))),
            _invitations(p),
            _table("Removals", ("time (UTC)", "type", "user", "removed by", "event"),
                   ((when(e.at), e.facts.type, person(e), e.actor, e.id) for e in removed), removed_total,
                   p.list_hint(p.present(REMOVAL_TYPES))),
        ],
    )


def _activity(p: Period, buckets: Buckets, per_day_type: list[tuple[str, int, int]]) -> Section:
    counts: dict[str, Counter[int]] = defaultdict(Counter)
    for event_type, day, n in per_day_type:
        counts[activity_category(event_type)][day] += n
    names = [n for n, _ in ACTIVITY_CATEGORIES] + ["other"]
    series = [(name, buckets.counts(counts[name].items())) for name in names if counts.get(name)]
    by_type = sorted(p.totals.items(), key=lambda kv: (-kv[1], kv[0]))
    rows = [
        (t, f"{n:,}", str(p.conn.execute(
            "SELECT id FROM audit_logs WHERE type = ? AND effective_at >= ? AND effective_at < ?"
            " ORDER BY effective_at DESC, rowid DESC LIMIT 1", (t, p.since, p.until)).fetchone()[0]))
        for t, n in by_type[:MAX_ROWS]
    ]
    return Section(
        "activity", "Activity over time",
        f"{sum(p.totals.values()):,} events of {len(by_type)} types.",
        [_table("Events by type", ("type", "events", "latest event"), rows, len(by_type), p.sql_hint(
            "SELECT type, count(*) AS events, max(time) AS latest FROM events WHERE"
            f" effective_at >= {p.since} AND effective_at < {p.until} GROUP BY type ORDER BY events DESC"))],
        [Chart("activity", f"Events per {buckets.unit} by category", "stacked", buckets.labels, series)],
    )


def _per_type(conn: sqlite3.Connection, since: int, until: int) -> dict[str, int]:
    """Events of ``[since, until)`` by type. `+effective_at`: not the time index (it would fetch every
    row for its type) but a scan of the covering ``(type, effective_at)`` index in its order, no sort."""
    return {str(t): int(n) for t, n in conn.execute(
        "SELECT type, count(*) FROM audit_logs WHERE +effective_at >= ? AND +effective_at < ? GROUP BY type",
        (since, until))}


def _per_day(conn: sqlite3.Connection, event_type: str, since: int, until: int) -> list[tuple[int, int]]:
    """(day number, events) of one type in ``[since, until)``: a range count of the index per day.

    ``GROUP BY type, day`` over every type would sort every event's index entry instead: 0.8 s of CPU
    at 1M events where the counts per type and day take 0.3 s.
    """
    return [(int(d), int(n)) for d, n in conn.execute(
        "WITH RECURSIVE day(lo) AS (SELECT :since / 86400 * 86400 UNION ALL SELECT lo + 86400 FROM day"
        " WHERE lo + 86400 < :until)"
        " SELECT lo / 86400, (SELECT count(*) FROM audit_logs WHERE type = :type AND effective_at >= max(lo, :since)"
        " AND effective_at < min(lo + 86400, :until)) AS n FROM day WHERE n > 0",
        {"type": event_type, "since": since, "until": until})]


def gather(
    conn: sqlite3.Connection,
    db: str,
    since: int,
    until: int,
    *,
    detections: Detections | Sequence[DetectionMatch] | None = None,
    now: float | None = None,
) -> Report:
    if since >= until:
        raise ValueError("the report's period must start before it ends (since < until)")
    # Two lookups of the time index (one query asking for both scans the whole index instead).
    first, last = conn.execute(
        "SELECT (SELECT min(effective_at) FROM audit_logs), (SELECT max(effective_at) FROM audit_logs)").fetchone()
    # The time axis covers the period where the archive has events (a --since 2020 draws no empty years).
    lo, hi = since, until
    if first is not None and first < until and last >= since:
        lo, hi = max(since, first), min(until, last + 1)
    totals = _per_type(conn, since, until)
    per_day_type = [(t, day, n) for t in sorted(totals) for day, n in _per_day(conn, t, lo, hi)]
    p = Period(conn, db, since, until, totals)
    buckets = Buckets(lo, hi)
    failed_per_day = [(day, n) for t, day, n in per_day_type if t == "login.failed"]
    sections = [
        _detections(p, detections),
        _privileged(p),
        _keys(p),
        _people(p),
        sign_ins_section(p, buckets.labels, buckets.unit, buckets.counts(failed_per_day)),
        _activity(p, buckets, per_day_type),
    ]
    return Report(db, since, until, int(time.time() if now is None else now), sum(totals.values()),
                  first, last, sections)
