"""The archive's errors: bad input (the file), a busy archive, a failed write, and unsafe answers.

    ArchiveError(ValueError)      the path is not a usable archive: a directory, not SQLite, another
                                  program's database, unreadable, locked, or a newer schema. Raised
                                  before anything is written.
      SyncBusy                    another sync is running on this archive (it holds the archive's lock);
                                  nothing was written, and the running sync is left alone.
    ArchiveWriteError(RuntimeError)
                                  a write failed during a sync: the disk is full, an I/O error, a lock
                                  held past the busy timeout. The failed transaction is rolled back;
                                  everything committed before it stays, and the next sync resumes.
    SyncError(RuntimeError)       the service answered in a way that would break the guarantee if we went
                                  on: a repeated cursor, a page that makes no progress, events outside the
                                  requested range or out of order, a malformed event. Nothing from the
                                  offending page is committed; everything before it stays committed.

Each carries one clear line as its message, and never the admin key. Errors from the service itself
propagate as ``openapiopenai.exceptions.ApiException`` (a sync first retries what is worth retrying,
until its give-up budget is spent).
"""

from __future__ import annotations

__all__ = ["ArchiveError", "ArchiveWriteError", "SyncBusy", "SyncError"]


class ArchiveError(ValueError):
    """The path cannot be used as an archive (the file is left untouched)."""


class SyncBusy(ArchiveError):
    """Another sync holds the archive; `pid` is its process id when known."""

    def __init__(self, message: str, pid: int | None) -> None:
        super().__init__(message)
        self.pid = pid


class ArchiveWriteError(RuntimeError):
    """A write to the archive failed mid-sync; what was committed before it is kept."""


class SyncError(RuntimeError):
    """The service's answers would make the archive wrong; the sync stopped before committing them."""
