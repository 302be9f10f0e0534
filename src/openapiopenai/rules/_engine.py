"""Running the rules on an archive: pySigma's SQLite backend over the ``events`` view.

Each run defines a TEMP view ``detect_scope``: the events this run looks at (all, ``--since``, or those
archived since the last ``--new`` run). Plain rules become one ``SELECT id FROM detect_scope WHERE ...``
each, as the backend writes them; correlations become the backend's correlation plans, run by its own
executor (stages materialised as TEMP tables with indexes). Before a correlation runs, ``detect_scope``
is narrowed to the event types its base rules can match, because the plan's first stage reads every row
of its table; and for ``--new`` it is widened back by the correlation's timespan so a burst that began
before the last run is still seen whole, and only alerts that include a new event are kept.

A plain rule bounded by type reads each candidate's row anyway, so its query returns the columns a
match shows with the seq (at 1M events ~170k of them match: a second lookup of each by seq cost more
than all the rule queries together). Other queries return only seqs, and the columns of those events
are read once, for all of them together, at the end.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from openapiopenai.archive._fields_table import KIND_INDEX, TABLE, TABLE_COLUMNS, catch_up
from openapiopenai.archive._views import DETECT_STATE_SQL
from openapiopenai.rules._catalog import LEVELS, RuleError, RuleInfo, RuleSet

__all__ = ["Match", "Scope", "compile_rules", "detect", "each_match", "new_position", "save_position"]

_SCOPE = "detect_scope"
#: SQLite's own upper bound for a memory map (SQLITE_MAX_MMAP_SIZE's default); a larger value is clamped.
_MMAP_BYTES = 0x7FFF0000
_SELECT_HEAD = f"SELECT * FROM {_SCOPE} WHERE "
#: The columns a match reports, per event.
_SHOWN = ("id", "effective_at", "time", "type", "actor_id", "user_email", "ip_address", "country", "target_id",
          "target_name")


@dataclass(frozen=True)
class Match:
    """One alert: a rule, the events it matched, and who, where from and on what."""

    rule_id: str
    title: str
    level: str
    time: str
    """The newest matched event's time (ISO-8601 UTC)."""
    event_ids: tuple[str, ...]
    actor: str | None
    ip_address: str | None
    country: str | None
    target: str | None
    types: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "title": self.title, "level": self.level, "time": self.time,
                "event_ids": list(self.event_ids), "actor": self.actor, "ip_address": self.ip_address,
                "country": self.country, "target": self.target, "types": list(self.types)}


@dataclass(frozen=True)
class Scope:
    """Which events a run looks at: everything, ``since`` on, or archived after ``after_seq``."""

    since: int | None = None
    after_seq: int | None = None
    upto_seq: int | None = None


@dataclass
class Compiled:
    """A rule set turned into SQL and correlation plans (done once per run, reused across scopes)."""

    events: list[tuple[RuleInfo, str, tuple[str, ...] | None]] = field(default_factory=list)
    """Each plain rule, its query, and the event types it can match (None: any type)."""
    correlations: list[tuple[RuleInfo, dict[str, Any], tuple[str, ...] | None, dict[str, Any] | None]] = \
        field(default_factory=list)
    """Each correlation, its plan, its base rules' event types, and its shape for `_prune` (None: not pruned)."""


def _pipeline(placeholders: dict[str, list[str]]) -> Any:
    from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
    from sigma.processing.transformations import (
        ValueListPlaceholderTransformation,
        WildcardPlaceholderTransformation,
    )

    items = []
    if placeholders:
        items.append(ProcessingItem(ValueListPlaceholderTransformation(include=sorted(placeholders)),
                                    identifier="openai_placeholders_set"))
    # An unset placeholder matches anything: a filter naming it excludes everything, so its rule waits.
    items.append(ProcessingItem(WildcardPlaceholderTransformation(), identifier="openai_placeholders_unset"))
    return ProcessingPipeline(items=items, vars=dict(placeholders), name="openapiopenai placeholders")


def _backend() -> Any:
    from sigma.backends.sqlite import sqliteBackend

    class ArchiveBackend(sqliteBackend):  # type: ignore[misc,unused-ignore]
        """pySigma's SQLite backend, writing a list of plain values as one ``IN (...)``.

        The drift rule lists every known type; as a chain of 149 ``OR``s SQLite compares each row 149
        times, as ``IN`` it looks the value up once. (The backend's own ``IN`` form escapes ``_`` as it
        would for ``LIKE``, which ``IN`` does not undo, so ours quotes the values as ``=`` does.)
        """

        convert_or_as_in = True

        def convert_condition_as_in_expression(self, cond: Any, state: Any) -> Any:
            field = self.escape_and_quote_field(cond.args[0].field)
            values = ", ".join("'" + str(arg.value).replace("'", "''") + "'" for arg in cond.args)
            return f"{field} IN ({values})"

    return ArchiveBackend


