"""Which events a correlation can possibly use: a superset found with window counts, before its plan runs.

pySigma's correlation plan is general and costs about 25 us for every event of its base rules' types
(stages materialised and indexed one after another); the sign-in rules read every login of the archive,
40 % of a typical one. Most of those events could never be part of an alert, and a count over a sliding
window finds them cheaply:

* ``event_count`` / ``value_count`` with ``gte N`` (or ``gt``) over base rules: an alert is N or more
  events of one group within the timespan T, so an event with fewer than N events of the rules' types in
  its group within T either side of it is in none.
* ``temporal`` / ``temporal_ordered`` needing every referenced rule: an alert holds an event (or a nested
  alert) of each, of one group, within T; a nested ``event_count`` alert's events lie up to its own
  timespan before its end. So an event of one reference is kept only if every other reference has a kept
  event of its group within T plus both references' own timespans. A nested count is pruned as above.

Everything here only narrows what the plan reads; the plan still decides. Kinds or shapes outside these
(aliases, other conditions, a rule not bounded by type, a group field the table lacks) are not pruned.
Groups compare as SQLite's ``lower`` makes them (the plan lowercases text group values the same way), so
the superset holds; the tests run every scenario with and without pruning and compare the alerts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from openapiopenai.rules._source import spellings, types_term

__all__ = ["KEEP", "describe", "keep"]

KEEP = "detect_keep"


def describe(rule: Any, bounds: Any, columns: tuple[str, ...]) -> dict[str, Any] | None:
    """The shape `keep` needs of a correlation rule (JSON, kept in the rule cache), or None: not prunable."""
    from sigma.correlations import SigmaCorrelationConditionOperator as Op
    from sigma.correlations import SigmaCorrelationRule

    if not isinstance(rule, SigmaCorrelationRule) or rule.aliases.aliases:
        return None
    group = list(rule.group_by or ())
    if not group or any(g not in columns for g in group):
        return None
    kind = rule.type.name.lower()   # EVENT_COUNT, VALUE_COUNT, TEMPORAL, TEMPORAL_ORDERED, ...
    from sigma.correlations import SigmaCorrelationCondition

    condition = rule.condition
    # An extended (boolean) condition is not a count this module can reason about: not pruned.
    op, count = ((condition.op, int(condition.count)) if isinstance(condition, SigmaCorrelationCondition)
                 else (None, 0))
    least = count if op == Op.GTE else count + 1 if op == Op.GT else None
    refs: list[dict[str, Any]] = []
    for ref in rule.rules or ():
        sub = ref.rule
        if isinstance(sub, SigmaCorrelationRule):
            nested = describe(sub, bounds, columns)
            if nested is None or nested["kind"] not in ("event_count", "value_count") or nested["group"] != group:
                return None
            refs.append(nested)
        else:
            types = bounds(sub)
            if types is None:
                return None
            refs.append({"kind": "base", "types": sorted(types), "timespan": 0})
    if not refs:
        return None
    if kind in ("event_count", "value_count"):
        if least is None or any(r["kind"] != "base" for r in refs):
            return None
    elif kind in ("temporal", "temporal_ordered"):
        if least is None or len(refs) < 2 or least < len(refs):
            return None
    else:
        return None
    return {"kind": kind, "group": group, "timespan": int(rule.timespan.seconds), "least": least, "refs": refs}


def _in(types: list[str], kinds: Sequence[str] | None) -> str:
    """The rows of these types, as Sigma compares them (case-insensitively): the archive's own spellings
    of them (``kinds``, its distinct types; the same rows, through the type index, where ``lower(type)``
    reads every row of the scope's types), or the comparison itself when they are not known."""
    if kinds is not None:
        return types_term(spellings(types, kinds))
    return "lower(type) IN (" + ", ".join("lower('" + t.replace("'", "''") + "')" for t in types) + ")"


def _types(shape: dict[str, Any]) -> list[str]:
    return sorted({t for r in shape["refs"] for t in (r["types"] if r["kind"] == "base" else _types(r))})


def _counted(conn: sqlite3.Connection, scope: str, shape: dict[str, Any], into: str,
             kinds: Sequence[str] | None, memo: dict[str, list[int]] | None) -> None:
    """``into``: the seqs of a count correlation's events with at least ``least`` of their group within T.

    ``memo``: the sets found before over the same window of events (the caller's), by query: two sign-in
    rules (credential stuffing, and the failures before a success) count the same failed logins the same
    way, ~0.3 s each at 1M events."""
    keys = ", ".join(f"lower({g})" for g in shape["group"])
    span = int(shape["timespan"])
    # The window reads a subquery of only the columns it needs, not the scope view itself (which SQLite
    # does not flatten into a window query): at 1M events ~0.42 -> 0.32 s over 65k failed logins. The
    # types as the archive spells them (`_in`) read only those rows through the type index: a correlation
    # of failed and successful logins otherwise walked 388k rows for the 65k (0.66 -> 0.48 s).
    needed = ", ".join(dict.fromkeys(["seq", "effective_at", "type", *shape["group"]]))
    query = (f"SELECT seq FROM (SELECT seq, COUNT(*) OVER (PARTITION BY {keys} "
             f"ORDER BY effective_at RANGE BETWEEN {span} PRECEDING AND {span} FOLLOWING) AS n "
             f"FROM (SELECT {needed} FROM {scope}) WHERE {_in(_types(shape), kinds)}) WHERE n >= {int(shape['least'])}")
    if memo is not None and query in memo:
        conn.execute(f"CREATE TEMP TABLE {into} (seq INT)")
        conn.executemany(f"INSERT INTO temp.{into} VALUES (?)", ((seq,) for seq in memo[query]))
        return
    conn.execute(f"CREATE TEMP TABLE {into} AS {query}")
    if memo is not None:
        memo[query] = [int(row[0]) for row in conn.execute(f"SELECT seq FROM temp.{into} ORDER BY rowid")]


def keep(conn: sqlite3.Connection, scope: str, shape: dict[str, Any], kinds: Sequence[str] | None = None,
         memo: dict[str, list[int]] | None = None) -> None:
    """Fill ``temp.detect_keep`` with the seqs of ``scope``'s events the correlation may use (``kinds``:
    the archive's distinct types, when known: `rules._source.archive_types`; ``memo``: a dict the caller
    keeps for correlations over the same window of events, whatever types each narrows it to)."""
    conn.execute(f"DROP TABLE IF EXISTS temp.{KEEP}")
    if shape["kind"] != "temporal" and shape["kind"] != "temporal_ordered":
        _counted(conn, scope, shape, KEEP, kinds, memo)
        return
    # Each reference's candidates: a nested count's pruned events, a base rule's events of its types.
    # The smallest set is the anchor; every other reference's events are looked up around the anchor's
    # (same group, within the window, through the type index), and an anchor event is kept only if every
    # other reference has one near it.
    refs = shape["refs"]
    keys = shape["group"]
    span = int(shape["timespan"])
    names = [f"{KEEP}_{i}" for i in range(len(refs))]
    try:
        # The nested counts' sets first (small); then each base reference counted only up to one more
        # than the smallest so far: the anchor is the smallest, and the others' exact sizes do not matter
        # (at 1M events 324k successful logins counted, ~0.15 s, against a few thousand failed-login bursts).
        sizes: list[int | None] = [None] * len(refs)
        for i, (ref, name) in enumerate(zip(refs, names, strict=True)):
            conn.execute(f"DROP TABLE IF EXISTS temp.{name}")
            if ref["kind"] != "base":
                _counted(conn, scope, ref, name, kinds, memo)
                sizes[i] = int(conn.execute(f"SELECT count(*) FROM temp.{name}").fetchone()[0])
        for i, ref in enumerate(refs):
            if ref["kind"] == "base":
                known = [n for n in sizes if n is not None]
                cap = f" LIMIT {min(known) + 1}" if known else ""
                sizes[i] = int(conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM {scope} WHERE "
                                            f"{_in(ref['types'], kinds)}{cap})").fetchone()[0])
        anchor = min(range(len(refs)), key=lambda i: int(sizes[i] or 0))
        group = ", ".join(f"lower({g}) AS k_{g}" for g in keys)
        # A nested count's few events are read by seq (CROSS JOIN: in this order; otherwise SQLite walks
        # every event of the scope's types through the type index and looks each seq up in the set).
        source = (f"(SELECT s.* FROM temp.{names[anchor]} AS k CROSS JOIN {scope} AS s WHERE s.seq = k.seq)"
                  if refs[anchor]["kind"] != "base" else f"(SELECT * FROM {scope} WHERE {_in(refs[anchor]['types'], kinds)})")
        conn.execute(f"CREATE TEMP TABLE {KEEP}_anchor AS SELECT seq, effective_at AS ts, {group} FROM {source}")

        # Each other reference's candidates, keyed by group and time for the lookups around the anchor's;
        # only those of a group the anchor has (the anchor is the smallest set: at 1M events a few thousand
        # failed-login bursts against 324k successful logins, which a table and index of all cost 1.3 s).
        others = [j for j in range(len(refs)) if j != anchor]
        anchor_keys = (f"({', '.join(f'lower({g})' for g in keys)}) IN "
                       f"(SELECT {', '.join(f'k_{g}' for g in keys)} FROM temp.{KEEP}_anchor)")
        lookup = _group_index(conn, keys)
        for j in others:
            if refs[j]["kind"] == "base" and lookup is not None:
                _near_through_index(conn, scope, keys[0], lookup, refs[j]["types"], f"{KEEP}_near{j}",
                                    span + int(refs[anchor]["timespan"]) + int(refs[j]["timespan"]))
            else:
                member = (f"seq IN (SELECT seq FROM temp.{names[j]})" if refs[j]["kind"] != "base"
                          else _in(refs[j]["types"], kinds))
                conn.execute(f"CREATE TEMP TABLE {KEEP}_near{j} AS SELECT seq, effective_at AS ts, {group} "
                             f"FROM {scope} WHERE {member} AND {anchor_keys}")
            conn.execute(f"CREATE INDEX temp.{KEEP}_near{j}_at ON {KEEP}_near{j} "
                         f"({', '.join(f'k_{g}' for g in keys)}, ts)")

        def near(j: int) -> str:
            w = span + int(refs[anchor]["timespan"]) + int(refs[j]["timespan"])
            same = " AND ".join(f"d.k_{g} = a.k_{g}" for g in keys)
            return f"{same} AND d.ts BETWEEN a.ts - {w} AND a.ts + {w}"

        exists = " AND ".join(f"EXISTS (SELECT 1 FROM temp.{KEEP}_near{j} AS d WHERE {near(j)})" for j in others)
        conn.execute(f"CREATE TEMP TABLE {KEEP} AS SELECT seq FROM temp.{KEEP}_anchor AS a WHERE {exists}")
        conn.execute(f"DELETE FROM temp.{KEEP}_anchor WHERE seq NOT IN (SELECT seq FROM temp.{KEEP})")
        for j in others:
            conn.execute(f"INSERT INTO temp.{KEEP} SELECT DISTINCT d.seq FROM temp.{KEEP}_anchor AS a "
                         f"JOIN temp.{KEEP}_near{j} AS d ON {near(j)}")
    finally:
        for name in (*names, f"{KEEP}_anchor", *(f"{KEEP}_near{j}" for j in range(len(refs))), *(f"{KEEP}_{n}" for n in ("spans", "spellings", "ranges"))):
            conn.execute(f"DROP TABLE IF EXISTS temp.{name}")


