"""What the rules read: ``audit_logs`` itself, each field named and computed as the ``events`` view does.

No copy of the events is made for the detections. The archive's own ``audit_logs`` table already holds,
as plain columns written by the sync from the same facts, every field but the payload's (`fields.Field.column`:
type, time, actor, e-mail, key, project, IP, target), and its ``audit_logs_type`` index on
``(type, effective_at)`` is what a rule bounded by type needs. Every shipped rule is bounded by type but
the drift rule, which reads only ``type``; the few fields beyond the columns (a payload's role, scopes,
e-mail, error code) are computed with the view's own SQL (`archive._views.column_sql`), and SQLite
computes a view's column only for the rows that reach it: the candidates of the rules that name it.
(The country and target name a match shows are read from its JSON in Python: `rules._shown`.)

Why not a table of the fields (what ``detect_fields`` was, until this module): building it read and
decoded every event in Python, ~39 us an event (47 s for an archive's first `detect` at 1M events, on two
cores), to save the rules a few seconds on each later run. Read here, the first run costs what every run
costs. An archive that still has that table loses it, and its trigger, on its next writable run
(`forget_field_table`).

Sigma compares ``type`` case-insensitively (``=`` or ``LIKE`` as the backend writes it), which the index on
``type`` itself does not answer; so a rule's bound is turned into the archive's own spellings of those
types (`archive_types`, a walk of the index's distinct values) and read as ``type IN (...)``.
"""

from __future__ import annotations

import sqlite3
import string
from collections.abc import Iterable, Sequence

from openapiopenai.archive._views import column_sql
from openapiopenai.fields import FIELDS, FIELDS_BY_NAME

__all__ = ["LEGACY_TABLE", "TYPE_INDEX", "archive_types", "columns_sql", "forget_field_table", "has_type_index",
           "spellings", "types_term"]

#: The retired field table and its trigger (dropped by `forget_field_table`).
LEGACY_TABLE = "detect_fields"
_LEGACY_TRIGGER = "detect_fields_forget"
#: The archive's index on ``(type, effective_at)`` (`archive._schema.SECONDARY_INDEXES`).
TYPE_INDEX = "audit_logs_type"
# SQLite's lower() and LIKE fold ASCII letters only; so does this.
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def columns_sql(names: Iterable[str] | None = None) -> str:
    """The select list of the fields ``names`` (all, when None) over ``audit_logs AS a``, each ``AS`` its
    field name, in that order after ``seq``: the archive's column where it keeps one, else the view's expression."""
    fields = FIELDS if names is None else [FIELDS_BY_NAME[name] for name in names]
    return ", ".join(["a.seq AS seq", *(f"{'a.' + f.column if f.column is not None else column_sql(f.name)} AS {f.name}"
                                        for f in fields)])


def archive_types(conn: sqlite3.Connection) -> list[str]:
    """Every distinct ``type`` of the archive: a skip through the type index (a seek per type, not a read
    per event), or one scan when the index is missing (a back-fill drops it until it ends)."""
    if not has_type_index(conn):
        return [t for (t,) in conn.execute("SELECT DISTINCT type FROM main.audit_logs")]
    # Bounded by the number of types: each step is the next larger value, and the walk ends at NULL.
    return [t for (t,) in conn.execute(
        "WITH RECURSIVE kinds(t) AS (SELECT (SELECT min(type) FROM main.audit_logs)"
        " UNION ALL SELECT (SELECT min(type) FROM main.audit_logs WHERE type > kinds.t) FROM kinds"
        " WHERE kinds.t IS NOT NULL) SELECT t FROM kinds WHERE t IS NOT NULL")]


def has_type_index(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM main.sqlite_master WHERE type = 'index' AND name = ?",
                        (TYPE_INDEX,)).fetchone() is not None


def spellings(bound: Iterable[str], types: Sequence[str]) -> list[str]:
    """The archive's ``types`` equal to one of ``bound`` as SQLite's ``lower`` compares them."""
    wanted = {t.translate(_ASCII_LOWER) for t in bound}
    return [t for t in types if t.translate(_ASCII_LOWER) in wanted]


def types_term(types: Sequence[str]) -> str:
    """``type IN (...)`` of these exact types (``0``: none), answered by the type index."""
    if not types:
        return "0"
    return "type IN (" + ", ".join("'" + t.replace("'", "''") + "'" for t in types) + ")"


def forget_field_table(conn: sqlite3.Connection) -> None:
    """Drop the retired ``detect_fields`` table and its trigger, if this (writable) archive has them."""
    kept = conn.execute("SELECT 1 FROM main.sqlite_master WHERE name IN (?, ?)",
                        (LEGACY_TABLE, _LEGACY_TRIGGER)).fetchone()
    if kept is None:
        return   # the common case: nothing to write, so no write lock is taken
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(f"DROP TRIGGER IF EXISTS main.{_LEGACY_TRIGGER}")
        conn.execute(f"DROP TABLE IF EXISTS main.{LEGACY_TABLE}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