def compile_rules(ruleset: RuleSet, *, level: str = "informational") -> Compiled:
    """SQL for every rule at or above ``level``: a ``SELECT`` per plain rule, a plan per correlation."""
    from sigma.exceptions import SigmaError

    backend = _backend()(_pipeline(ruleset.placeholders), table=_SCOPE, timestamp_field="effective_at",
                         timestamp_format="unix", event_id_field="seq")
    try:
        # A copy: the pipeline rewrites the rule objects it processes, and the set may be converted again.
        converted = json.loads(backend.convert(copy.deepcopy(ruleset.collection), "zircolite"))
    except SigmaError as exc:
        raise RuleError(f"rules: cannot convert ({' '.join(str(exc).split())})") from None
    infos = ruleset.by_id()
    from openapiopenai.rules import _prune

    bounds = _type_bounds(ruleset.collection)
    rules = {str(r.id): r for r in ruleset.collection.rules}
    floor = LEVELS.index(level)
    out = Compiled()
    for item in converted:
        info = infos.get(item["id"])
        if info is None or LEVELS.index(info.level) < floor:
            continue
        if item["result_type"] == "correlation":
            shape = _prune.describe(rules[item["id"]], _rule_types, TABLE_COLUMNS) if item["id"] in rules else None
            out.correlations.append((info, item["correlation_plan"], bounds.get(item["id"]), shape))
        else:
            sql = item["rule"][0]
            if not sql.startswith(_SELECT_HEAD):
                raise RuleError(f"{info.file}: unexpected query shape from the SQLite backend")
            out.events.append((info, f"SELECT seq FROM {_SCOPE} WHERE " + sql[len(_SELECT_HEAD):],
                               bounds.get(item["id"])))
    return out


def _type_bounds(collection: Any) -> dict[str, tuple[str, ...] | None]:
    """For each rule, the event types it can match (None: not bounded by type).

    A bound is a superset, compared as Sigma compares ``type`` (case-insensitively): a rule is run only
    over the rows whose ``lower(type)`` is one of its bound's, through the field table's index.
    """
    out: dict[str, tuple[str, ...] | None] = {}
    for rule in collection.rules:
        types = _rule_types(rule)
        out[str(rule.id)] = None if types is None else tuple(sorted(types))
    return out


def _rule_types(rule: Any) -> set[str] | None:
    from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionOR
    from sigma.correlations import SigmaCorrelationRule
    from sigma.types import SigmaString

    def bound(cond: Any) -> set[str] | None:
        if isinstance(cond, ConditionFieldEqualsValueExpression):
            if cond.field == "type" and isinstance(cond.value, SigmaString) and not cond.value.contains_special():
                return {str(cond.value)}
            return None
        if isinstance(cond, ConditionAND):
            found = [b for b in map(bound, cond.args) if b is not None]
            return set.intersection(*found) if found else None
        if isinstance(cond, ConditionOR):
            parts = [bound(a) for a in cond.args]
            return None if any(p is None for p in parts) else set().union(*parts)  # type: ignore[arg-type]
        return None

    if isinstance(rule, SigmaCorrelationRule):
        types: set[str] = set()
        for ref in rule.rules or ():
            sub = _rule_types(ref.rule)
            if sub is None:
                return None
            types |= sub
        return types
    types = set()
    for condition in rule.detection.parsed_condition:
        b = bound(condition.parsed)
        if b is None:
            return None
        types |= b
    return types


def _define_scope(conn: sqlite3.Connection, terms: Sequence[str], *, by_seq: bool = False, by_kind: bool = False) -> None:
    conn.execute(f"DROP VIEW IF EXISTS temp.{_SCOPE}")
    where = " AND ".join(terms) or "1"
    # A --new run looks at a short range of rows: read it by rowid, never through the type index, which
    # SQLite (without statistics) would otherwise pick for `type = ...` and walk every event of the type.
    # A scope narrowed by `_types_term` names the lower(type) index, which the planner (without statistics)
    # may pass over for a scan when the rule also says `type = ...`.
    hint = " NOT INDEXED" if by_seq else f" INDEXED BY {KIND_INDEX}" if by_kind else ""
    conn.execute(f"CREATE TEMP VIEW {_SCOPE} AS SELECT * FROM {TABLE}{hint} WHERE {where}")


def _window(scope: Scope) -> list[str]:
    # Integers only (checked by the caller's types), so inlining them into the view is safe.
    terms = []
    if scope.since is not None:
        terms.append(f"effective_at >= {int(scope.since)}")
    if scope.after_seq is not None:
        terms.append(f"seq > {int(scope.after_seq)}")
    if scope.upto_seq is not None:
        terms.append(f"seq <= {int(scope.upto_seq)}")
    return terms