def _group_index(conn: sqlite3.Connection, keys: list[str]) -> tuple[str, str] | None:
    """(column, index) when the correlation groups by one field the archive keeps as a column with an
    index on ``(column, effective_at)`` (`archive._schema.SECONDARY_INDEXES`: actor, e-mail, key,
    project, IP, target), else None."""
    from openapiopenai.fields import FIELDS_BY_NAME

    if len(keys) != 1 or keys[0] not in FIELDS_BY_NAME or (column := FIELDS_BY_NAME[keys[0]].column) is None:
        return None
    for (name,) in conn.execute("SELECT name FROM main.sqlite_master WHERE type = 'index' AND tbl_name = 'audit_logs'"
                                " AND name NOT LIKE 'sqlite_%' ORDER BY name"):
        info = conn.execute(f"PRAGMA main.index_info({_quote(name)})").fetchall()
        if [r[2] for r in info[:2]] == [column, "effective_at"]:
            return column, name
    return None


def _near_through_index(conn: sqlite3.Connection, scope: str, key: str, lookup: tuple[str, str],
                        types: list[str], into: str, width: int) -> None:
    """``into``: a base reference's events of ``scope`` of an anchor's group within ``width`` seconds of
    it, read through the group column's index around the anchors rather than over every event of the
    reference's types (at 1M events the sign-in correlation's 324k successful logins, 2 s, against a few
    thousand events near the failed-login bursts).

    Groups compare lowered, the index holds the archive's own spellings: each anchor group is looked up
    under every spelling the column holds of it (a walk of the index's distinct values, a seek each).
    The spans of one group are merged, so no event is read twice."""
    column, index = lookup
    spans: list[tuple[str, int, int]] = []
    for k, ts in conn.execute(f"SELECT k_{key}, ts FROM temp.{KEEP}_anchor WHERE k_{key} IS NOT NULL"
                              f" AND ts IS NOT NULL ORDER BY 1, 2"):
        lo, hi = int(ts) - width, int(ts) + width
        if spans and spans[-1][0] == k and lo <= spans[-1][2]:
            spans[-1] = (k, spans[-1][1], max(hi, spans[-1][2]))
        else:
            spans.append((k, lo, hi))
    conn.execute(f"CREATE TEMP TABLE {KEEP}_spans (k, lo INTEGER, hi INTEGER)")
    conn.executemany(f"INSERT INTO temp.{KEEP}_spans VALUES (?, ?, ?)", spans)
    col = _quote(column)
    # Bounded by the column's distinct values: each step is the next larger one, and the walk ends at NULL.
    conn.execute(f"CREATE TEMP TABLE {KEEP}_spellings AS WITH RECURSIVE walk(v) AS ("
                 f"SELECT (SELECT min({col}) FROM main.audit_logs WHERE {col} IS NOT NULL) UNION ALL "
                 f"SELECT (SELECT min({col}) FROM main.audit_logs WHERE {col} > walk.v) FROM walk WHERE walk.v IS NOT NULL) "
                 f"SELECT lower(v) AS k, v FROM walk WHERE v IS NOT NULL AND lower(v) IN (SELECT k FROM temp.{KEEP}_spans)")
    # Spans by spelling, then one index range each (CROSS JOIN: in this order, so each lookup is a range of
    # (value, time) in the index, not every event of the value).
    conn.execute(f"CREATE TEMP TABLE {KEEP}_ranges AS SELECT s.v AS v, w.lo AS lo, w.hi AS hi "
                 f"FROM temp.{KEEP}_spans AS w JOIN temp.{KEEP}_spellings AS s ON s.k = w.k")
    conn.execute(f"CREATE TEMP TABLE {into} AS SELECT d.seq AS seq, d.effective_at AS ts, lower(d.{col}) AS k_{key} "
                 f"FROM temp.{KEEP}_ranges AS r CROSS JOIN main.audit_logs AS d INDEXED BY {_quote(index)} "
                 f"WHERE d.{col} = r.v AND d.effective_at BETWEEN r.lo AND r.hi "
                 f"AND {_in(types, None).replace('lower(type)', 'lower(d.type)', 1)} "
                 f"AND EXISTS (SELECT 1 FROM {scope} AS e WHERE e.seq = d.seq)")
    for name in ("spans", "spellings", "ranges"):
        conn.execute(f"DROP TABLE temp.{KEEP}_{name}")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
