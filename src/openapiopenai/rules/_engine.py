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
are read once, for all of them together, at the end. Plain rules bounded by the same types that read
the same field computed from the JSON run as one batch over one read of those events (`_together`).
"""

from __future__ import annotations

import collections
import contextlib
import copy
import itertools
import json
import operator
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from openapiopenai.archive._views import DETECT_STATE_SQL
from openapiopenai.fields import FIELDS
from openapiopenai.rules._catalog import LEVELS, RuleError, RuleInfo, RuleSet
from openapiopenai.rules._shown import country_and_name
from openapiopenai.rules._source import (
    archive_types,
    columns_sql,
    forget_field_table,
    has_type_index,
    spellings,
    types_term,
)

__all__ = ["Match", "Scope", "compile_rules", "detect", "each_match", "new_position", "save_position"]

_SCOPE = "detect_scope"
#: SQLite's own upper bound for a memory map (SQLITE_MAX_MMAP_SIZE's default); a larger value is clamped.
_MMAP_BYTES = 0x7FFF0000
_SELECT_HEAD = f"SELECT * FROM {_SCOPE} WHERE "
#: The columns a match reports, per event, read with its JSON text (`_shown` reads the country and the
#: target's name from it).
_SHOWN = ("id", "effective_at", "time", "type", "actor_id", "user_email", "ip_address", "target_id")
_FIELD_NAMES = tuple(f.name for f in FIELDS)
#: The fields computed from the event's JSON (no column of ``audit_logs`` holds them: `rules._source`).
_COMPUTED = frozenset(f.name for f in FIELDS if f.column is None and f.name != "time")
#: The second connection's settings (see `_Beside`).
_THREAD_PRAGMAS = ("temp_store = MEMORY",)


class Match(msgspec.Struct, frozen=True, gc=False):
    """One alert: a rule, the events it matched, and who, where from and on what.

    (A frozen msgspec struct, not a frozen dataclass: at 1M events ~170k are made, and a frozen
    dataclass's ``__init__`` sets each of the eleven fields through ``object.__setattr__``, ~3.5 us a
    match against ~0.3; msgspec writes it field by field in this order, as `to_json` does.)
    """

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
            shape = _prune.describe(rules[item["id"]], _rule_types, _FIELD_NAMES) if item["id"] in rules else None
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
    over the rows whose type is one of the archive's spellings of its bound's (`rules._source.spellings`),
    through the archive's type index.
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


def _define_scope(conn: sqlite3.Connection, terms: Sequence[str], *, by_seq: bool = False) -> None:
    conn.execute(f"DROP VIEW IF EXISTS temp.{_SCOPE}")
    where = " AND ".join(terms) or "1"
    # A --new run looks at a short range of rows: read it by rowid, never through the type index, which
    # SQLite (without statistics) would otherwise pick for `type = ...` and walk every event of the type.
    hint = " NOT INDEXED" if by_seq else ""
    # (``raw``: not a field, no rule names it; read only for the matches, see `_shown`.)
    conn.execute(f"CREATE TEMP VIEW {_SCOPE} AS SELECT {columns_sql()}, a.raw AS raw FROM main.audit_logs AS a{hint} "
                 f"WHERE {where}")


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


def _types_taken(conn: sqlite3.Connection, sql: str, kinds: Sequence[str]) -> list[str]:
    """Of the archive's ``kinds``, those a rule reading only ``type`` matches (its query over one row each)."""
    head = f"SELECT seq FROM {_SCOPE} WHERE "
    return [t for (t,) in conn.execute(f"SELECT type FROM (SELECT value AS type FROM json_each(?)) WHERE "
                                      f"{sql[len(head):]}", (json.dumps(list(kinds)),))]


def _narrowed(sql: str, kinds: Sequence[str]) -> str:
    """A plain rule's query over only the rows of the archive's ``kinds`` (its bound's spellings, read
    through the type index), returning each match's seq and `_SHOWN` columns. (Not for a short range of
    new rows: read by seq.)"""
    head = f"SELECT seq FROM {_SCOPE} WHERE "
    return f"SELECT seq, {', '.join(_SHOWN)}, raw FROM {_SCOPE} WHERE {types_term(kinds)} AND ({sql[len(head):]})"


