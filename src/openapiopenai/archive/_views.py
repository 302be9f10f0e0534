"""The archive's ``events`` view: one flat row per event with the analyst's fields, in plain SQL.

Every column expression is generated from `openapiopenai.fields.FIELDS` (the same declaration the
detection rules, the docs and the Python readers use), so the view and ``anatomy.facts`` cannot say
different things about an event; the tests compare them for every emulator event and for odd shapes.
The view holds only SQLite's own JSON functions (3.9+; ``iif``-free, so any ``sqlite3`` shell reads it),
no Python function: an analyst's ``sqlite3 audit.sqlite 'SELECT * FROM events'`` works as the CLI does.

A writable open keeps the file's view in step with this version (created when missing, replaced when its
text differs, under the write lock); a read-only open gets the same view as a TEMP view, so an archive
written by an older version, or one this process may not write, still reads with today's columns.

Also here: ``detect_state``, the position ``audit-logs detect --new`` keeps (created, ``IF NOT EXISTS``,
by the first ``--new`` run that saves a position, so an archive no one runs ``--new`` on never has it).

Speed: a view is computed when read, so a query pays ``json_extract`` only for the rows it reaches and
the columns it names. Queries that first narrow on ``type`` or ``effective_at`` (real columns, indexed)
parse only the events they keep; see ``docs/detections.md`` for the measured cost.
"""

from __future__ import annotations

import re
import sqlite3

from openapiopenai.fields import FIELDS, FIELDS_BY_NAME, Field

__all__ = ["DETECT_STATE_SQL", "VIEW_COLUMNS", "VIEW_NAME", "column_sql", "ensure_views", "view_sql"]

VIEW_NAME = "events"
#: The view's columns: every field of `FIELDS`, then the archive's own order of arrival and the raw JSON.
VIEW_COLUMNS: tuple[str, ...] = (*(f.name for f in FIELDS), "archived_seq", "raw")

DETECT_STATE_SQL = """CREATE TABLE IF NOT EXISTS detect_state (
    name       TEXT PRIMARY KEY,   -- 'new': the position of `audit-logs detect --new`
    last_seq   INTEGER NOT NULL,   -- the highest audit_logs rowid (archived_seq) already looked at
    updated_at REAL NOT NULL
)"""

_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# A type that names its payload key with only these characters reads the payload; anything else (a quote
# would break the JSON path) reads as having none. Every published type is of this shape.
_PAYLOAD_KEY_OK = "a.type <> '' AND a.type NOT GLOB '*[^A-Za-z0-9_.:-]*'"


def _path(path: str) -> str:
    labels = path.split(".")
    if not all(_LABEL.match(label) for label in labels):
        raise ValueError(f"field path {path!r}: only plain labels are supported")
    return ".".join(labels)


def _absolute(path: str) -> str:
    return f"'$.{_path(path)}'"


def _in_payload(path: str | None) -> str:
    tail = "" if path is None else "." + _path(path)
    return f"'$.\"' || a.type || '\"{tail}'"


def _text(json_path: str) -> str:
    """A JSON string at the path, else NULL; "" is NULL too."""
    return f"nullif(CASE WHEN json_type(a.raw, {json_path}) = 'text' THEN json_extract(a.raw, {json_path}) END, '')"


def _payload_guard(expr: str) -> str:
    return f"CASE WHEN {_PAYLOAD_KEY_OK} THEN {expr} END"


def _expression(field: Field) -> str:
    src = field.source
    kind = src.kind
    if kind == "column":
        return f"a.{src.paths[0]}"
    if kind == "time":
        return "strftime('%Y-%m-%dT%H:%M:%SZ', a.effective_at, 'unixepoch')"
    if kind == "text":
        return _text(_absolute(src.paths[0]))
    if kind == "actor":
        branches = [f"WHEN '{actor}' THEN {_text(_absolute(path))}"
                    for actor, path in zip(("session", "api_key"), src.paths, strict=True) if path]
        return f"CASE json_extract(a.raw, '$.actor.type') {' '.join(branches)} END"
    if kind == "first_of":
        return "coalesce(" + ", ".join(_expression(FIELDS_BY_NAME[name]) for name in src.paths) + ")"
    if kind == "payload":
        texts = [_text(_in_payload(path)) for path in src.paths]
        return _payload_guard(texts[0] if len(texts) == 1 else "coalesce(" + ", ".join(texts) + ")")
    if kind == "text_list":
        whens = []
        for path in src.paths:
            p = _in_payload(path)
            # The elements are walked in the array's own text (json_extract's), not in the whole event's,
            # which json_each would parse again: 2.3x faster over API-key events.
            whens.append(f"WHEN json_type(a.raw, {p}) = 'array' AND NOT EXISTS "
                         f"(SELECT 1 FROM json_each(json_extract(a.raw, {p})) AS j WHERE j.type <> 'text') "
                         f"THEN json_extract(a.raw, {p})")
        return _payload_guard(f"CASE {' '.join(whens)} END")
    if kind == "object":
        p = _in_payload(None)
        return _payload_guard(f"CASE WHEN json_type(a.raw, {p}) = 'object' THEN json_extract(a.raw, {p}) END")
    raise AssertionError(f"unknown field kind {kind!r}")


def column_sql(name: str) -> str:
    """The view's expression of column ``name``, over ``audit_logs AS a``.

    For a query of the table itself that needs one of the view's values: it reads the same value as
    ``SELECT name FROM events`` while keeping the table's indexed columns (``a.actor_email`` ...) at hand.
    """
    return _expression(FIELDS_BY_NAME[name])


def view_sql(*, temporary: bool = False) -> str:
    """The ``CREATE VIEW`` statement of the ``events`` view (``TEMP`` for a read-only connection)."""
    columns = [f"    {_expression(f)} AS {f.name}" for f in FIELDS]
    columns += ["    a.rowid AS archived_seq", "    a.raw AS raw"]
    source = "main.audit_logs" if temporary else "audit_logs"
    head = "CREATE TEMP VIEW" if temporary else "CREATE VIEW"
    return f"{head} {VIEW_NAME} AS SELECT\n" + ",\n".join(columns) + f"\nFROM {source} AS a"


def ensure_views(conn: sqlite3.Connection, *, readonly: bool) -> None:
    """Give this connection the current ``events`` view (in the file when writable, else TEMP)."""
    if readonly:
        conn.execute(f"DROP VIEW IF EXISTS temp.{VIEW_NAME}")
        conn.execute(view_sql(temporary=True))
        return
    wanted = view_sql()
    if _stored(conn) == wanted:
        return   # the common case: nothing to write, so no write lock is taken
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Re-read under the lock: another process may have just brought the view up to date.
        if _stored(conn) != wanted:
            conn.execute(f"DROP VIEW IF EXISTS main.{VIEW_NAME}")
            conn.execute(wanted)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _stored(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT sql FROM main.sqlite_master WHERE type = 'view' AND name = ?", (VIEW_NAME,)).fetchone()
    return None if row is None else str(row[0])
