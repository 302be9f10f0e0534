"""The report's period of an archive, and the few shapes of SQL every section reads it with.

Each section is a handful of aggregations that SQLite answers over its indexed columns (``type``,
``effective_at`` and the lookup columns); only the rows a table shows are decoded in Python. A field
the table has no column for (a country, a role, a key's scopes) is read with the ``events`` view's own
expression (`archive._views.column_sql`), so the report and the view cannot disagree about an event.
Measured on a 1,000,000-event archive: reaching an event's row through an index costs about 3 us and
the view's expressions for a field or two about as much again, where the index entry alone is a tenth
of a microsecond; so a section reads events only where it must look inside them (a country, a role),
and a table's rows are picked by rowid from the index before any is read whole.
"""

from __future__ import annotations

import json
import shlex
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from openapiopenai.anatomy import EventFacts, facts_from_json
from openapiopenai.archive._views import column_sql
from openapiopenai.fields import FIELDS_BY_NAME

__all__ = ["ACTOR_SQL", "MAX_ROWS", "Event", "Period", "marks", "quoted", "when"]

#: The most rows a table shows; the rest is counted and left to the archive (a hint says how).
MAX_ROWS = 200


def when(at: int | None) -> str:
    return "" if at is None else time.strftime("%Y-%m-%d %H:%M", time.gmtime(at))


def marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


class Event:
    """A shown event's facts, with the two readings the sections share."""

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
        role = _REQUESTED_ROLE.read(json.loads(raw))  # the only type that asks for a role
    return Event(facts, role if isinstance(role, str) else None)


#: Who acted, from the table's columns (the facts' ``user_email or actor_id or api_key_id``).
ACTOR_SQL = "coalesce(a.actor_email, a.actor_id, a.api_key_id)"


class Period:
    """``[since, until)`` of the archive on ``conn``, with the per-type counts of the period."""

    def __init__(self, conn: sqlite3.Connection, db: str, since: int, until: int, totals: dict[str, int]) -> None:
        self.conn, self.db, self.since, self.until = conn, db, since, until
        self.totals = totals
        """Events in the period by type (only the types present)."""

    @staticmethod
    def field(name: str) -> str:
        """The ``events`` view's value of ``name`` for the row ``a`` of ``audit_logs``."""
        return column_sql(name)

    def present(self, types: Sequence[str]) -> list[str]:
        return [t for t in types if self.totals.get(t)]

    def where(self, types: Sequence[str], condition: str = "") -> tuple[str, list[Any]]:
        """The period's events of ``types`` (and ``condition``, SQL over ``audit_logs AS a``)."""
        sql = f"a.type IN ({marks(types)}) AND a.effective_at >= ? AND a.effective_at < ?"
        return sql + (f" AND ({condition})" if condition else ""), [*types, self.since, self.until]

    def newest(self, types: Sequence[str], limit: int = MAX_ROWS, condition: str = "") -> tuple[int, list[Event]]:
        """How many of the period's events of ``types`` meet ``condition``, and the newest ``limit`` of
        them, decoded. Rows are picked by rowid first: only the ones returned are read whole."""
        types = self.present(types)
        if not types:
            return 0, []
        where, args = self.where(types, condition)
        # Ties within a second go by arrival (the rowid): with it the pick reads only the covering
        # (type, effective_at) index, where the id would fetch every matching row to sort it.
        count = "count(*) OVER ()" if condition else "0"  # a condition needs every match read anyway
        pick = (f"SELECT a.rowid AS seq, a.effective_at AS at, {count} AS n FROM audit_logs AS a WHERE {where}"
                " ORDER BY at DESC, seq DESC LIMIT ?")
        rows = self.conn.execute(
            f"SELECT a.type, a.raw, pick.n FROM ({pick}) AS pick JOIN audit_logs AS a ON a.rowid = pick.seq"
            " ORDER BY pick.at DESC, pick.seq DESC", [*args, max(limit, 1)]
        ).fetchall()
        total = (int(rows[0][2]) if rows else 0) if condition else sum(self.totals[t] for t in types)
        return total, [_event(t, raw) for t, raw, _ in rows[:limit]]

    def list_hint(self, types: Sequence[str]) -> str:
        """The CLI command that lists the period's events of ``types``."""
        flags = " ".join(f"--type {shlex.quote(t)}" for t in types)
        return (f"openapiopenai audit-logs list --db {shlex.quote(self.db)} --all {flags} --since {self.since}"
                f" --until {self.until}")

    def sql_hint(self, sql: str) -> str:
        """A ``sqlite3`` command running ``sql`` (over the ``events`` view, as docs/archive.md's queries)."""
        return f"sqlite3 -header -column {shlex.quote(self.db)} {shlex.quote(' '.join(sql.split()))}"

    def in_period(self, types: Sequence[str]) -> str:
        """The ``events`` view's condition for the period's events of ``types``, as SQL text (for a hint)."""
        return f"type IN ({quoted(types)}) AND effective_at >= {self.since} AND effective_at < {self.until}"


def quoted(values: Sequence[str]) -> str:
    """SQL string literals, for a query shown to a reader (the report's own queries bind parameters)."""
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)
