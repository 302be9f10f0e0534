"""The access review's facts, read from an archive for one period.

Three reads, each narrowed the indexed way: the per-day count of every type (a scan of the covering
``(type, effective_at)`` index, no event parsed); the period's events of the types the sections are
about; and the sign-ins up to the period's end (a user's first country and user agent need the time
before the period too). Events are read as `anatomy.facts_from_json` reads them (the same facts as the
``events`` view, decoded by msgspec at a few microseconds an event: the view's ``json_extract`` per
column costs ten times that on a million events). Both partitions are read. Tables are cut at
`MAX_ROWS` rows, with the count that matched, so a million-event archive still makes a file to e-mail.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from openapiopenai.anatomy import EventFacts, facts_from_json
from openapiopenai.fields import FIELDS_BY_NAME
from openapiopenai.report._model import Chart, DetectionMatch, Report, Section, Table
from openapiopenai.report._privileged import CATEGORIES, category_of, privileged_types

__all__ = ["DAY", "MAX_ROWS", "gather"]

DAY = 86_400
#: The most rows a table shows; the rest is counted and left to the archive (a hint says how).
MAX_ROWS = 200
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


def _table(
    title: str, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]], hint: str = "", *, total: int | None = None
) -> Table:
    """A table of the first `MAX_ROWS` rows. With ``total`` (the count known beforehand) only those
    rows are made, which matters when a million-event period has a hundred thousand of them."""
    if total is not None:
        kept = [tuple(_s(v) for v in row) for row in itertools.islice(rows, MAX_ROWS)]
        return Table(title, columns, kept, total, hint)
    kept = []
    count = 0
    for row in rows:
        count += 1
        if len(kept) < MAX_ROWS:
            kept.append(tuple(_s(v) for v in row))
    return Table(title, columns, kept, count, hint)


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


class Event:
    """An event's facts, with the two readings the sections share."""

    __slots__ = ("facts", "role")

    def __init__(self, facts: EventFacts, role: str | None) -> None:
        self.facts = facts
        self.role = role
        """The role granted, or the one a user update asks for."""

    @property
    def actor(self) -> str:
        f = self.facts
        return f.user_email or f.actor_id or f.api_key_id or ""

    @property
    def target(self) -> str:
        f = self.facts
        return f.target_name or f.target_email or f.target_id or ""

    @property
    def at(self) -> int:
        return self.facts.effective_at or 0

    @property
    def id(self) -> str:
        return self.facts.id or ""


_REQUESTED_ROLE = FIELDS_BY_NAME["requested_role"]


def _event(event_type: str, raw: str) -> Event:
    facts = facts_from_json(raw, event_type)
    role = facts.role
    if role is None and event_type == "user.updated":
        role = _REQUESTED_ROLE.read(json.loads(raw))  # the only type that asks for a role; few events
    return Event(facts, role if isinstance(role, str) else None)


class _Period:
    """The archive and the period's bounds."""

    def __init__(self, conn: sqlite3.Connection, db: str, since: int, until: int) -> None:
        self.conn, self.db, self.since, self.until = conn, db, since, until

    def events(self, types: Sequence[str]) -> list[Event]:
        """The period's events of ``types``, newest first."""
        if not types:
            return []
        rows = self.conn.execute(
            f"SELECT type, raw FROM audit_logs WHERE type IN ({_marks(types)}) AND effective_at >= ?"
            " AND effective_at < ? ORDER BY effective_at DESC, id DESC", [*types, self.since, self.until]
        )
        return [_event(t, raw) for t, raw in rows]

    def sign_ins_until_end(self) -> Iterator[EventFacts]:
        """Every sign-in before the period's end, oldest first (streamed: a third of a big archive)."""
        cursor = self.conn.execute(
            f"SELECT type, raw FROM audit_logs WHERE type IN ({_marks(SIGN_IN_TYPES)}) AND effective_at < ?"
            " ORDER BY effective_at, id", [*SIGN_IN_TYPES, self.until]
        )
        try:
            while batch := cursor.fetchmany(1000):
                for event_type, raw in batch:
                    yield facts_from_json(raw, event_type)
        finally:
            cursor.close()

    def hint(self, types: Sequence[str]) -> str:
        flags = " ".join(f"--type {t}" for t in types)
        return f"openapiopenai audit-logs list --db {self.db} --all {flags} --since {self.since} --until {self.until}"


