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

from openapiopenai.archive._archive import ROW_COLUMNS, ActorCount, Archive, ArchiveSummary
from openapiopenai.archive._errors import ArchiveError, ArchiveWriteError, SyncBusy, SyncError
from openapiopenai.archive._filters import Filters
from openapiopenai.archive._schema import SCHEMA_VERSION
from openapiopenai.archive._sync import DEFAULT_GIVE_UP_AFTER, DEFAULT_LOOKBACK, SyncResult, sync_archive

__all__ = [
    "DEFAULT_GIVE_UP_AFTER",
    "DEFAULT_LOOKBACK",
    "ROW_COLUMNS",
    "SCHEMA_VERSION",
    "ActorCount",
    "Archive",
    "ArchiveError",
    "ArchiveSummary",
    "ArchiveWriteError",
    "Filters",
    "SyncBusy",
    "SyncError",
    "SyncResult",
    "sync_archive",
]
