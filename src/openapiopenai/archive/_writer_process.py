"""The sync's commits made in a process of its own, so that the writer's Python work leaves the GIL.

With one worker the sync is two threads of one process: the fetcher, which sends the next request and
checks each page, and the writer, which turns pages into rows and commits them. Under one GIL they take
turns: py-spy showed the fetcher waiting for the GIL in a fifth to a quarter of its samples, while the
writer built rows. Here the writer's work (rows and SQL) is done by a child process with its own
connection to the archive; the sync's writer thread only encodes each group of pages (their heads and
exact bytes, ~66 KB a page) into a pipe and waits for the answer, with the GIL released.

Nothing about the walk's exactness changes: `RemoteCommits` is a drop-in for the calls the walk's
writer (`_writer.WalkWriter`) makes of `SyncState`, `commit` and `build_indexes`, and for the walk's
`complete`; each returns only once the child has committed (its answer comes after its COMMIT). So the sync's state (positions,
slices, hand-outs) still follows only what is in the archive. A child that dies (kill -9, out of
memory) loses at most its transaction in progress, which SQLite rolls back; the sync then stops with
one `ArchiveWriteError` line and the next one resumes from what was committed.

The child ignores Ctrl-C (the terminal sends it to the whole process group): the sync decides when to
stop, and a child that stopped on its own would only turn a clean interruption into a "writer died".
It exits when the pipe closes, so a sync that is killed takes it along within one transaction.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from openapiopenai.archive._errors import ArchiveWriteError, SyncError
from openapiopenai.archive._page import EventHead
from openapiopenai.archive._state import PageBatch, Run, SliceState, Split, SyncState

__all__ = ["ConnectionWrapper", "RemoteCommits"]

#: A seam for the crash tests: wraps the child's connection (so it can die at a chosen instant).
#: Must be picklable by reference (a module-level function or a `functools.partial` of one).
ConnectionWrapper = Callable[[sqlite3.Connection], Any]

#: How long a stopping sync waits for the child to finish its transaction and exit, before killing it.
_EXIT_TIMEOUT_S = 10.0


class _Page(msgspec.Struct, array_like=True, gc=False):
    slice_no: int
    heads: list[EventHead]
    raws: list[bytes]
    tenant: bool
    cursor_id: str | None
    cursor_at: int | None
    lo: int | None
    hi: int
    done: bool


class _Split(msgspec.Struct, array_like=True, gc=False):
    no: int
    lo: int
    below_no: int
    below_lo: int | None
    below_hi: int


class _Commit(msgspec.Struct, array_like=True, gc=False, tag=0):
    pages: list[_Page]
    splits: list[_Split]


class _BuildIndexes(msgspec.Struct, array_like=True, gc=False, tag=1):
    pass


class _Complete(msgspec.Struct, array_like=True, gc=False, tag=2):
    covered_from: int | None
    high_water: int


class _Answer(msgspec.Struct, array_like=True, gc=False):
    value: Any = None
    """`commit`: events inserted; `build_indexes`: the names built; the first answer: None (ready)."""
    error: str | None = None
    """The exception's class name, when the request failed (one of `_ERRORS`)."""
    message: str = ""


_ERRORS: dict[str, type[Exception]] = {"ArchiveWriteError": ArchiveWriteError, "SyncError": SyncError}
_encode = msgspec.msgpack.Encoder().encode
_decode_request = msgspec.msgpack.Decoder(_Commit | _BuildIndexes | _Complete).decode
_decode_answer = msgspec.msgpack.Decoder(_Answer).decode