def detect(conn: sqlite3.Connection, compiled: Compiled, scope: Scope = Scope(), *, readonly: bool = False,
           prune: bool = True) -> list[Match]:
    """Every match of the compiled rules among the events of ``scope``, oldest first.

    Reads the archive's ``audit_logs`` (see `rules._source`); a writable archive that still has the retired
    ``detect_fields`` table loses it first.
    ``prune=False`` runs every correlation plan over all events of its types (see `_prune`; the tests
    compare both ways).
    """
    matches = list(each_match(conn, compiled, scope, readonly=readonly, prune=prune, mapped=True))
    # Matches of equal time, level and title keep the order of their rules in the set (plain rules, then
    # correlations), whichever connection ran them; each rule's own matches come in its query's order.
    infos = [info for info, _, _ in compiled.events] + [info for info, _, _, _ in compiled.correlations]
    position = {info.id: i for i, info in enumerate(infos)}
    # A match's level and title are its rule's (one info per id: `compile_rules`), so the key's tail is
    # one rank per rule; sorted by it, then (stably) by time alone, which Python compares as plain text:
    # at 1M events ~170k matches sort in 40 % of a sort on the whole tuple.
    tails = {info.id: (LEVELS.index(info.level), info.title, position[info.id]) for info in infos}
    rank = {rule_id: n for n, rule_id in enumerate(sorted(tails, key=tails.__getitem__))}
    matches.sort(key=lambda m: rank.get(m.rule_id, 0))
    matches.sort(key=operator.attrgetter("time"))
    return matches


def each_match(conn: sqlite3.Connection, compiled: Compiled, scope: Scope = Scope(), *, readonly: bool = False,
               prune: bool = True, mapped: bool = False) -> Iterator[Match]:
    """`detect`'s matches one at a time, rule after rule, in no particular order: for a caller that folds
    them (the report counts ~170k at 1M events and shows 200), without holding them all. The connection
    must not be used for anything else until the iteration ends. Each rule's matches come in the order its
    query gives them (those of two rules may interleave).

    A whole-archive or ``--since`` run shares the work with a second, read-only connection to the same
    file, in a thread: it runs the correlations, then takes plain rules (`_batches`) from the same queue as
    this one, largest first, until none is left (SQLite runs without Python's lock, and at 1M events the
    rules are ~8 s of CPU: one connection alone leaves the second core idle for most of it; measured, the
    two end within a few ms of each other). The thread keeps its temporary tables (the correlation plans'
    stages) in memory, not in a temporary file: ~0.4 s of system time at 1M events. Both see the archive up
    to the same seq (the newest when the run starts), so an event a sync adds meanwhile is in neither.

    ``mapped``: read the archive through a memory map while the rules run. The rules read the archive's
    pages many times over, and a map spares a read() copy each time, but every page touched then counts in
    the process's resident size (clean file pages the kernel may drop): `detect` maps, the report, which
    keeps its memory low, does not. The connection's own setting is put back after.
    """
    if not readonly:
        forget_field_table(conn)
    if scope.upto_seq is None:
        newest = conn.execute("SELECT max(rowid) FROM main.audit_logs").fetchone()[0]
        scope = Scope(scope.since, scope.after_seq, int(newest or 0))
    setting = conn.execute("PRAGMA mmap_size").fetchone()   # none for a database only in memory
    mapped = mapped and setting is not None
    if mapped:
        conn.execute(f"PRAGMA mmap_size = {_MMAP_BYTES}")
    database = conn.execute("PRAGMA database_list").fetchone()[2]   # '' for an archive only in memory
    try:
        kinds = archive_types(conn)
        if scope.after_seq is not None or not database:
            yield from _plain(conn, _batches(compiled.events), scope, kinds)
            yield from _correlated(conn, compiled, scope, kinds, prune=prune)
            return
        queue = _Queue(_largest_first(conn, compiled.events, kinds))
        # The thread's reads are not mapped: a second map of the same file would count every page it
        # touches in the resident size once more (2.4 GB at 1M events instead of 1.2), for ~0.3 s of CPU.
        with _Beside(database) as beside:
            def work(other: sqlite3.Connection) -> None:
                beside.send_all(_correlated(other, compiled, scope, kinds, prune=prune))
                for batch in queue:
                    beside.send_all(_plain(other, [batch], scope, kinds))

            beside.start(work)
            for batch in queue:
                for n, match in enumerate(_plain(conn, [batch], scope, kinds), 1):
                    yield match
                    if not n % _Beside.BATCH:   # now and then, so the thread seldom waits for room
                        yield from beside.ready()
                yield from beside.ready()
            yield from beside.rest()
    finally:
        if mapped and setting is not None:
            conn.execute(f"PRAGMA mmap_size = {int(setting[0])}")


