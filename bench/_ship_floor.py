"""The floors of rows 8 and 9, run as their own process: the least work that moves the same rows.

    python -m bench._ship_floor postgresql ARCHIVE CONNINFO TABLE   # one binary COPY of the rows, psycopg 3
    python -m bench._ship_floor jsonl ARCHIVE FILE                  # the raw column into one file, fsync'd

Both read the archive in `seq` order as `ship` does, in batches of 10,000, and only the columns they
write; neither keeps a ledger, partitions by day, makes a file per batch or retries. The PostgreSQL floor
is one transaction (one WAL flush) of one COPY in the format `ship` uses, binary (PostgreSQL parses no
text rows), into the table `ship` creates, so what is left between the two is the shipper's own work:
its ledger, its batches' commits and the archive read.
"""

from __future__ import annotations

import os
import sqlite3
import sys

_BATCH = 10_000
_LOOKUP = "tenant, actor_type, actor_id, actor_email, api_key_id, project_id, ip_address, resource_id"
_PG_EPOCH = 946_684_800   # PostgreSQL's timestamps count microseconds from 2000-01-01


def _batches(archive: str, columns: str) -> sqlite3.Cursor:
    conn = sqlite3.connect(f"file:{archive}?mode=ro", uri=True)
    return conn.execute(f"SELECT {columns} FROM audit_logs ORDER BY seq")


def postgresql(archive: str, conninfo: str, table: str) -> None:
    import psycopg

    from openapiopenai.sinks.postgresql import table_sql

    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        for statement in table_sql(table):   # the very table `ship` creates
            cur.execute(statement)
        rows = _batches(archive, f"id, effective_at, type, {_LOOKUP}, CAST(raw AS BLOB)")
        with cur.copy(f"COPY {table} (id, effective_at, type, tenant, actor_type, actor_id, actor_email,"
                      " api_key_id, project_id, ip_address, resource_id, event, raw) FROM STDIN (FORMAT BINARY)") as copy:
            # Field bytes as the columns' binary input reads them: timestamptz an int8 of microseconds,
            # jsonb a version byte and the JSON text.
            copy.set_types(["text", "int8", "text", "bool", *["text"] * 7, "bytea", "bytea"])
            while batch := rows.fetchmany(_BATCH):
                for r in batch:
                    copy.write_row((r[0], (r[1] - _PG_EPOCH) * 1_000_000, r[2], bool(r[3]), *r[4:11],
                                    b"\x01" + r[11], r[11]))


def jsonl(archive: str, path: str) -> None:
    with open(path, "wb") as out:
        rows = _batches(archive, "CAST(raw AS BLOB)")
        while batch := rows.fetchmany(_BATCH):
            out.write(b"\n".join([r[0] for r in batch]) + b"\n")
        out.flush()
        os.fsync(out.fileno())


if __name__ == "__main__":
    kind, *args = sys.argv[1:]
    {"postgresql": postgresql, "jsonl": jsonl}[kind](*args)
