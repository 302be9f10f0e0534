"""One sync in its own process, for the crash tests: ``python sync_child.py DB BASE_URL [options]``.

The admin key comes from ``OPENAI_ADMIN_KEY``. With ``--kill-after-pages K`` the process SIGKILLs itself
right after its K-th committed page (or, with ``--kill-before-commit``, while holding the write lock
in the middle of a transaction); with ``--kill-in-index-build`` it dies in the transaction that completes
the walk, after building its first lookup index. The parent also kills runs at random instants. On
success it prints the SyncResult as one JSON line.

With ``--writer-process`` the walk hands its commits to the writer process from the first page on
(`_sync.WRITER_PROCESS_AFTER_PAGES`), and the kills mid-transaction and in the index build happen in
that process, at the same statements; ``--kill-writer-after-commits K`` SIGKILLs the writer process
right after its K-th COMMIT, before the sync hears of it (the sync then exits 1 with one line).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib
import json
import os
import signal
import sqlite3
import sys
import time
from typing import Any

import openapiopenai
from openapiopenai import api_client
from openapiopenai.archive import Archive, ArchiveWriteError, Filters, _pacing, sync_archive
from openapiopenai.archive import _sync as sync_module


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class _DyingConnection:
    """Proxy for the archive's connection that dies mid-transaction, after the events are written."""

    def __init__(self, conn: sqlite3.Connection, after_commits: int, *, in_index_build: bool = False,
                 after_commit: bool = False) -> None:
        self._conn = conn
        self._left = after_commits
        self._in_index_build = in_index_build
        self._after_commit = after_commit

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.startswith("UPDATE sync_slices") and not self._in_index_build and not self._after_commit:
            self._left -= 1
            if self._left <= 0:
                _die()
        result = self._conn.execute(sql, *args)
        if sql.startswith("CREATE INDEX") and self._in_index_build:
            _die()
        if sql == "COMMIT" and self._after_commit:
            self._left -= 1
            if self._left <= 0:
                _die()
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def _dying(after_commits: int, in_index_build: bool, after_commit: bool, conn: sqlite3.Connection) -> Any:
    """The writer process's connection, armed as `_DyingConnection` (module level: spawn pickles it)."""
    return _DyingConnection(conn, after_commits, in_index_build=in_index_build, after_commit=after_commit)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("base_url")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--page-size", type=int, default=20)
    parser.add_argument("--max-retries", type=int, default=2)
    parser.add_argument("--lookback", type=int, default=900)
    parser.add_argument("--type", action="append", default=[])
    parser.add_argument("--kill-after-pages", type=int, default=0)
    parser.add_argument("--kill-before-commit", action="store_true")
    parser.add_argument("--kill-in-index-build", action="store_true")
    parser.add_argument("--writer-process", action="store_true")
    parser.add_argument("--kill-writer-after-commits", type=int, default=0)
    args = parser.parse_args()

    # Faults still happen and are retried; only the backoff wait is shortened to keep the test quick.
    api_client._sleep = lambda seconds: time.sleep(min(seconds, 0.01))  # type: ignore[attr-defined]
    _pacing._wait = lambda stop, seconds: stop.wait(min(seconds, 0.01))  # type: ignore[attr-defined]
    config = openapiopenai.Configuration(host=args.base_url, access_token=os.environ["OPENAI_ADMIN_KEY"],
                                         max_retries=args.max_retries)
    pages = 0

    def progress(n: int) -> None:
        nonlocal pages
        pages += 1
        if args.kill_after_pages and not args.kill_before_commit and pages >= args.kill_after_pages:
            _die()

    in_writer = args.writer_process and args.workers == 1
    # `_dying` by this file's module name, not `__main__`'s: the writer process unpickles it by that name.
    dying = importlib.import_module("sync_child")._dying
    if in_writer:
        sync_module.WRITER_PROCESS_AFTER_PAGES = 0
    with openapiopenai.ApiClient(config) as client, Archive(args.db) as archive:
        if args.kill_before_commit and args.kill_after_pages:
            sync_module.GROUP_COMMIT_PAGES = 1
            if in_writer:
                sync_module.WRITER_PROCESS_WRAP = functools.partial(dying, args.kill_after_pages, False, False)
            else:
                archive._conn = _DyingConnection(archive.connection, args.kill_after_pages)  # type: ignore[assignment]
        elif args.kill_in_index_build:
            # The completion builds them in this process; an early build (`_writer`) in the writer's.
            archive._conn = _DyingConnection(archive.connection, 0, in_index_build=True)  # type: ignore[assignment]
            if in_writer:
                sync_module.WRITER_PROCESS_WRAP = functools.partial(dying, 0, True, False)
        elif args.kill_writer_after_commits and in_writer:
            sync_module.WRITER_PROCESS_WRAP = functools.partial(dying, args.kill_writer_after_commits, False, True)
        try:
            result = sync_archive(openapiopenai.AuditLogsApi(client), archive,
                                  Filters(event_types=tuple(args.type)), workers=args.workers,
                                  page_size=args.page_size, lookback=args.lookback, progress=progress)
        except ArchiveWriteError as exc:   # as the CLI reports it: one line, exit 1
            print(f"error: {exc}", file=sys.stderr)
            return 1
    print(json.dumps(dataclasses.asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