_Rule = tuple[RuleInfo, str, tuple[str, ...] | None]


class _Queue:
    """The batches of plain rules left to run, taken by both connections (``popleft`` is atomic)."""

    def __init__(self, batches: Iterable[list[_Rule]]) -> None:
        self.batches = collections.deque(batches)

    def __iter__(self) -> Iterator[list[_Rule]]:
        while True:
            try:
                yield self.batches.popleft()
            except IndexError:
                return


def _batches(rules: Iterable[_Rule]) -> list[list[_Rule]]:
    """The rules in the batches `_plain` runs them in: rules bounded by the same types that read a same
    field computed from the event's JSON together (one read of those events computes it once for all:
    the two API-key scope rules, ~72k events at 1M), every other rule alone; in the rules' order."""
    out: list[list[_Rule]] = []
    together: dict[tuple[tuple[str, ...], str], list[_Rule]] = {}
    for rule in rules:
        info, _, types = rule
        computed = sorted(f for f in info.fields if f in _COMPUTED)
        batch = None
        if types is not None:
            batch = next((together[types, f] for f in computed if (types, f) in together), None)
        if batch is None:
            batch = []
            out.append(batch)
        batch.append(rule)
        if types is not None:
            for f in computed:
                together.setdefault((types, f), batch)
    return out


def _largest_first(conn: sqlite3.Connection, rules: Sequence[_Rule], kinds: Sequence[str]) -> list[list[_Rule]]:
    """The rules' batches (`_batches`), those that read the most events first, so the two connections
    end close together (the last taken is a small one). A rule bounded by type reads the events of its
    types (counted in the type index: ~20 ms at 1M events); one that is not reads every event, except the
    drift rule, which is asked per type (`_plain`)."""
    batches = _batches(rules)
    if not has_type_index(conn):
        return batches
    counts: dict[tuple[str, ...], int] = {}

    def cost(batch: list[_Rule]) -> int:
        info, _, types = batch[0]
        if types is None:
            return 0 if set(info.fields) <= {"type"} else 1 << 62
        if types not in counts:
            counts[types] = int(conn.execute(f"SELECT count(*) FROM main.audit_logs WHERE "
                                             f"{types_term(spellings(types, kinds))}").fetchone()[0])
        return counts[types] * len(batch)

    return sorted(batches, key=cost, reverse=True)


class _Beside:
    """A thread with its own read-only connection to the archive file, running one function on it that
    sends its matches back in batches, through a short queue (at most `WAITING` batches wait: the report,
    which folds the matches as they come, keeps its memory low). Leaving interrupts it if it is still
    running (the caller stopped early or failed), waits for it and closes."""

    BATCH = 2000
    WAITING = 4

    def __init__(self, database: str) -> None:
        import queue
        from concurrent.futures import ThreadPoolExecutor

        self.database = database
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="detect-beside")
        self.conn: sqlite3.Connection | None = None
        self.future: Any = None
        self.sent: queue.Queue[list[Match] | None] = queue.Queue(self.WAITING)
        self.stopped = False

    def __enter__(self) -> _Beside:
        return self

    def start(self, work: Any) -> None:
        self.future = self.pool.submit(self._run, work)

    def _run(self, work: Any) -> None:
        from pathlib import Path

        from openapiopenai.archive._schema import _connect

        try:
            self.conn = conn = _connect(Path(self.database), readonly=True)
            for pragma in _THREAD_PRAGMAS:
                conn.execute(f"PRAGMA {pragma}")
            try:
                work(conn)
            finally:
                conn.close()
        finally:
            self.sent.put(None)   # the end, whatever happened (the future holds a failure)

    def send_all(self, matches: Iterable[Match]) -> None:
        """Send ``matches`` in batches, in their order (waiting for room); `_Stopped` once the caller has left."""
        it = iter(matches)
        while batch := list(itertools.islice(it, self.BATCH)):
            if self.stopped:
                raise _Stopped
            self.sent.put(batch)

    def ready(self) -> Iterator[Match]:
        """The matches sent so far, without waiting."""
        import queue

        while True:
            try:
                batch = self.sent.get_nowait()
            except queue.Empty:
                return
            if batch is None:
                self.sent.put(None)   # kept for `rest`
                return
            yield from batch

    def rest(self) -> Iterator[Match]:
        """Every match still to come, waiting for the thread to end; its failure is raised here."""
        while (batch := self.sent.get()) is not None:
            yield from batch
        self.future.result()

    def __exit__(self, *exc: object) -> None:
        if self.future is not None and not self.future.done():
            self.stopped = True
            if self.conn is not None:
                with contextlib.suppress(sqlite3.ProgrammingError):   # closed meanwhile: it has just finished
                    self.conn.interrupt()
            # Taken so that a send waiting for room returns (and then stops) instead of blocking the thread.
            while self.sent.get() is not None:
                pass
        self.pool.shutdown(wait=True)


