"""The archive's SQLite schema, and opening a file as an archive without ever harming it.

Opening is where bad input shows up (a directory, a PDF, another program's database, a file written by a
newer version, a locked file), so every check that can be made by reading happens before anything is
written, and each failure is one `ArchiveError` line. A file that fails a check is left byte for byte as
it was.

Durability: WAL with ``synchronous=NORMAL``. A commit is complete once its frames are in the WAL file,
which the OS keeps when the process dies, so a SIGKILL never loses a committed page. Only a power cut or
OS crash can lose the last few commits, and then page and sync state go back together (both are in the
same transaction), so the archive is still consistent and the next sync simply fetches those pages
again. FULL would add an fsync per page for no gain in that guarantee.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from openapiopenai.archive._errors import ArchiveError
from openapiopenai.archive._held import is_held
from openapiopenai.archive._views import ensure_views

log = logging.getLogger("openapiopenai.archive")

__all__ = ["APPLICATION_ID", "ID_INDEX", "SCHEMA_VERSION", "SECONDARY_INDEXES", "build_indexes", "drop_indexes",
           "index_build_sorting", "missing_indexes", "open_archive_db", "split_statements"]

#: ``PRAGMA application_id`` of an archive ("OAIA"), so `file(1)` and we can tell it from other databases.
APPLICATION_ID = 0x4F414941
#: Bumped whenever the schema changes; a newer file is refused rather than misread, an older one migrated
#: in place when opened for writing (`_migrate`).
SCHEMA_VERSION = 4
_SQLITE_MAGIC = b"SQLite format 3\x00"
# Long enough to ride out another process's page commit, short enough that a stuck lock is reported.
_BUSY_TIMEOUT_S = 10.0

#: Delivery to sinks (version 2): one ledger row per sink name, written only by the shipper (`sinks._ledger`).
LEDGER_TABLES = """
CREATE TABLE sink_ledger (
    sink             TEXT PRIMARY KEY,    -- the ledger name: --name, or the sink URL without credentials
    target           TEXT NOT NULL,       -- the sink URL without credentials
    schema           TEXT NOT NULL,       -- raw | ocsf | ecs: what this sink has been sent
    position         INTEGER NOT NULL DEFAULT 0,  -- every event with seq <= position is acknowledged (or dead)
    delivered        INTEGER NOT NULL DEFAULT 0,  -- events acknowledged, duplicates included
    duplicates       INTEGER NOT NULL DEFAULT 0,  -- of those, events the sink said it already had
    batches          INTEGER NOT NULL DEFAULT 0,
    created_at       REAL NOT NULL,
    last_delivery_at REAL,                -- when the last batch was acknowledged
    -- The batch sent and not yet acknowledged, recorded before it is sent: after a crash it is sent again
    -- exactly as it was (same events, same bounds), so a sink that names what it writes by the batch
    -- (files, objects, idempotency keys) overwrites or de-duplicates its own earlier attempt.
    pending_from     INTEGER,             -- seq of its first event ...
    pending_to       INTEGER,             -- ... and of its last
    pending_dead     INTEGER NOT NULL DEFAULT 0   -- 1: a re-send of dead letters (ship --retry-dead)
);
-- Events a sink refused for good (a mapping error): reported, re-sent only by `ship --retry-dead`.
CREATE TABLE sink_dead_letters (
    sink             TEXT NOT NULL REFERENCES sink_ledger (sink),
    seq              INTEGER NOT NULL,
    event_id         TEXT NOT NULL,
    reason           TEXT NOT NULL,
    first_attempt_at REAL NOT NULL,
    last_attempt_at  REAL NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (sink, seq)
);
"""

#: The events (version 3). Version 1 had `id` as the primary key and no `seq`; version 2 declared `id`
#: UNIQUE in the table, an index that cannot be dropped. Version 3 keeps that uniqueness in the named index
#: `audit_logs_id`, which a back-fill into an empty archive can walk without (see `SECONDARY_INDEXES`).
AUDIT_LOGS_TABLE = """
CREATE TABLE audit_logs (
    -- The insertion sequence (archiving order): the rowid made explicit, so VACUUM keeps it and inserts cost
    -- what they did. A sink's ledger position is a seq. Rows are never deleted, so a seq is never reused.
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL,               -- unique: the audit_logs_id index
    effective_at INTEGER NOT NULL,
    type         TEXT NOT NULL,
    tenant       INTEGER NOT NULL DEFAULT 0,  -- 1: fetched with tenant_only (the service's other partition)
    actor_type   TEXT,                        -- session | api_key
    actor_id     TEXT,                        -- the user or service account behind the action
    actor_email  TEXT,
    api_key_id   TEXT,                        -- the key's tracking id, for api_key actors
    project_id   TEXT,
    ip_address   TEXT,                        -- session actors only
    resource_id  TEXT,                        -- the payload's `id`: what the action was done to
    raw          TEXT NOT NULL                -- the event's JSON exactly as the service sent it
);
"""
#: Listing order and the sync's checkpoint order: (effective_at, id), never the timestamp alone. Unique
#: (version 4): an event's effective_at never changes, so it holds whenever the ids are unique, and it is
#: what lets INSERT OR IGNORE absorb a re-read event while a back-fill walks without the id index; the
#: insert probes this index for its position anyway, so the test costs nothing on top (a NOT EXISTS probe
#: per row, as version 3 made it, cost the writer about a fifth of its SQLite time).
AUDIT_LOGS_TIME_INDEX = "CREATE UNIQUE INDEX audit_logs_time ON audit_logs (effective_at, id)"

_SYNC_TABLES = """
-- One row per filter set (Filters.key()): what is known complete, and the walk in progress if any.
CREATE TABLE sync_state (
    filter_key        TEXT PRIMARY KEY,
    covered_from      INTEGER,            -- complete from here (NULL: from the oldest event) ...
    high_water        INTEGER,            -- ... up to here, exclusive (NULL: no walk completed yet)
    run_active        INTEGER NOT NULL DEFAULT 0,
    run_from          INTEGER,            -- the walk in progress covers [run_from, run_upper)
    run_upper         INTEGER,            -- frozen when the walk started
    run_started_at    REAL,
    run_token         TEXT,               -- the sync that owns the walk; a second sync takes it over
    last_completed_at REAL,
    runs_completed    INTEGER NOT NULL DEFAULT 0
);
-- The walk in progress, as time slices, each with its own cursor so a crash resumes every slice.
CREATE TABLE sync_slices (
    filter_key TEXT NOT NULL REFERENCES sync_state (filter_key),
    slice_no   INTEGER NOT NULL,
    lo         INTEGER,                   -- effective_at >= lo (NULL: no lower bound)
    hi         INTEGER NOT NULL,          -- effective_at <  hi
    cursor_id  TEXT,                      -- last committed event: the `after` cursor ...
    cursor_at  INTEGER,                   -- ... and its effective_at, for the restart if the cursor is lost
    pages      INTEGER NOT NULL DEFAULT 0,
    fetched    INTEGER NOT NULL DEFAULT 0,
    done       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (filter_key, slice_no)
);
"""

#: The schema of a new archive.
_SCHEMA = AUDIT_LOGS_TABLE + AUDIT_LOGS_TIME_INDEX + ";\n" + _SYNC_TABLES + LEDGER_TABLES


#: The unique index on the event id (version 3). It is what absorbs a re-read event (INSERT OR IGNORE), and
#: the most expensive index to keep during a back-fill: ids are random, so each new event lands on a random
#: leaf of it, and at a million events it alone doubled the writer's CPU per event. A back-fill into an empty
#: archive therefore walks without it too and de-duplicates by (effective_at, id) on `audit_logs_time`
#: instead (unique since version 4); an event's effective_at never changes, so that is the same test.
ID_INDEX = "audit_logs_id"

#: The lookup indexes (name -> statement), apart from the table: a back-fill into an empty archive walks
#: without them and builds them when its walk completes (see `_sync`). Every query answers without them,
#: only slower; the primary key and `audit_logs_time` are never dropped.
SECONDARY_INDEXES = {
    ID_INDEX: f"CREATE UNIQUE INDEX IF NOT EXISTS {ID_INDEX} ON audit_logs (id)",
    "audit_logs_type": "CREATE INDEX IF NOT EXISTS audit_logs_type ON audit_logs (type, effective_at)",
    "audit_logs_actor": "CREATE INDEX IF NOT EXISTS audit_logs_actor ON audit_logs (actor_id, effective_at)"
                        " WHERE actor_id IS NOT NULL",
    "audit_logs_email": "CREATE INDEX IF NOT EXISTS audit_logs_email ON audit_logs (actor_email, effective_at)"
                        " WHERE actor_email IS NOT NULL",
    "audit_logs_key": "CREATE INDEX IF NOT EXISTS audit_logs_key ON audit_logs (api_key_id, effective_at)"
                      " WHERE api_key_id IS NOT NULL",
    "audit_logs_project": "CREATE INDEX IF NOT EXISTS audit_logs_project ON audit_logs (project_id, effective_at)"
                          " WHERE project_id IS NOT NULL",
    "audit_logs_ip": "CREATE INDEX IF NOT EXISTS audit_logs_ip ON audit_logs (ip_address, effective_at)"
                     " WHERE ip_address IS NOT NULL",
    "audit_logs_resource": "CREATE INDEX IF NOT EXISTS audit_logs_resource ON audit_logs (resource_id, effective_at)"
                           " WHERE resource_id IS NOT NULL",
}


def missing_indexes(conn: sqlite3.Connection) -> list[str]:
    """The lookup indexes this archive lacks (a back-fill in progress, or one that crashed)."""
    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    return [name for name in SECONDARY_INDEXES if name not in present]


def drop_indexes(conn: sqlite3.Connection) -> None:
    """Drop the lookup indexes (inside the caller's transaction)."""
    for name in SECONDARY_INDEXES:
        conn.execute(f"DROP INDEX IF EXISTS {name}")


#: The sorter's in-memory run (KiB) while the lookup indexes are built, set through ``cache_size``, which is
#: what SQLite sizes it by. Two reasons, measured building all eight at 906k events (one core, CPU seconds):
#: a run this small fits the CPU's cache, where one of 64 MB spends its time waiting on memory in the merge
#: sort's pointer chasing (17.1 -> 12.2 s); and a sort that spills into several runs is the only one SQLite
#: hands to its worker threads (`INDEX_BUILD_THREADS`), which then sort while this thread scans the table
#: (main thread 7 s of 13.4 s). The runs go to SQLite's temporary files, unlinked as they are opened; the
#: page cache held while building is this small too (peak RSS 142 -> 32 MB), and is given back afterwards.
INDEX_BUILD_SORT_KIB = 1024
#: The sorter's worker threads while the lookup indexes are built (at most: SQLite caps it itself).
INDEX_BUILD_THREADS = max(1, min(4, os.cpu_count() or 1))


@contextlib.contextmanager
def index_build_sorting(conn: sqlite3.Connection) -> Iterator[None]:
    """Within it, CREATE INDEX sorts in small runs on worker threads (see `INDEX_BUILD_SORT_KIB`); the
    connection's page cache and thread settings are put back afterwards, so queries sort as before."""
    cache = int(conn.execute("PRAGMA cache_size").fetchone()[0])
    threads = int(conn.execute("PRAGMA threads").fetchone()[0])
    conn.execute(f"PRAGMA cache_size = -{INDEX_BUILD_SORT_KIB}")
    conn.execute(f"PRAGMA threads = {INDEX_BUILD_THREADS}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA threads = {threads}")
        conn.execute(f"PRAGMA cache_size = {cache}")


def build_indexes(conn: sqlite3.Connection) -> list[str]:
    """Create the missing lookup indexes (inside the caller's transaction); returns their names.

    One sort per index: far cheaper than the random leaf inserts the same rows cost one page at a time.
    """
    missing = missing_indexes(conn)
    if not missing:
        return missing   # the usual incremental sync: its page cache is left as it is
    with index_build_sorting(conn):
        for name in missing:
            try:
                conn.execute(SECONDARY_INDEXES[name])
            except sqlite3.IntegrityError:
                if name != ID_INDEX:
                    raise
                # Only a service that sent one event id with two different effective_at values gets here
                # (the (effective_at, id) test let both in): keep the copy archived first, as the id index
                # would have. A failed CREATE INDEX undoes only itself, so the transaction carries on.
                dropped = conn.execute(
                    "DELETE FROM audit_logs WHERE seq NOT IN (SELECT min(seq) FROM audit_logs GROUP BY id)").rowcount
                log.warning("the service sent %d events again with another effective_at; kept the first copies",
                            dropped)
                conn.execute(SECONDARY_INDEXES[name])
    return missing


def _check_file(path: Path, *, create: bool, readonly: bool) -> bool:
    """Refuse, by reading only, what cannot be an archive. Returns whether the file exists."""
    if path.is_dir():
        raise ArchiveError(f"{path}: is a directory, not an archive file")
    if not path.exists():
        if readonly or not create:
            raise ArchiveError(f"{path}: no such archive")
        parent = path.parent
        if not parent.is_dir():
            raise ArchiveError(f"{path}: directory {parent} does not exist")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise ArchiveError(f"{path}: cannot create the archive (directory {parent} is not writable)")
        return False
    try:
        if is_held(path):
            head = _SQLITE_MAGIC   # open here through SQLite already: opening it again would drop its locks
        else:
            with path.open("rb") as fh:
                head = fh.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if head and head != _SQLITE_MAGIC:
        raise ArchiveError(f"{path}: not an archive (not a SQLite database)")
    if not readonly and not os.access(path, os.W_OK):
        raise ArchiveError(f"{path}: not writable (open it read-only to query it)")
    return True


def _connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    target = f"file:{quote(str(path.absolute()))}?mode={'ro' if readonly else 'rw'}"
    if readonly and not os.access(path.parent, os.W_OK):
        # Read-only media: a WAL database cannot even be read without creating its -shm there, so
        # read it as immutable (no locks, no -shm; only ever written by a sync elsewhere). Immutable
        # reads ignore a -wal file, so one holding commits is refused rather than silently left out.
        wal = Path(f"{path}-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise ArchiveError(f"{path}: its {wal.name} holds commits that a read-only folder cannot merge; "
                               "copy both files somewhere writable to read them")
        target += "&immutable=1"
    if not path.exists() and not readonly:
        # Created 0600 before SQLite sees it (its -wal/-shm take the same mode): emails and IPs.
        # O_EXCL: when two processes create the same new archive at once, only the one that really
        # created it may remove it again after a failed open (`_forget_new_file`).
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        else:
            _created_here.add(path.absolute())
    # isolation_level=None: transactions are ours (BEGIN IMMEDIATE ... COMMIT), never implicit.
    return sqlite3.connect(target, uri=True, timeout=_BUSY_TIMEOUT_S, isolation_level=None)


def _inspect(conn: sqlite3.Connection, path: Path, *, readonly: bool) -> bool:
    """Check an opened file is ours (or empty); returns True if the schema still has to be created."""
    # One read transaction, so the three reads see one state of the file: another process creating the
    # same new archive may commit its schema between two autocommit reads, and an id of 0 beside its
    # tables would look like somebody else's database (seen as a flaky overlapping-syncs test).
    conn.execute("BEGIN")
    try:
        app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.execute("COMMIT")
    if app_id != APPLICATION_ID and (app_id != 0 or tables):
        raise ArchiveError(f"{path}: a SQLite database, but not an openapiopenai archive")
    if version > SCHEMA_VERSION:
        raise ArchiveError(
            f"{path}: written by a newer openapiopenai (archive schema {version}; this version reads "
            f"up to {SCHEMA_VERSION}); upgrade openapiopenai"
        )
    fresh = app_id == 0 and not tables
    if fresh and readonly:
        raise ArchiveError(f"{path}: empty, not an archive yet (run a sync first)")
    required = {"audit_logs", "sync_state", "sync_slices"}
    if version >= 2:
        required |= {"sink_ledger", "sink_dead_letters"}
    if not fresh and not required <= tables:
        raise ArchiveError(f"{path}: a damaged archive (tables are missing)")
    return fresh


def open_archive_db(path: Path, *, create: bool, readonly: bool) -> sqlite3.Connection:
    """Open (and, when new, initialise) an archive; raises ArchiveError with the file left as it was."""
    existed = _check_file(path, create=create, readonly=readonly)
    try:
        conn = _connect(path, readonly=readonly)
    except (sqlite3.Error, OSError) as exc:
        raise ArchiveError(f"{path}: cannot open ({exc})") from None
    try:
        fresh = _inspect(conn, path, readonly=readonly)
        if not readonly:
            # Switching to WAL writes the header, so it comes only after the file proved to be ours.
            # On an empty file that switch is a rollback-journal transaction of its own, with four
            # fsyncs (journal, folder, journal, file: 10 to 235 ms measured) that protect nothing: the
            # file held nothing to lose, and a power cut before the first checkpoint (which syncs the
            # file) leaves it empty again, which the next open takes as new. So no syncs for it.
            if fresh and path.stat().st_size == 0:
                conn.execute("PRAGMA synchronous=OFF")
            _switch_to_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            # A sync rewrites index pages on every commit; checkpointing every ~32 MB of WAL instead of
            # every 4 MB, with a cache that holds the hot index pages, roughly halves the write cost.
            # The WAL is cut back to 64 MB after a checkpoint so it does not stay large.
            conn.execute("PRAGMA wal_autocheckpoint = 8192")
            conn.execute("PRAGMA journal_size_limit = 67108864")
            # 64 MB of page cache: past a few hundred thousand events the unique id index (random ids)
            # no longer fits in a smaller one, and every insert that maintains it then misses. Measured
            # at 1M events when the id was still the table's key (schema 1, every insert keyed by it):
            # 32 MB synced at 9.3k events/s and 64 MB at 13.8k/s, with peak RSS 123 -> 193 MB. A
            # back-fill into an empty archive now walks without that index (built once at the end),
            # so there the cache serves the time index and the index builds. SQLite fills the cache
            # only as pages are read, so a small query never costs this much.
            conn.execute("PRAGMA cache_size = -65536")
            if fresh:
                _create_schema(conn)
            elif int(conn.execute("PRAGMA user_version").fetchone()[0]) < SCHEMA_VERSION:
                from openapiopenai.archive._migrate import migrate

                migrate(conn, SCHEMA_VERSION)
        ensure_views(conn, readonly=readonly)
    except ArchiveError:
        conn.close()
        _forget_new_file(path, existed)
        raise
    except sqlite3.DatabaseError as exc:
        conn.close()
        _forget_new_file(path, existed)
        raise ArchiveError(f"{path}: {_describe(exc)}") from None
    return conn


def _create_schema(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Re-check under the write lock: two processes may create the same new file at once.
        if int(conn.execute("PRAGMA application_id").fetchone()[0]) == APPLICATION_ID:
            conn.execute("ROLLBACK")
            return
        for statement in split_statements(_SCHEMA):
            conn.execute(statement)
        build_indexes(conn)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def split_statements(script: str) -> list[str]:
    # Not executescript(): it would COMMIT the transaction the schema is created in.
    out: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            out.append(pending)
            pending = ""
    return out


#: New files this process created (see `_connect`): only these may be removed after a failed open.
_created_here: set[Path] = set()
#: Bounds of the retries of the switch to WAL (count and pause), well inside the busy timeout.
_WAL_TRIES, _WAL_PAUSE_S = 100, 0.05


def _switch_to_wal(conn: sqlite3.Connection) -> None:
    """``PRAGMA journal_mode=WAL``, retried while another process holds the file: SQLite answers this
    pragma "locked" at once instead of waiting out the busy timeout (two syncs opening one new archive)."""
    for attempt in range(_WAL_TRIES):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == _WAL_TRIES - 1:
                raise
            time.sleep(_WAL_PAUSE_S)


def _forget_new_file(path: Path, existed: bool) -> None:
    """Remove a file this failed open created, so a bad open leaves no trace."""
    if existed or path.absolute() not in _created_here:
        return   # another process's new archive (or an existing one): never ours to remove
    _created_here.discard(path.absolute())
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(OSError):
            os.unlink(f"{path}{suffix}")


def _describe(exc: sqlite3.DatabaseError) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return "locked by another process (try again when it has finished)"
    if "not a database" in text or "malformed" in text:
        return f"not a usable SQLite database ({text})"
    return text
