"""The sign-ins section: failed sign-ins by user, IP and country, and each user's new countries and agents.

A user's first country and user agent need the sign-ins before the period too: a third of a big
archive. They are read once, and folded as they are read into a small TEMP table with one row per
user, IP, country and user agent (an ``INSERT ... ON CONFLICT DO UPDATE``: SQLite's hash aggregate, a
lookup in a table of a few hundred rows instead of a sort of every sign-in). That row keeps what the
tables need: the first sign-in (time and event), the sign-ins in the period, and the period's failures
with the latest one. Each table is then a ``GROUP BY`` over those few rows, with its count of groups
in the same query. Measured on a 1,000,000-event archive (388k sign-ins): about 4 s of CPU, where a
TEMP table of every sign-in grouped four ways took 6.6 s and handing each row to Python 5.6 s before
any counting. The failures per day need no event at all: they are the per-day counts of
``login.failed`` that the activity section reads anyway.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from openapiopenai.report._model import Chart, Section, Table
from openapiopenai.report._period import MAX_ROWS, Period, when

__all__ = ["SIGN_IN_TYPES", "TOP_COUNTRIES", "sign_ins_section"]

SIGN_IN_TYPES = ("login.succeeded", "login.failed")
#: The countries the chart names.
TOP_COUNTRIES = 15
_TABLE = "report_sign_ins"
# Missing values are '' in the key: SQLite's unique keys treat NULLs as all different.
_CREATE = f"""CREATE TEMP TABLE {_TABLE} (
    who TEXT NOT NULL, ip TEXT NOT NULL, country TEXT NOT NULL, agent TEXT NOT NULL,
    first_at INTEGER NOT NULL, first_id TEXT NOT NULL,    -- the first sign-in of this user, IP, country, agent
    recent INTEGER NOT NULL,                              -- its sign-ins in the period
    failed INTEGER NOT NULL,                              -- its failures in the period ...
    failed_at INTEGER, failed_id TEXT, failed_error TEXT, -- ... and the latest of them
    PRIMARY KEY (who, ip, country, agent))"""
_NEWER_FAILURE = ("excluded.failed AND (failed_at IS NULL OR (excluded.failed_at, excluded.failed_id) > "
                  "(failed_at, failed_id))")
_FOLD = f"""ON CONFLICT DO UPDATE SET
    first_id = CASE WHEN (excluded.first_at, excluded.first_id) < (first_at, first_id)
                    THEN excluded.first_id ELSE first_id END,
    first_at = min(first_at, excluded.first_at),
    recent = recent + excluded.recent,
    failed = failed + excluded.failed,
    failed_at = CASE WHEN {_NEWER_FAILURE} THEN excluded.failed_at ELSE failed_at END,
    failed_id = CASE WHEN {_NEWER_FAILURE} THEN excluded.failed_id ELSE failed_id END,
    failed_error = CASE WHEN {_NEWER_FAILURE} THEN excluded.failed_error ELSE failed_error END"""


@contextlib.contextmanager
def _sign_ins(p: Period) -> Iterator[None]:
    """The folded sign-ins before the period's end, as a TEMP table while the section reads it."""
    conn = p.conn
    conn.execute(f"DROP TABLE IF EXISTS temp.{_TABLE}")
    conn.execute(_CREATE)
    try:
        failure = "a.type = 'login.failed' AND a.effective_at >= :since"
        conn.execute(
            f"INSERT INTO temp.{_TABLE} SELECT coalesce(a.actor_email, a.actor_id, ''), coalesce(a.ip_address, ''),"
            f" coalesce({p.field('country')}, ''), coalesce({p.field('user_agent')}, ''), a.effective_at, a.id,"
            f" a.effective_at >= :since, {failure}, CASE WHEN {failure} THEN a.effective_at END,"
            f" CASE WHEN {failure} THEN a.id END, CASE WHEN {failure} THEN {p.field('error_code')} END"
            f" FROM audit_logs AS a WHERE a.type IN ({', '.join(f':t{i}' for i in range(len(SIGN_IN_TYPES)))})"
            f" AND a.effective_at < :until {_FOLD}",
            {"since": p.since, "until": p.until, **{f"t{i}": t for i, t in enumerate(SIGN_IN_TYPES)}},
        )
        yield
    finally:
        conn.execute(f"DROP TABLE IF EXISTS temp.{_TABLE}")


