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
import os
import pickle
import select
import signal
import sqlite3
import struct
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import IO, Any

import msgspec

from openapiopenai.archive._errors import ArchiveWriteError, SyncError
from openapiopenai.archive._page import EventHead
from openapiopenai.archive._schema import ID_INDEX, missing_indexes
from openapiopenai.archive._state import PageBatch, Run, SliceState, Split, SyncState

__all__ = ["ConnectionWrapper", "RemoteCommits", "main"]

#: A seam for the crash tests: wraps the child's connection (so it can die at a chosen instant).
#: Must be picklable by reference (a module-level function or a `functools.partial` of one).
ConnectionWrapper = Callable[[sqlite3.Connection], Any]

#: The child's page cache (KiB) while a back-fill walks without the lookup indexes (see `main`).
_BACKFILL_CACHE_KIB = 16384
#: The child's program: Ctrl-C ignored before anything else, even while it imports (see the module's doc).
_CHILD_CODE = ("import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); "
               "from openapiopenai.archive._writer_process import main; main()")
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


class _Setup(msgspec.Struct, array_like=True, gc=False):
    """The child's first frame: what to open, and for whom."""

    path: str
    key: str
    owner: str | None
    sys_path: list[str]
    """The sync's import path, so that a `wrap` from a test's own module unpickles in the child."""
    wrap: bytes | None


class RemoteCommits:
    """`SyncState.commit`, `.build_indexes` and `.complete`, done by a child process; writer thread only."""

    def __init__(self, state: SyncState, *, wrap: ConnectionWrapper | None = None) -> None:
        """Start the child; it is ready for requests once `ready()` says so (it imports, then opens).

        A plain interpreter of this module on two pipes (not `multiprocessing`, whose start method
        would also start its resource tracker, a third process, and import the CLI again)."""
        self._where = state.where
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD_CODE],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True, bufsize=0)
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._to: IO[bytes] | None = self._proc.stdin
        self._from: IO[bytes] = self._proc.stdout   # unbuffered: `_readable` asks the pipe itself
        self._ready = False
        self._send(_encode(_Setup(state.where, state.key, state.owner, list(sys.path),
                                  None if wrap is None else pickle.dumps(wrap))))

    def ready(self) -> bool:
        """Whether the child has opened the archive (never waits). Raises if it failed to."""
        if not self._ready and _readable(self._from.fileno()):
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
        if self._to is not None:
            with contextlib.suppress(OSError):
                self._to.close()   # the child's next read ends: it exits
            self._to = None
        try:
            self._proc.wait(_EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._proc.kill()   # its transaction in progress, if any, is rolled back by SQLite
            self._proc.wait()
        self._from.close()

    def _ask(self, request: _Commit | _BuildIndexes | _Complete) -> Any:
        if not self._ready:
            self._answer()   # the child's first answer says it is ready
            self._ready = True
        self._send(_encode(request))
        return self._answer()

    def _send(self, frame: bytes) -> None:
        try:
            if self._to is None:
                raise OSError("closed")
            _write_frame(self._to.fileno(), frame)
        except OSError:
            raise self._died() from None

    def _answer(self) -> Any:
        try:
            frame = _read_frame(self._from.fileno())
        except OSError:
            frame = None
        if frame is None:
            raise self._died() from None
        answer = _decode_answer(frame)
        if answer.error is not None:
            raise _ERRORS.get(answer.error, SyncError)(answer.message)
        return answer.value

    def _died(self) -> ArchiveWriteError:
        try:
            code: int | None = self._proc.wait(1.0)
        except subprocess.TimeoutExpired:
            code = None
        how = "was killed" if code is not None and code < 0 else "exited" if code is not None else "stopped answering"
        return ArchiveWriteError(f"{self._where}: the archive's writer process {how}"
                                 f"{f' (signal {-code})' if code is not None and code < 0 else ''};"
                                 " everything committed before is kept, run the sync again to resume")


_LENGTH = struct.Struct("!I")


def _write_frame(fd: int, frame: bytes) -> None:
    view = memoryview(_LENGTH.pack(len(frame)) + frame)
    while view:
        view = view[os.write(fd, view):]


def _read_exactly(fd: int, n: int) -> bytes | None:
    chunks: list[bytes] = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int) -> bytes | None:
    """The next frame, None at the end of the stream (the other side closed or died)."""
    head = _read_exactly(fd, _LENGTH.size)
    return None if head is None else _read_exactly(fd, _LENGTH.unpack(head)[0])


def _readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])


def main() -> None:
    """The child: read its setup, open the archive, answer requests until its input ends; then exit.

    It never closes its connection: SQLite's close, when it believes it is the last connection, copies
    the WAL back and deletes it. The sync's own connection stays open meanwhile, but it need not hold a
    lock that shows it (another connection of the sync's process closing drops its POSIX locks), so the
    child's close could delete the WAL under it, and its later commits would go to a file no new
    connection reads. Leaving by `os._exit` is a clean end for SQLite: every commit is already durable.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    src, out = 0, os.dup(1)
    os.dup2(2, 1)   # nothing printed by accident may land in the frames
    sys.stdout = sys.stderr
    first = _read_frame(src)
    if first is None:
        os._exit(0)
    setup = msgspec.msgpack.decode(first, type=_Setup)
    sys.path[:0] = [p for p in setup.sys_path if p not in sys.path]
    from openapiopenai.archive._archive import Archive  # here: the module imports this one's users
    from openapiopenai.archive._checkpoint import IdleCheckpoints

    try:
        archive = Archive(setup.path, create=False)
    except Exception as exc:  # the parent re-raises it as its own one-line error
        _reply(out, _Answer(error=type(exc).__name__, message=str(exc)))
        os._exit(0)
    with contextlib.suppress(OSError):
        wrap = None if setup.wrap is None else pickle.loads(setup.wrap)
        conn = archive.connection if wrap is None else wrap(archive.connection)
        if ID_INDEX in missing_indexes(archive.connection):
            # A back-fill into an empty archive: only the table and the time index take rows, both at
            # one edge, so pages once written are not read again and the 64 MB cache (`_schema`, for
            # the id index's random inserts) would only hold them; peak RSS counts both processes.
            archive.connection.execute(f"PRAGMA cache_size = -{_BACKFILL_CACHE_KIB}")
        state = SyncState(conn, setup.key, setup.path, owner=setup.owner)
        checkpoints = IdleCheckpoints(archive.connection)
        _reply(out, _Answer())
        while True:
            if not _readable(src):
                checkpoints.idle()   # nothing to commit yet: copy the WAL meanwhile (see `_checkpoint`)
            frame = _read_frame(src)
            if frame is None:
                break
            request = _decode_request(frame)
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
            _reply(out, answer)
    os._exit(0)


def _reply(out: int, answer: _Answer) -> None:
    _write_frame(out, _encode(answer))


def _batch(p: _Page) -> PageBatch:
    return PageBatch(p.slice_no, p.heads, p.raws, p.tenant, p.cursor_id, p.cursor_at, p.lo, p.hi, p.done)


def _split(s: _Split) -> Split:
    return Split(s.no, s.lo, SliceState(s.below_no, s.below_lo, s.below_hi))