def _types_term(types: Iterable[str]) -> str:
    """The rows whose type may be one of ``types`` as SQLite's ``=`` or ``LIKE`` compares it: ``lower``
    on both sides (SQLite's, ASCII-only, as ``LIKE``'s case folding is), answered by the field table's index."""
    return "lower(type) IN (" + ", ".join("lower('" + t.replace("'", "''") + "')" for t in types) + ")"


def _narrowed(sql: str, types: tuple[str, ...], scope: Scope) -> str:
    """A plain rule's query over only the rows of the types it can match (read through the type index),
    returning each match's seq and `_SHOWN` columns. (Not for a short range of new rows: read by seq.)"""
    head = f"SELECT seq FROM {_SCOPE} WHERE "
    shown = ", ".join(f"d.{c}" for c in _SHOWN)
    # The candidates come from a second reading of the table, by the index: in one reading SQLite's
    # constant propagation turns the rule's own `type = 'x'` into lower('x') for the index term, which then
    # no longer uses the index (the whole table is scanned).
    window = "".join(f" AND {term}" for term in _window(scope))
    return (f"SELECT d.seq, {shown} FROM (SELECT seq AS candidate FROM {TABLE} INDEXED BY {KIND_INDEX} WHERE "
            f"{_types_term(types)}{window}) AS k JOIN {TABLE} AS d ON d.seq = k.candidate "
            f"WHERE {sql[len(head):]}")


def detect(conn: sqlite3.Connection, compiled: Compiled, scope: Scope = Scope(), *, readonly: bool = False,
           prune: bool = True) -> list[Match]:
    """Every match of the compiled rules among the events of ``scope``, oldest first.

    Brings ``detect_fields`` up to date first (in the file when writable, else a TEMP table for this run).
    ``prune=False`` runs every correlation plan over all events of its types (see `_prune`; the tests
    compare both ways).
    """
    matches = list(each_match(conn, compiled, scope, readonly=readonly, prune=prune, mapped=True))
    matches.sort(key=lambda m: (m.time, LEVELS.index(m.level), m.title))
    return matches


def each_match(conn: sqlite3.Connection, compiled: Compiled, scope: Scope = Scope(), *, readonly: bool = False,
               prune: bool = True, mapped: bool = False) -> Iterator[Match]:
    """`detect`'s matches one at a time, rule after rule, in no particular order: for a caller that folds
    them (the report counts ~170k at 1M events and shows 200), without holding them all. The connection
    must not be used for anything else until the iteration ends.

    ``mapped``: read the archive through a memory map while the rules run. The rules read the field
    table's pages many times over, and a map spares a read() copy each time (at 1M events: 9.3 -> 6.9 s of
    CPU, 2.3 -> 0.6 s of it the system's), but every page touched then counts in the process's resident
    size (~700 MB at 1M events, clean file pages the kernel may drop; the table's build is not mapped): `detect` maps, the report, which
    keeps its memory low, does not. The connection's own setting is put back after.
    """
    catch_up(conn, readonly=readonly, since=scope.since if scope.after_seq is None else None)
    if not mapped:   # (nor is the table's build: it reads each event once, in order)
        yield from _matches(conn, compiled, scope, prune=prune)
        return
    before = int(conn.execute("PRAGMA mmap_size").fetchone()[0])
    conn.execute(f"PRAGMA mmap_size = {_MMAP_BYTES}")
    try:
        yield from _matches(conn, compiled, scope, prune=prune)
    finally:
        conn.execute(f"PRAGMA mmap_size = {before}")