def _grouped(p: Period, sql: str, args: list[Any], limit: int = MAX_ROWS) -> tuple[int, list[tuple[Any, ...]]]:
    """The first ``limit`` rows of a grouped query whose last column is ``count(*) OVER ()``."""
    rows = p.conn.execute(sql + " LIMIT ?", [*args, limit]).fetchall()
    return (int(rows[0][-1]) if rows else 0), [r[:-1] for r in rows]


def _first_seen(p: Period, what: str) -> tuple[int, list[tuple[str, ...]]]:
    """Users whose first sign-in with ``what`` (a column) is in the period: (how many, the newest)."""
    count, rows = _grouped(
        p, f"SELECT who, {what}, min(first_at) AS first, first_id, count(*) OVER () FROM temp.{_TABLE}"
           f" WHERE who <> '' AND {what} <> '' GROUP BY who, {what} HAVING first >= ?"
           f" ORDER BY first DESC, who, {what}", [p.since])
    return count, [(who, value, when(at), eid) for who, value, at, eid in rows]


def _new_hint(p: Period, column: str) -> str:
    return p.sql_hint(
        f"SELECT coalesce(user_email, actor_id) AS user, {column}, min(time) AS first_seen, id FROM events"
        f" WHERE type IN ('login.succeeded', 'login.failed') AND effective_at < {p.until} AND {column} IS NOT NULL"
        f" GROUP BY user, {column} HAVING user IS NOT NULL AND min(effective_at) >= {p.since}"
        " ORDER BY first_seen DESC"
    )


def sign_ins_section(p: Period, labels: list[str], unit: str, failed_per_bucket: list[int]) -> Section:
    with _sign_ins(p):
        groups, failed = _grouped(
            p, "SELECT who, ip, country, sum(failed) AS n, max(failed_at), failed_error, failed_id, count(*) OVER ()"
               f" FROM temp.{_TABLE} WHERE failed > 0 GROUP BY who, ip, country ORDER BY n DESC, who, ip, country", [])
        countries, top = _grouped(
            p, f"SELECT country, sum(recent) AS n, count(*) OVER () FROM temp.{_TABLE} WHERE country <> ''"
               " GROUP BY country HAVING n > 0 ORDER BY n DESC, country", [], TOP_COUNTRIES)
        new_countries, new_agents = _first_seen(p, "country"), _first_seen(p, "agent")
    return Section(
        "sign-ins", "Sign-ins",
        f"{p.totals.get('login.failed', 0):,} failed sign-ins from {groups:,} user, IP and country "
        f"combinations; sign-ins from {countries:,} countries.",
        [
            Table("Failed sign-ins by user, IP and country",
                  ("user", "ip", "country", "failures", "latest (UTC)", "latest error", "latest event"),
                  [(who, ip, c, f"{n:,}", when(at), error or "", eid) for who, ip, c, n, at, error, eid in failed],
                  groups,
                  p.sql_hint(
                      "SELECT coalesce(user_email, actor_id) AS user, ip_address, country, count(*) AS failures,"
                      f" max(time) AS latest FROM events WHERE {p.in_period(('login.failed',))}"
                      " GROUP BY user, ip_address, country ORDER BY failures DESC")),
            Table("New countries per user (first sign-in from there in this period)",
                  ("user", "country", "first seen (UTC)", "event"), new_countries[1], new_countries[0],
                  _new_hint(p, "country")),
            Table("New user agents per user (first sign-in with it in this period)",
                  ("user", "user agent", "first seen (UTC)", "event"), new_agents[1], new_agents[0],
                  _new_hint(p, "user_agent")),
        ],
        [
            Chart("failed-logins", f"Failed sign-ins per {unit}", "bar", labels, [("failed sign-ins", failed_per_bucket)]),
            Chart("countries", f"Sign-ins by country (top {TOP_COUNTRIES})", "hbar", [c for c, _ in top],
                  [("sign-ins", [n for _, n in top])]),
        ],
    )
