"""Re-create `v1_archive.sqlite`: a version-1 archive as the code before schema 2 wrote it.

Run from a checkout of that code (commit 3b28eeb on main made the stored file):

    PYTHONPATH=<checkout>/src python tests/archive/data/make_v1_archive.py tests/archive/data/v1_archive.sqlite

It syncs an emulated organisation's events in both partitions (the ordinary listing and the tenant-only
one), then a filtered stream, so the file has several sync-state rows and the lookup indexes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import openapiopenai
from openapiopenai.archive import Archive, Filters, sync_archive
from openapiopenai.archive._schema import SCHEMA_VERSION
from openapiopenai.emulator import Emulator

assert SCHEMA_VERSION == 1, "run this with the version-1 code"
target = Path(sys.argv[1])
target.unlink(missing_ok=True)
with Emulator(events=600, seed=7) as emu, Archive(target) as archive:
    config = openapiopenai.Configuration(host=emu.base_url, access_token=emu.admin_key)
    with openapiopenai.ApiClient(config) as client:
        api = openapiopenai.AuditLogsApi(client)
        sync_archive(api, archive, Filters(), workers=2)
        sync_archive(api, archive, Filters(tenant_only=True))
        sync_archive(api, archive, Filters(event_types=("login.failed",)))
    archive.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