#: Most severe first (Sigma's levels).
_SEVERITY = {"critical": 0, "high": 1, "medium": 2, "low": 3, "informational": 4}


def _detections(matches: Sequence[DetectionMatch] | None) -> Section:
    if matches is None:
        return Section("detections", "Detections that fired",
                       "Detection rules were not run for this report (--no-detect, or without the 'detect' "
                       "extra: pip install 'openapiopenai[detect]').")
    ordered = sorted(matches, key=lambda m: (_SEVERITY.get(m.severity, 5), -m.effective_at, m.rule))
    by_rule = Counter(m.rule for m in matches)
    by_level = Counter(m.severity for m in matches)
    levels = ", ".join(f"{by_level[level]:,} {level}" for level in _SEVERITY if by_level[level])
    summary = (f"{len(matches):,} alerts from {len(by_rule)} rules ({levels})." if matches
               else "No detection rule matched an event in this period.")
    latest: dict[str, DetectionMatch] = {}
    for m in ordered:
        latest.setdefault(m.rule, m)  # the first seen per rule is its newest, within its severity
    rules = sorted(latest.values(), key=lambda m: (_SEVERITY.get(m.severity, 5), -by_rule[m.rule], m.rule))
    return Section("detections", "Detections that fired", summary, [
        _table("By rule, most severe first", ("severity", "rule", "alerts", "latest (UTC)", "latest event"),
               ((m.severity, m.rule, f"{by_rule[m.rule]:,}", _when(m.effective_at), m.event_id) for m in rules)),
        _table("Alerts, most severe first", ("severity", "rule", "time (UTC)", "what", "event"),
               ((m.severity, m.rule, _when(m.effective_at), m.summary, m.event_id) for m in ordered),
               total=len(ordered)),
    ])


def _privileged(p: _Period, events: list[Event], types: list[str]) -> Section:
    found: list[tuple[str, Event]] = []
    for e in events:
        category = category_of(e.facts.type or "", role=e.role, scopes=e.facts.scopes)
        if category is not None:
            found.append((category, e))
    order = {c.name: i for i, c in enumerate(CATEGORIES)}
    per: dict[str, list[Event]] = defaultdict(list)
    for category, e in found:
        per[category].append(e)
    summary_rows = [
        (name, f"{len(es):,}", _when(es[0].at), es[0].actor, es[0].id)
        for name, es in sorted(per.items(), key=lambda kv: order[kv[0]])
    ]

    def detail(category: str, e: Event) -> tuple[Any, ...]:
        f = e.facts
        what = e.role or (", ".join(f.scopes) if f.scopes else "") or f.resource_type or ""
        return (_when(e.at), category, f.type, e.actor, e.target, what, f.ip_address, f.ip_country, e.id)

    found.sort(key=lambda ce: (order[ce[0]], -ce[1].at))
    return Section(
        "privileged", "Privileged changes",
        f"{len(found):,} changes that grant administrative access, create broad keys or change the "
        "organisation's guard rails (SCIM, IP allow-list, certificates, identity providers).",
        [
            _table("By kind, most important first", ("change", "events", "latest (UTC)", "latest by", "latest event"),
                   summary_rows),
            _table("Every change", ("time (UTC)", "change", "type", "by", "target", "role / scopes", "ip",
                                    "country", "event"),
                   (detail(c, e) for c, e in found), p.hint(types), total=len(found)),
        ],
    )


