"""One sync at a time per archive, decided by the operating system rather than by a token in the file.

A running sync holds ``fcntl.flock`` on a side file, ``<archive>.sync-lock``, which also holds its pid
for the message a second sync prints. The kernel drops the lock when the holder dies however it dies
(SIGKILL included), so "is a sync running?" has a true answer: a second sync either waits for the lock
or gives up with `SyncBusy`, and never takes over a live walk; once the holder is gone, the next sync
takes the lock and resumes the walk it left. The lock file is never deleted (deleting it while a sync
holds it would let a second one in); it is a few bytes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from openapiopenai.archive._errors import ArchiveWriteError, SyncBusy

__all__ = ["SyncLock", "lock_path"]

#: How often a waiting sync asks for the lock again (flock has no timeout of its own).
_RETRY_S = 0.2


def lock_path(archive: Path) -> Path:
    return archive.with_name(archive.name + ".sync-lock")


class SyncLock:
    """The archive's sync lock; `acquire` it, then `release` (or use as a context manager)."""

    def __init__(self, archive: Path, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.archive = archive
        self.path = lock_path(archive)
        self._clock = clock
        self._sleep = sleep
        self._fd: int | None = None

    def acquire(self, wait: float = 0.0) -> None:
        """Take the lock, waiting up to `wait` seconds for a running sync; else raise `SyncBusy`."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise ArchiveWriteError(f"{self.path}: cannot open the sync lock ({exc.strerror or exc})") from None
        deadline = self._clock() + max(0.0, wait)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    left = deadline - self._clock()
                    if left <= 0:
                        pid = _read_pid(fd)
                        who = f", pid {pid}" if pid is not None else ""
                        raise SyncBusy(f"another sync is running on {self.archive.name}{who}", pid) from None
                    self._sleep(min(_RETRY_S, left))
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)   # no stale pid for the next message
            os.close(self._fd)   # closing drops the flock
            self._fd = None

    def __enter__(self) -> SyncLock:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