def _matches(conn: sqlite3.Connection, compiled: Compiled, scope: Scope, *, prune: bool) -> Iterator[Match]:
    from openapiopenai.rules import _prune
    from openapiopenai.rules._plan import run_plan

    try:
        _define_scope(conn, _window(scope), by_seq=scope.after_seq is not None)
        for info, sql, types in compiled.events:
            if types is None or scope.after_seq is not None:
                yield from _describe(conn, [(info, [row[0]]) for row in conn.execute(sql)])
            else:
                yield from (_single(info, row[1:]) for row in conn.execute(_narrowed(sql, types, scope)))
        new_ids: set[int] | None = None
        new_types: set[str] = set()
        earliest: int | None = None
        if scope.after_seq is not None:
            rows = conn.execute(f"SELECT seq, effective_at, type FROM {_SCOPE}").fetchall()
            new_ids = {r[0] for r in rows}
            new_types = {r[2] for r in rows}
            earliest = min((r[1] for r in rows), default=None)
        for info, plan, types, shape in compiled.correlations:
            if new_ids is not None and (earliest is None or (types is not None and not new_types.intersection(types))):
                continue   # no new event this correlation could count: no alert can include one
            terms = [] if types is None else [_types_term(types)]
            if new_ids is not None and earliest is not None:
                terms.append(f"effective_at >= {int(earliest) - info.timespan_s}")
                if scope.upto_seq is not None:
                    terms.append(f"seq <= {int(scope.upto_seq)}")
            else:
                terms += _window(scope)
            _define_scope(conn, terms, by_kind=types is not None)
            if prune and shape is not None:
                _prune.keep(conn, _SCOPE, shape)
                if conn.execute(f"SELECT 1 FROM temp.{_prune.KEEP} LIMIT 1").fetchone() is None:
                    continue   # no event of any possible alert: the plan would find nothing
                _define_scope(conn, [*terms, f"seq IN (SELECT seq FROM temp.{_prune.KEEP})"])
            found: list[tuple[RuleInfo, list[int]]] = []
            for alert in run_plan(conn, plan):
                # The executor names an event "<table>:<seq>".
                ids = [int(str(e).rsplit(":", 1)[-1]) for e in alert["event_ids"]]
                if new_ids is None or new_ids.intersection(ids):
                    found.append((info, ids))
            yield from _describe(conn, found)
    finally:
        conn.execute(f"DROP VIEW IF EXISTS temp.{_SCOPE}")
        conn.execute(f"DROP TABLE IF EXISTS temp.{_prune.KEEP}")


def _single(info: RuleInfo, e: Sequence[Any]) -> Match:
    """The alert of a rule that matched one event (the event's `_SHOWN` columns)."""
    return Match(info.id, info.title, info.level, str(e[2]), (str(e[0]),), _one(e[5] or e[4]), _one(e[6]),
                 _one(e[7]), _one((e[9] or e[8]) or None), (str(e[3]),))


def _describe(conn: sqlite3.Connection, found: list[tuple[RuleInfo, list[int]]]) -> list[Match]:
    wanted = sorted({i for _, ids in found for i in ids})
    rows: dict[int, tuple[Any, ...]] = {}
    for start in range(0, len(wanted), 5000):
        chunk = json.dumps(wanted[start:start + 5000])
        for row in conn.execute(f"SELECT seq, {', '.join(_SHOWN)} FROM {TABLE} WHERE seq IN "
                                "(SELECT value FROM json_each(?))", (chunk,)):
            rows[row[0]] = tuple(row)[1:]
    matches = []
    for info, ids in found:
        if len(ids) == 1:   # most matches: one event, nothing to sort or summarise
            e = rows.get(ids[0])
            if e is not None:
                matches.append(_single(info, e))
            continue
        events = sorted((rows[i] for i in ids if i in rows), key=lambda r: (r[1], r[0]))
        if not events:
            continue
        matches.append(Match(
            info.id, info.title, info.level, str(events[-1][2]), tuple(str(e[0]) for e in events),
            _summary(e[5] or e[4] for e in events), _summary(e[6] for e in events), _summary(e[7] for e in events),
            _summary(e[9] or e[8] for e in events if e[8] or e[9]), tuple(dict.fromkeys(str(e[3]) for e in events))))
    return matches


def _one(value: Any) -> str | None:
    return None if value is None else str(value)


def _summary(values: Iterable[Any]) -> str | None:
    """The distinct values, the first three named and the rest counted (``a, b, c +4``)."""
    distinct = list(dict.fromkeys(str(v) for v in values if v is not None))
    if not distinct:
        return None
    shown = ", ".join(distinct[:3])
    return shown if len(distinct) <= 3 else f"{shown} +{len(distinct) - 3}"


# -- the --new position ------------------------------------------------------------------------------

def new_position(conn: sqlite3.Connection) -> tuple[int | None, int]:
    """(the last position ``--new`` looked up to, or None the first time; the archive's newest position now)."""
    try:
        row = conn.execute("SELECT last_seq FROM detect_state WHERE name = 'new'").fetchone()
    except sqlite3.OperationalError:   # no table: no --new run has saved a position yet
        row = None
    newest = conn.execute("SELECT coalesce(max(rowid), 0) FROM audit_logs").fetchone()[0]
    return (None if row is None else int(row[0])), int(newest)


def save_position(conn: sqlite3.Connection, upto: int) -> None:
    """Record that ``--new`` has reported everything archived up to ``upto`` (after the output is written)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(DETECT_STATE_SQL)
        conn.execute("INSERT INTO detect_state (name, last_seq, updated_at) VALUES ('new', ?, ?)"
                     " ON CONFLICT (name) DO UPDATE SET last_seq = excluded.last_seq, updated_at = excluded.updated_at",
                     (upto, time.time()))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
