"""Opening files as archives: creation, reopening, read-only use, and every kind of bad file."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from openapiopenai.archive import SCHEMA_VERSION, Archive, ArchiveError, Filters, _schema
from openapiopenai.archive._archive import INSERT_SQL, event_row


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _add(archive: Archive, events: list[dict[str, object]], *, tenant: bool = False) -> None:
    conn = archive.connection
    conn.execute("BEGIN")
    conn.executemany(INSERT_SQL, [event_row(e, f"raw:{e['id']}", tenant=tenant) for e in events])
    conn.execute("COMMIT")


def test_new_archive_has_the_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    with Archive(path) as archive:
        conn = archive.connection
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        columns = {r[1]: r for r in conn.execute("PRAGMA table_info(audit_logs)")}
        assert {"id", "effective_at", "type", "raw", "actor_id", "actor_email", "project_id", "ip_address",
                "resource_id"} <= set(columns)
        assert columns["seq"][5] == 1 and columns["seq"][2] == "INTEGER"  # the rowid, made explicit
        assert all(columns[c][3] == 1 for c in ("id", "effective_at", "type", "raw"))  # NOT NULL
        unique = [conn.execute(f"PRAGMA index_info({r[1]})").fetchall() for r in conn.execute(
            "PRAGMA index_list(audit_logs)") if r[2]]
        # The id, and (version 4) the listing order, which is what absorbs a re-read while a back-fill
        # walks without the id index.
        assert sorted([col[2] for col in index] for index in unique) == [["effective_at", "id"], ["id"]]
        assert archive.count() == 0
        assert archive.sync_state() == []
    assert path.read_bytes().startswith(b"SQLite format 3\x00")


def test_reopen_keeps_events(tmp_path: Path, event_maker) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "a.sqlite"
    with Archive(path) as archive:
        _add(archive, [event_maker(i, 1000 + i) for i in range(5)])
    with Archive(path, create=False) as archive:
        assert archive.count() == 5
        assert list(archive.iter_raw()) == [f"raw:audit_log-{i:06d}" for i in reversed(range(5))]
        assert next(r["id"] for r in archive.iter_rows(newest_first=False)) == "audit_log-000000"


def test_queries_filter_like_the_service(tmp_path: Path, event_maker) -> None:  # type: ignore[no-untyped-def]
    with Archive(tmp_path / "a.sqlite") as archive:
        _add(archive, [event_maker(i, 1000 + i, "login.failed" if i % 2 else "login.succeeded") for i in range(12)])
        _add(archive, [event_maker(100, 1005, "role.bound_to_resource")], tenant=True)
        assert archive.count() == 13
        assert archive.count(Filters()) == 12   # the tenant partition is apart, as on the service
        assert archive.count(Filters(tenant_only=True)) == 1
        assert archive.count(Filters(event_types=("login.failed",))) == 6
        assert archive.count(Filters(since=1004, until=1008)) == 4
        assert archive.count(Filters(actor_ids=("user-1",))) == 4
        assert archive.count(Filters(actor_emails=("u2@example.com",), event_types=("login.failed",))) == 2
        assert archive.count(Filters(resource_ids=("res_0",))) == 3
        row = next(archive.iter_rows(Filters(event_types=("login.failed",))))
        assert (row["id"], row["actor_id"], row["ip_address"], row["resource_id"]) == (
            "audit_log-000011", "user-2", "10.0.0.4", "res_1")
        summary = archive.summary(top=3)
        assert summary.total == 13 and summary.failed_logins == 6
        assert summary.first_effective_at == 1000 and summary.last_effective_at == 1011
        assert summary.by_type[0] == ("login.failed", 6) and len(summary.top_actors) == 3
        assert [r["id"] for r in summary.recent_failed_logins][:2] == ["audit_log-000011", "audit_log-000009"]


def test_iter_raw_streams_and_closes_when_abandoned(tmp_path: Path, event_maker) -> None:  # type: ignore[no-untyped-def]
    with Archive(tmp_path / "a.sqlite") as archive:
        _add(archive, [event_maker(i, 1000 + i) for i in range(2000)])
        it = archive.iter_raw()
        assert next(it) == "raw:audit_log-001999"
        it.close()   # the generator's cursor is closed: no ResourceWarning, no lock held
        assert archive.count() == 2000


def test_readonly_reads_but_never_writes(tmp_path: Path, event_maker) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "a.sqlite"
    with Archive(path) as archive:
        _add(archive, [event_maker(1, 1000)])
    before = _digest(path)
    with Archive(path, readonly=True) as archive:
        assert archive.count() == 1
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            archive.connection.execute("DELETE FROM audit_logs")
    assert _digest(path) == before


def test_readonly_or_no_create_needs_an_existing_archive(tmp_path: Path) -> None:
    for kwargs in ({"readonly": True}, {"create": False}):
        with pytest.raises(ArchiveError, match="no such archive"):
            Archive(tmp_path / "missing.sqlite", **kwargs)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_readonly_refuses_an_empty_database(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite"
    path.touch()
    with pytest.raises(ArchiveError, match="not an archive yet"):
        Archive(path, readonly=True)
    assert path.read_bytes() == b""


def test_empty_file_becomes_an_archive(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite"
    path.touch()
    with Archive(path) as archive:
        assert archive.count() == 0


def test_a_second_archive_of_a_held_file_keeps_the_first_ones_commits(tmp_path: Path, event_maker) -> None:  # type: ignore[no-untyped-def]
    # A plain open()/close() of the file would drop this process's locks on it (POSIX locks are per
    # process): another process closing its connection then deletes the WAL under the first archive,
    # and what it commits later is lost to every new reader.
    path = tmp_path / "a.sqlite"
    reader = [sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
              " print(c.execute('SELECT count(*) FROM audit_logs').fetchone()[0]); c.close()", str(path)]
    with Archive(path) as first:
        _add(first, [event_maker(i, 1000 + i) for i in range(3)])
        with Archive(path, create=False, readonly=True) as second:
            assert second.count() == 3
        assert subprocess.run(reader, capture_output=True, text=True, check=True).stdout == "3\n"
        assert Path(f"{path}-wal").exists()   # the other process did not take itself for the last one
        _add(first, [event_maker(i, 1000 + i) for i in range(3, 5)])
        assert subprocess.run(reader, capture_output=True, text=True, check=True).stdout == "5\n"
    with Archive(path, create=False) as again:
        assert again.count() == 5


def test_a_schema_committed_by_another_process_mid_check_is_not_taken_for_a_foreign_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two syncs creating one new archive: the other one commits its schema while this one is checking the
    # empty file. The check must see one state of the file (empty, or the other's whole archive), never
    # an application id of 0 beside the other's tables.
    path = tmp_path / "new.sqlite"
    path.touch()
    monkeypatch.setattr(_schema, "_BUSY_TIMEOUT_S", 0.05)
    monkeypatch.setattr(_schema, "_WAL_TRIES", 2)
    conn = sqlite3.connect(path, isolation_level=None)
    created: list[bool | str] = []

    class OtherCommitsAfterFirstRead:
        def execute(self, sql: str) -> sqlite3.Cursor:
            if "user_version" in sql and not created:   # the application id has been read
                try:
                    Archive(path).close()   # the other process, at this very moment
                    created.append(True)
                except ArchiveError as exc:  # it waits for this check's read (here: gives up at once)
                    created.append(str(exc))
            return conn.execute(sql)

    try:
        fresh = _schema._inspect(OtherCommitsAfterFirstRead(), path, readonly=False)  # type: ignore[arg-type]
    finally:
        conn.close()
    assert created, "the other process never ran"
    assert fresh == (created != [True])   # empty if the other could not commit, else its whole archive
    with Archive(path) as archive:
        assert archive.count() == 0


@pytest.mark.parametrize("content", [b"%PDF-1.7\n" + b"x" * 5000, b"not a database at all", b"\x00" * 4096])
def test_non_sqlite_file_is_refused_and_untouched(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_bytes(content)
    with pytest.raises(ArchiveError, match="not a SQLite database") as info:
        Archive(path)
    assert "\n" not in str(info.value)
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.sqlite"]


def test_truncated_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.sqlite"
    with Archive(path):
        pass
    data = path.read_bytes()[:200]   # a valid header, then nothing
    path.write_bytes(data)
    with pytest.raises(ArchiveError):
        Archive(path)
    assert path.read_bytes() == data


def test_another_programs_database_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE things (x)")
    conn.commit()
    conn.close()
    before = _digest(path)
    with pytest.raises(ArchiveError, match="not an openapiopenai archive"):
        Archive(path)
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.sqlite"]


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite"
    with Archive(path) as archive:
        archive.connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = _digest(path)
    with pytest.raises(ArchiveError, match="newer openapiopenai"):
        Archive(path)
    with pytest.raises(ArchiveError, match="newer openapiopenai"):
        Archive(path, readonly=True)
    assert _digest(path) == before


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="is a directory"):
        Archive(tmp_path)


def test_missing_parent_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="does not exist"):
        Archive(tmp_path / "no" / "such" / "a.sqlite")
    assert list(tmp_path.iterdir()) == []


def test_unreadable_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.sqlite"
    with Archive(path):
        pass
    if os.geteuid() != 0:
        path.chmod(0)
        try:
            with pytest.raises(ArchiveError, match="cannot read"):
                Archive(path)
        finally:
            path.chmod(0o644)
    # As root nothing is unreadable, so also simulate the failure at the one place the file is read.
    real_open = Path.open

    def deny(self: Path, *args: object, **kwargs: object) -> object:
        if self == path:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "open", deny)
    with pytest.raises(ArchiveError, match=r"cannot read .*Permission denied"):
        Archive(path)


def test_locked_archive_gives_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.sqlite"
    with Archive(path):
        pass
    monkeypatch.setattr(_schema, "_BUSY_TIMEOUT_S", 0.05)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(ArchiveError, match="locked by another process") as info:
            Archive(path)
        assert "\n" not in str(info.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with Archive(path) as archive:
        assert archive.count() == 0


def test_closed_archive_says_so(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a.sqlite")
    archive.close()
    archive.close()
    with pytest.raises(ArchiveError, match="closed"):
        archive.count()
