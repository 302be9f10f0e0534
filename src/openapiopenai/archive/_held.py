"""The archive files this process holds open through SQLite, so that nothing else here opens and closes them.

POSIX record locks belong to a process and a file, not to a file descriptor: closing *any* descriptor of
the file drops every lock the process holds on it (SQLite's "How To Corrupt", section 2.2). SQLite keeps
its own descriptors open while a connection of this process still needs them, but a plain ``open()`` and
``close()`` of the archive (the header check in `_schema._check_file`) drops the SHARED lock that a live
WAL connection keeps on the database file. Another process that then closes its last connection finds no
lock, checkpoints, and deletes the WAL under the live connection, whose later commits no new reader sees:
lost. So a second `Archive` of a file this process already holds skips the header check (SQLite has read
that header already) instead of opening the file.

Files are told apart by device and inode, so another path to the same file (a link, ``./``) counts.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path

__all__ = ["FileKey", "hold", "is_held", "release"]

FileKey = tuple[int, int]

_held: Counter[FileKey] = Counter()
_lock = threading.Lock()


def _key(path: Path) -> FileKey | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def is_held(path: Path) -> bool:
    """Whether a connection of this process has ``path`` open (then never ``open()`` it here)."""
    key = _key(path)
    with _lock:
        return key is not None and _held[key] > 0


def hold(path: Path) -> FileKey | None:
    """Count one more connection of this process on ``path``; give the key back to `release`."""
    key = _key(path)
    if key is not None:
        with _lock:
            _held[key] += 1
    return key


def release(key: FileKey | None) -> None:
    """The connection `hold` counted is closed."""
    if key is None:
        return
    with _lock:
        _held[key] -= 1
        if _held[key] <= 0:
            del _held[key]