def _keys(p: _Period, rows: list[Event]) -> Section:
    owners: dict[str, dict[str, Any]] = {}
    for e in rows:
        f = e.facts
        owner = f.user_email or f.service_account_id or f.actor_id or f.api_key_id or "(unknown)"
        entry = owners.setdefault(owner, {"created": 0, "deleted": 0, "latest": e})
        entry["deleted" if (f.type or "").endswith(".deleted") else "created"] += 1
    created = sum(e["created"] for e in owners.values())
    deleted = sum(e["deleted"] for e in owners.values())
    by_owner = sorted(owners.items(), key=lambda kv: (-(kv[1]["created"] + kv[1]["deleted"]), kv[0]))

    def key_row(e: Event) -> tuple[Any, ...]:
        f = e.facts
        owner = f.user_email or f.service_account_id or f.actor_id or f.api_key_id
        return (_when(e.at), f.type, f.target_id, f.target_name, ", ".join(f.scopes or ()), owner, f.project_name,
                e.id)

    return Section(
        "keys", "Key inventory",
        f"{created:,} keys created and {deleted:,} deleted in the period, by {len(owners):,} owners.",
        [
            _table("By owner", ("owner", "created", "deleted", "latest (UTC)", "latest event"),
                   ((o, e["created"], e["deleted"], _when(e["latest"].at), e["latest"].id) for o, e in by_owner)),
            _table("Keys created and deleted", ("time (UTC)", "type", "key", "name", "scopes", "owner", "project",
                                                "event"),
                   (key_row(e) for e in rows), p.hint(KEY_TYPES), total=len(rows)),
        ],
    )


def _people(p: _Period, added: list[Event], invites: list[Event], removed: list[Event]) -> Section:
    domains: dict[str, list[Event]] = defaultdict(list)
    for e in invites:
        email = e.facts.target_email or ""
        domains[email.rpartition("@")[2].lower() if "@" in email else "(no email in the event)"].append(e)

    def person(e: Event) -> str:
        f = e.facts
        return f.target_email or f.target_name or f.target_id or ""

    return Section(
        "people", "People",
        f"{len(added):,} users added, {len(invites):,} invitations sent, {len(removed):,} users removed.",
        [
            _table("New users", ("time (UTC)", "type", "user", "role", "project", "added by", "event"),
                   ((_when(e.at), e.facts.type, person(e), e.role, e.facts.project_name, e.actor, e.id)
                    for e in added), p.hint(NEW_USER_TYPES), total=len(added)),
            _table("Invitations by domain", ("domain", "invitations", "latest (UTC)", "latest by", "latest event"),
                   ((d, len(es), _when(es[0].at), es[0].actor, es[0].id)
                    for d, es in sorted(domains.items(), key=lambda kv: (-len(kv[1]), kv[0])))),
            _table("Removals", ("time (UTC)", "type", "user", "removed by", "event"),
                   ((_when(e.at), e.facts.type, person(e), e.actor, e.id) for e in removed), p.hint(REMOVAL_TYPES),
                   total=len(removed)),
        ],
    )


