"""The floors of rows 8 and 9, run as their own process: the least work that moves the same rows.

    python -m bench._ship_floor postgresql ARCHIVE CONNINFO TABLE   # one COPY of the rows, psycopg 3
    python -m bench._ship_floor jsonl ARCHIVE FILE                  # raw lines into one file, fsync'd

Both read the archive in `seq` order as `ship` does; neither keeps a ledger, partitions or retries.
"""

from __future__ import annotations

import datetime
import os
import sqlite3
import sys

_SELECT = ("SELECT id, effective_at, type, tenant, actor_type, actor_id, actor_email, api_key_id, project_id,"
           " ip_address, resource_id, raw FROM audit_logs ORDER BY seq")


def _rows(archive: str) -> sqlite3.Cursor:
    conn = sqlite3.connect(f"file:{archive}?mode=ro", uri=True)
    return conn.execute(_SELECT)


def postgresql(archive: str, conninfo: str, table: str) -> None:
    import psycopg

    utc = datetime.UTC
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        # The table `ship` creates, so both write the same rows into the same shape.
        cur.execute(f"CREATE TABLE {table} (id text PRIMARY KEY, effective_at timestamptz NOT NULL,"
                    " type text NOT NULL, tenant boolean NOT NULL DEFAULT false, actor_type text, actor_id text,"
                    " actor_email text, api_key_id text, project_id text, ip_address text, resource_id text,"
                    " event jsonb NOT NULL, raw text NOT NULL, shipped_at timestamptz NOT NULL DEFAULT now())")
        cur.execute(f"CREATE INDEX ON {table} (effective_at)")
        with cur.copy(f"COPY {table} (id, effective_at, type, tenant, actor_type, actor_id, actor_email,"
                      " api_key_id, project_id, ip_address, resource_id, event, raw) FROM STDIN") as copy:
            for row in _rows(archive):
                copy.write_row((row[0], datetime.datetime.fromtimestamp(row[1], utc), row[2], bool(row[3]),
                                *row[4:11], row[11], row[11]))


def jsonl(archive: str, path: str) -> None:
    with open(path, "w", encoding="utf-8") as out:
        cursor = _rows(archive)
        while batch := cursor.fetchmany(1000):
            out.write("".join(row[11] + "\n" for row in batch))
        out.flush()
        os.fsync(out.fileno())


if __name__ == "__main__":
    kind, *args = sys.argv[1:]
    {"postgresql": postgresql, "jsonl": jsonl}[kind](*args)
