"""A faithful local stand-in for `GET /v1/organization/audit_logs`, with fault injection.

    with Emulator(events=2000, seed=1) as emu:
        httpx.get(emu.base_url + "/organization/audit_logs",
                  headers={"Authorization": f"Bearer {emu.admin_key}"})

Modules: `_org` and `_payloads` draw the organisation and event payloads, `_generator` the events,
`_store` keeps them in SQLite and answers pages; `_faults`, `_live` and `_app` make the ASGI app;
`_server` runs it.
"""

from openapiopenai.emulator._app import EmulatedDisconnect, EmulatorApp, create_app
from openapiopenai.emulator._faults import FAULT_KINDS, Faults
from openapiopenai.emulator._generator import DEFAULT_END, NEWER_TYPES, Generator, is_tenant_scoped
from openapiopenai.emulator._server import Emulator, serve
from openapiopenai.emulator._store import CursorNotFound, EventStore, Page

__all__ = [
    "DEFAULT_END",
    "FAULT_KINDS",
    "NEWER_TYPES",
    "CursorNotFound",
    "EmulatedDisconnect",
    "Emulator",
    "EmulatorApp",
    "EventStore",
    "Faults",
    "Generator",
    "Page",
    "create_app",
    "is_tenant_scoped",
    "serve",
]