class RemoteCommits:
    """`SyncState.commit` and `.build_indexes`, done by a child process; one per walk, writer thread only."""

    def __init__(self, state: SyncState, *, wrap: ConnectionWrapper | None = None) -> None:
        """Start the child; it is ready for requests once `ready()` says so (it imports, then opens)."""
        self._where = state.where
        ctx = multiprocessing.get_context("spawn")   # never fork: the parent has threads and a connection
        self._pipe, theirs = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(theirs, state.where, state.key, state.owner, wrap),
                                 name="openapiopenai-archive-writer", daemon=True)
        self._proc.start()
        theirs.close()
        self._ready = False

    def ready(self) -> bool:
        """Whether the child has opened the archive (never waits). Raises if it failed to."""
        if not self._ready and self._pipe.poll():
            self._answer()
            self._ready = True
        return self._ready

    def commit(self, pages: Sequence[PageBatch], splits: Sequence[Split]) -> int:
        request = _Commit(
            [_Page(p.slice_no, list(p.heads), [bytes(r) for r in p.raws], p.tenant, p.cursor_id, p.cursor_at,
                   p.lo, p.hi, p.done) for p in pages],
            [_Split(s.no, s.lo, s.below.no, s.below.lo, s.below.hi) for s in splits])
        return int(self._ask(request))

    def build_indexes(self) -> list[str]:
        return list(self._ask(_BuildIndexes()))

    def complete(self, run: Run) -> list[str]:
        """`SyncState.complete`, here too: the indexes it builds read the whole table, and a page cache
        filled by that in the sync's process would add to the child's (peak RSS counts both)."""
        return list(self._ask(_Complete(*run.covered)))

    def close(self) -> None:
        """Let the child finish what it is doing and exit (killed if it does not, in time); idempotent."""
        self._pipe.close()   # the child's next read ends: it closes its connection and exits
        self._proc.join(_EXIT_TIMEOUT_S)
        if self._proc.is_alive():
            self._proc.kill()   # its transaction in progress, if any, is rolled back by SQLite
            self._proc.join()

    def _ask(self, request: _Commit | _BuildIndexes | _Complete) -> Any:
        if not self._ready:
            self._answer()   # the child's first answer says it is ready
            self._ready = True
        try:
            self._pipe.send_bytes(_encode(request))
        except OSError:
            raise self._died() from None
        return self._answer()

    def _answer(self) -> Any:
        try:
            answer = _decode_answer(self._pipe.recv_bytes())
        except (EOFError, OSError):
            raise self._died() from None
        if answer.error is not None:
            raise _ERRORS.get(answer.error, SyncError)(answer.message)
        return answer.value

    def _died(self) -> ArchiveWriteError:
        self._proc.join(1.0)
        code = self._proc.exitcode
        how = "was killed" if code is not None and code < 0 else "exited" if code is not None else "stopped answering"
        return ArchiveWriteError(f"{self._where}: the archive's writer process {how}"
                                 f"{f' (signal {-code})' if code is not None and code < 0 else ''};"
                                 " everything committed before is kept, run the sync again to resume")


def _serve(pipe: Any, path: str, key: str, owner: str | None, wrap: ConnectionWrapper | None) -> None:
    """The child: open the archive, then answer requests until the pipe closes; then exit at once.

    It never closes its connection: SQLite's close, when it believes it is the last connection, copies
    the WAL back and deletes it. The sync's own connection stays open meanwhile, but it need not hold a
    lock that shows it (another connection of the sync's process closing drops its POSIX locks), so the
    child's close could delete the WAL under it, and its later commits would go to a file no new
    connection reads. Leaving by `os._exit` is a clean end for SQLite: every commit is already durable.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from openapiopenai.archive._archive import Archive   # here: the module imports this one's users
    from openapiopenai.archive._checkpoint import IdleCheckpoints

    try:
        archive = Archive(path, create=False)
    except Exception as exc:  # the parent re-raises it as its own one-line error
        _reply(pipe, _Answer(error=type(exc).__name__, message=str(exc)))
        os._exit(0)
    with contextlib.suppress(EOFError, OSError):
        conn = archive.connection if wrap is None else wrap(archive.connection)
        state = SyncState(conn, key, path, owner=owner)
        checkpoints = IdleCheckpoints(archive.connection)
        _reply(pipe, _Answer())
        while True:
            if not pipe.poll():
                checkpoints.idle()   # nothing to commit yet: copy the WAL meanwhile (see `_checkpoint`)
            request = _decode_request(pipe.recv_bytes())
            try:
                if isinstance(request, _Commit):
                    answer = _Answer(state.commit([_batch(p) for p in request.pages],
                                                  [_split(s) for s in request.splits]))
                    checkpoints.committed(len(request.pages))
                elif isinstance(request, _Complete):
                    answer = _Answer(state.complete(Run([], (request.covered_from, request.high_water))))
                else:
                    answer = _Answer(state.build_indexes())
            except (ArchiveWriteError, SyncError) as exc:
                answer = _Answer(error=type(exc).__name__, message=str(exc))
            _reply(pipe, answer)
    os._exit(0)


def _reply(pipe: Any, answer: _Answer) -> None:
    pipe.send_bytes(_encode(answer))


def _batch(p: _Page) -> PageBatch:
    return PageBatch(p.slice_no, p.heads, p.raws, p.tenant, p.cursor_id, p.cursor_at, p.lo, p.hi, p.done)


def _split(s: _Split) -> Split:
    return Split(s.no, s.lo, SliceState(s.below_no, s.below_lo, s.below_hi))
