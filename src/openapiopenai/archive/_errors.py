"""The archive's two errors: bad input (the file) and a sync the service's answers made unsafe.

    ArchiveError(ValueError)   the path is not a usable archive: a directory, not SQLite, another
                               program's database, unreadable, locked, a newer schema, or a second sync
                               already running on it. Raised before anything is written.
    SyncError(RuntimeError)    the service answered in a way that would break the guarantee if we went
                               on: a repeated cursor, a page that makes no progress, events outside the
                               requested range or out of order, a malformed event. Nothing from the
                               offending page is committed; everything before it stays committed.

Both carry one clear line as their message, and never the admin key. Errors from the service itself
(after the client's retries) propagate unchanged as ``openapiopenai.exceptions.ApiException``.
"""

from __future__ import annotations

__all__ = ["ArchiveError", "SyncError"]


class ArchiveError(ValueError):
    """The path cannot be used as an archive (the file is left untouched)."""


class SyncError(RuntimeError):
    """The service's answers would make the archive wrong; the sync stopped before committing them."""