def _sign_ins(p: _Period, buckets: Buckets) -> Section:
    # One pass over the sign-ins up to the period's end, oldest first: the failures in the period, and
    # each user's first sign-in from a country and with a user agent ("new" when it is in the period).
    failed: dict[tuple[str, str, str], list[Any]] = {}
    per_day: Counter[int] = Counter()
    countries: Counter[str] = Counter()
    first_country: dict[tuple[str, str], tuple[int, str]] = {}
    first_agent: dict[tuple[str, str], tuple[int, str]] = {}
    for f in p.sign_ins_until_end():
        at, event_id = f.effective_at or 0, f.id or ""
        who = f.user_email or f.actor_id
        inside = at >= p.since
        if inside:
            if f.ip_country:
                countries[f.ip_country] += 1
            if f.type == "login.failed":
                per_day[at // DAY] += 1
                group = failed.setdefault((who or "", f.ip_address or "", f.ip_country or ""), [0, 0, "", ""])
                group[0] += 1
                group[1:] = [at, f.error_code or "", event_id]  # oldest first: the last one seen is the latest
        if who is None:
            continue
        if f.ip_country:
            first_country.setdefault((who, f.ip_country), (at, event_id))
        if f.user_agent:
            first_agent.setdefault((who, f.user_agent), (at, event_id))

    def new(first: dict[tuple[str, str], tuple[int, str]]) -> list[tuple[Any, ...]]:
        fresh = [(who, what, at, eid) for (who, what), (at, eid) in first.items() if at >= p.since]
        fresh.sort(key=lambda f: (-f[2], f[0]))
        return [(who, what, _when(at), eid) for who, what, at, eid in fresh]

    groups = sorted(failed.items(), key=lambda kv: (-kv[1][0], kv[0]))
    total_failed = sum(g[0] for _, g in groups)
    top = countries.most_common(15)
    return Section(
        "sign-ins", "Sign-ins",
        f"{total_failed:,} failed sign-ins from {len(groups):,} user, IP and country combinations; "
        f"sign-ins from {len(countries):,} countries.",
        [
            _table("Failed sign-ins by user, IP and country",
                   ("user", "ip", "country", "failures", "latest (UTC)", "latest error", "latest event"),
                   ((who, ip, country, n, _when(at), error, eid) for (who, ip, country), (n, at, error, eid) in groups),
                   p.hint(("login.failed",)), total=len(groups)),
            _table("New countries per user (first sign-in from there in this period)",
                   ("user", "country", "first seen (UTC)", "event"), new(first_country)),
            _table("New user agents per user (first sign-in with it in this period)",
                   ("user", "user agent", "first seen (UTC)", "event"), new(first_agent)),
        ],
        [
            Chart("failed-logins", f"Failed sign-ins per {buckets.unit}", "bar", buckets.labels,
                  [("failed sign-ins", buckets.counts(per_day.items()))]),
            Chart("countries", "Sign-ins by country (top 15)", "hbar", [c for c, _ in top],
                  [("sign-ins", [n for _, n in top])]),
        ],
    )


def _activity(buckets: Buckets, per_day_type: list[tuple[str, int, int]], by_type: list[tuple[str, int, str]]
              ) -> Section:
    counts: dict[str, Counter[int]] = defaultdict(Counter)
    for event_type, day, n in per_day_type:
        counts[activity_category(event_type)][day] += n
    names = [n for n, _ in ACTIVITY_CATEGORIES] + ["other"]
    series = [(name, buckets.counts(counts[name].items())) for name in names if counts.get(name)]
    return Section(
        "activity", "Activity over time",
        f"{sum(n for _, n, _ in by_type):,} events of {len(by_type)} types.",
        [_table("Events by type", ("type", "events", "latest event"), by_type)],
        [Chart("activity", f"Events per {buckets.unit} by category", "stacked", buckets.labels, series)],
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
    return _gather(conn, p, detections, now)


def _gather(conn: sqlite3.Connection, p: _Period, detections: Sequence[DetectionMatch] | None,
            now: float | None) -> Report:
    since, until, db = p.since, p.until, p.db
    # `+effective_at`: not the time index (it would fetch every row for its type) but a scan of the
    # covering (type, effective_at) index, which reads no event.
    per_day_type = [(str(t), int(d), int(n)) for t, d, n in conn.execute(
        "SELECT type, effective_at / 86400 AS day, count(*) FROM audit_logs"
        " WHERE +effective_at >= ? AND +effective_at < ? GROUP BY type, day", (since, until)
    )]
    totals: Counter[str] = Counter()
    for event_type, _, n in per_day_type:
        totals[event_type] += n
    by_type = [
        (t, n, str(conn.execute(
            "SELECT id FROM audit_logs WHERE type = ? AND effective_at >= ? AND effective_at < ?"
            " ORDER BY effective_at DESC, id DESC LIMIT 1", (t, since, until)).fetchone()[0]))
        for t, n in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    first, last = conn.execute("SELECT min(effective_at), max(effective_at) FROM audit_logs").fetchone()
    # The time axis covers the period where the archive has events (a --since 2020 draws no empty years).
    lo, hi = since, until
    if first is not None and first < until and last >= since:
        lo, hi = max(since, first), min(until, last + 1)
    buckets = Buckets(lo, hi)

    present = set(totals)
    privileged = privileged_types(sorted(present))
    wanted = sorted(present & {*privileged, *KEY_TYPES, *NEW_USER_TYPES, *INVITE_TYPES, *REMOVAL_TYPES})
    events = p.events(wanted)  # one read for the four sections below

    def of(types: Iterable[str]) -> list[Event]:
        chosen = set(types)
        return [e for e in events if e.facts.type in chosen]

    sections = [
        _detections(detections),
        _privileged(p, of(privileged), privileged),
        _keys(p, of(KEY_TYPES)),
        _people(p, of(NEW_USER_TYPES), of(INVITE_TYPES), of(REMOVAL_TYPES)),
        _sign_ins(p, buckets),
        _activity(buckets, per_day_type, by_type),
    ]
    return Report(db, since, until, int(time.time() if now is None else now), sum(totals.values()),
                  first, last, sections)
