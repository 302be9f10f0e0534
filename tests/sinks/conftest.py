"""Fixtures for the sink tests.

- `archive_template`: a real archive synced (once per session) from an emulated organisation of 3,000
  events, both partitions; `make_archive()` copies it for a test (so each test starts from the same file).
- `postgres`: a real PostgreSQL server for the session (`_postgres_server`).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from _postgres_server import PostgresServer
from _sink_helpers import SINK_PASSWORD


@pytest.fixture(scope="session")
def archive_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import openapiopenai
    from openapiopenai.archive import Archive, Filters, sync_archive
    from openapiopenai.emulator import Emulator

    path = tmp_path_factory.mktemp("archive") / "template.sqlite"
    with Emulator(events=3000, seed=3) as emu, Archive(path) as archive:
        config = openapiopenai.Configuration(host=emu.base_url, access_token=emu.admin_key)
        with openapiopenai.ApiClient(config) as client:
            api = openapiopenai.AuditLogsApi(client)
            sync_archive(api, archive, Filters(), workers=2)
            sync_archive(api, archive, Filters(tenant_only=True))
        archive.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def make_archive(archive_template: Path, tmp_path: Path) -> Callable[[], Path]:
    def make() -> Path:
        path = tmp_path / "audit.sqlite"
        shutil.copyfile(archive_template, path)
        return path

    return make


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session, with the role `ship` (password `SINK_PASSWORD`), database `audit`."""
    server = PostgresServer()
    try:
        server.start()
        server.create_user("ship", SINK_PASSWORD, "audit")
        yield server
    finally:
        server.close()
