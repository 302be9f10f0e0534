"""The archive: a local SQLite copy of the audit log, kept exactly in step with the service.

    from openapiopenai.archive import Archive, Filters, sync_archive

    with Archive("audit.sqlite") as archive:
        result = sync_archive(api, archive, Filters(event_types=("login.failed",)), workers=4)
        for raw in archive.iter_raw(Filters(event_types=("login.failed",))):
            ...

`sync_archive` guarantees that after a completed run the archive holds exactly the service's events for
the synced range (none missing, none twice, each `raw` byte-identical), whatever crashes, retries and late
events happened on the way; see `_sync` for how.
"""

from typing import TYPE_CHECKING, Any

from openapiopenai.archive._archive import ROW_COLUMNS, ActorCount, Archive, ArchiveSummary
from openapiopenai.archive._errors import ArchiveError, ArchiveWriteError, SyncBusy, SyncError
from openapiopenai.archive._filters import Filters
from openapiopenai.archive._listing import ArchivedEvent, ArchiveFollower, iter_events
from openapiopenai.archive._schema import SCHEMA_VERSION

if TYPE_CHECKING:
    from openapiopenai.archive._sync import DEFAULT_GIVE_UP_AFTER, DEFAULT_LOOKBACK, SyncResult, sync_archive

# The sync's names are imported on first use: `_sync` and its walk, writer and scheduler are ~1/3 of this
# package's import, which a reader of the archive (`audit-logs detect`, a report) never needs.
_FROM_SYNC = frozenset({"DEFAULT_GIVE_UP_AFTER", "DEFAULT_LOOKBACK", "SyncResult", "sync_archive"})


def __getattr__(name: str) -> Any:
    if name in _FROM_SYNC:
        from openapiopenai.archive import _sync

        value = getattr(_sync, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_GIVE_UP_AFTER",
    "DEFAULT_LOOKBACK",
    "ROW_COLUMNS",
    "SCHEMA_VERSION",
    "ActorCount",
    "Archive",
    "ArchiveError",
    "ArchiveFollower",
    "ArchiveSummary",
    "ArchiveWriteError",
    "ArchivedEvent",
    "Filters",
    "SyncBusy",
    "SyncError",
    "SyncResult",
    "iter_events",
    "sync_archive",
]