class _Stopped(Exception):
    """The caller left before the thread's work was done."""


def _plain(conn: sqlite3.Connection, batches: Iterable[list[_Rule]], scope: Scope,
           kinds: Sequence[str]) -> Iterator[Match]:
    """The matches of the plain (single-event) rules, in the batches `_batches` made of them."""
    by_seq = scope.after_seq is not None
    try:
        _define_scope(conn, _window(scope), by_seq=by_seq)
        for batch in batches:   # made by `_batches`
            types = batch[0][2]
            if len(batch) > 1 and not by_seq and types is not None:
                if spelled := spellings(types, kinds):
                    yield from _together(conn, batch, spelled)
                continue
            for info, sql, types in batch:
                yield from _alone(conn, info, sql, types, by_seq, kinds)
    finally:
        conn.execute(f"DROP VIEW IF EXISTS temp.{_SCOPE}")


def _alone(conn: sqlite3.Connection, info: RuleInfo, sql: str, types: tuple[str, ...] | None, by_seq: bool,
           kinds: Sequence[str]) -> Iterator[Match]:
    """One plain rule's matches."""
    if types is None and not by_seq and set(info.fields) <= {"type"}:
        # A rule of any type that reads nothing else (the drift rule) says the same of every event
        # of one type: it is asked once per type the archive has, and only the types it takes are
        # read (at 1M events 0.6 s of comparisons against the type list becomes ~70).
        taken = _types_taken(conn, sql, kinds)
        if taken:
            yield from (_single(info, row[1:]) for row in conn.execute(_narrowed(sql, taken)))
    elif types is None or by_seq:
        yield from _describe(conn, [(info, [row[0]]) for row in conn.execute(sql)])
    elif spelled := spellings(types, kinds):   # (none: the archive has no event the rule could match)
        yield from (_single(info, row[1:]) for row in conn.execute(_narrowed(sql, spelled)))


def _together(conn: sqlite3.Connection, batch: list[_Rule], kinds: Sequence[str]) -> Iterator[Match]:
    """A batch's rules (the same types, a computed field in common: `_batches`) over one read of the
    events of ``kinds``: the fields they read are computed once an event, into a table (without the JSON
    text, read again by seq for the events that match), and each rule's condition is a flag on its rows
    (at 1M events the scopes of 72k API-key events, 1.8 -> 1.3 s). Each rule's matches come in the order
    its own query gives them (the type index's)."""
    head = f"SELECT seq FROM {_SCOPE} WHERE "
    fields = [f for f in dict.fromkeys(f for info, _, _ in batch for f in info.fields) if f not in _SHOWN]
    flags = [f"({sql[len(head):]}) AS m{i}" for i, (_, sql, _) in enumerate(batch)]
    query = (f"WITH shared AS MATERIALIZED (SELECT {', '.join(['seq', *_SHOWN, *fields])} FROM {_SCOPE} "
             f"WHERE {types_term(kinds)}) "
             f"SELECT * FROM (SELECT {', '.join(['seq', *_SHOWN])}, (SELECT a.raw FROM main.audit_logs AS a "
             f"WHERE a.seq = shared.seq) AS raw, {', '.join(flags)} FROM shared) "
             f"WHERE {' OR '.join(f'm{i}' for i in range(len(batch)))}")
    infos = [info for info, _, _ in batch]
    width = 2 + len(_SHOWN)   # seq, the shown columns, raw; then a flag a rule
    for row in conn.execute(query):
        shown = row[1:width]
        for info, flag in zip(infos, row[width:], strict=True):
            if flag:
                yield _single(info, shown)


def _correlated(conn: sqlite3.Connection, compiled: Compiled, scope: Scope, kinds: Sequence[str], *,
                prune: bool) -> Iterator[Match]:
    """The alerts of the correlation rules."""
    from openapiopenai.rules import _prune
    from openapiopenai.rules._plan import run_plan

    try:
        new_ids: set[int] | None = None
        new_types: set[str] = set()
        earliest: int | None = None
        if scope.after_seq is not None:
            _define_scope(conn, _window(scope), by_seq=True)
            rows = conn.execute(f"SELECT seq, effective_at, type FROM {_SCOPE}").fetchall()
            new_ids = {r[0] for r in rows}
            new_types = {r[2] for r in rows}
            earliest = min((r[1] for r in rows), default=None)
        memos: dict[tuple[str, ...], dict[str, list[int]]] = {}
        indexed = has_type_index(conn)
        for info, plan, types, shape in compiled.correlations:
            if new_ids is not None and (earliest is None or (types is not None and not new_types.intersection(types))):
                continue   # no new event this correlation could count: no alert can include one
            terms = [] if types is None else [types_term(spellings(types, kinds))]
            if new_ids is not None and earliest is not None:
                terms.append(f"effective_at >= {int(earliest) - info.timespan_s}")
                if scope.upto_seq is not None:
                    terms.append(f"seq <= {int(scope.upto_seq)}")
            else:
                terms += _window(scope)
            _define_scope(conn, terms)
            if prune and shape is not None:
                # (The memo by window: the terms beside the correlation's own types.)
                memo = memos.setdefault(tuple(terms[1:] if types is not None else terms), {})
                _prune.keep(conn, _SCOPE, shape, kinds if indexed else None, memo)
                if conn.execute(f"SELECT 1 FROM temp.{_prune.KEEP} LIMIT 1").fetchone() is None:
                    continue   # no event of any possible alert: the plan would find nothing
                _define_scope(conn, [*terms, f"seq IN (SELECT seq FROM temp.{_prune.KEEP})"], by_seq=True)
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
    """The alert of a rule that matched one event (the event's `_SHOWN` columns and its JSON text).

    (Written out for the common case, text columns, with `_one` only for another kind of value: this
    runs for ~170k matches at 1M events.)"""
    country, name = country_and_name(e[8], e[3])
    at, event_id, event_type, actor, ip = e[2], e[0], e[3], e[5] or e[4], e[6]
    target = name or e[7] or None
    return Match(info.id, info.title, info.level, at if at.__class__ is str else str(at),
                 (event_id if event_id.__class__ is str else str(event_id),),
                 actor if actor is None or actor.__class__ is str else _one(actor),
                 ip if ip is None or ip.__class__ is str else _one(ip), country,
                 target if target is None or target.__class__ is str else _one(target),
                 (event_type if event_type.__class__ is str else str(event_type),))


def _describe(conn: sqlite3.Connection, found: list[tuple[RuleInfo, list[int]]]) -> list[Match]:
    wanted = sorted({i for _, ids in found for i in ids})
    rows: dict[int, tuple[Any, ...]] = {}
    for start in range(0, len(wanted), 5000):
        chunk = json.dumps(wanted[start:start + 5000])
        for row in conn.execute(f"SELECT {columns_sql(_SHOWN)}, a.raw FROM main.audit_logs AS a WHERE a.seq IN "
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
        shown = [country_and_name(e[8], e[3]) for e in events]
        matches.append(Match(
            info.id, info.title, info.level, str(events[-1][2]), tuple(str(e[0]) for e in events),
            _summary(e[5] or e[4] for e in events), _summary(e[6] for e in events), _summary(c for c, _ in shown),
            _summary(n or e[7] for e, (_, n) in zip(events, shown, strict=True) if e[7] or n),
            tuple(dict.fromkeys(str(e[3]) for e in events))))
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
