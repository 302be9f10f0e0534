"""Running the emulator: in the background for tests (`Emulator`), or in the foreground for the CLI (`serve`)."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import uvicorn

from openapiopenai.emulator._app import EmulatorApp, create_app
from openapiopenai.emulator._faults import Faults
from openapiopenai.emulator._store import EventStore

_STARTUP_TIMEOUT_S = 10.0


def open_store(db: str | None, events: int, seed: int, *, newer_types: bool = False) -> EventStore:
    """A store holding `events` generated events, reusing a `db` file that already holds some."""
    store = EventStore(db)
    if store.count() == 0:
        store.generate(events, seed, newer_types=newer_types)
    return store


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int, *, allow_public: bool) -> socket.socket:
    """Bind ourselves (rather than let uvicorn) so that port 0 yields a known free port before serving."""
    if not is_loopback(host) and not allow_public:
        raise ValueError(f"refusing to serve on non-loopback host {host!r}: the emulator accepts any "
                         "client of its control API; pass allow_public=True to do it anyway")
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         proto=socket.IPPROTO_TCP)[0]
    # Name the protocol: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say they are TCP,
    # and with Nagle on, a response's body waits for the ACK of its headers, 40 ms of delayed ACK.
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    return sock


def _base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/v1"


class _Server(uvicorn.Server):
    """uvicorn's server, telling us once it listens (the CLI prints the URL only then)."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None] | None = None) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self._on_started is not None:
            self._on_started()


def _config(app: EmulatorApp, log_level: str) -> uvicorn.Config:
    # proxy_headers off: the control API trusts the socket's peer address, never a forwarded header.
    return uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off", proxy_headers=False,
                          server_header=False)


class Emulator:
    """An emulator on a free loopback port, in a background thread: `with Emulator() as emu: emu.base_url`.

    Generates `events` events of organisation `seed` (or reuses the events of a `db` file), then serves
    them until the block ends. The fault settings mirror the CLI's options; `fault_seed` pins which
    requests fail.
    """

    def __init__(self, events: int = 1000, seed: int = 1, admin_key: str = "sk-admin-test", *,
                 db: str | None = None, host: str = "127.0.0.1", port: int = 0, latency_ms: float = 0,
                 fail_rate: float = 0.0, rate_limit: float | None = None, live_rate: float = 0.0,
                 newer_types: bool = False, fault_seed: int = 0, allow_public: bool = False,
                 store: EventStore | None = None) -> None:
        self.admin_key = admin_key
        self.host = host
        self.port = port
        self._allow_public = allow_public
        # A given `store` is served as it is (a test's hand-made data); otherwise one is generated.
        self.store = store if store is not None else open_store(db, events, seed, newer_types=newer_types)
        faults = Faults(latency_ms=latency_ms, fail_rate=fail_rate, rate_limit=rate_limit, seed=fault_seed)
        self.app = create_app(self.store, admin_key=admin_key, faults=faults, live_rate=live_rate)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._base_url: str | None = None

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT/v1`, the URL a client is configured with."""
        if self._base_url is None:
            raise RuntimeError("the emulator is not running; use it as a context manager or call start()")
        return self._base_url

    def start(self) -> Emulator:
        if self._server is not None:
            return self
        sock = _bind(self.host, self.port, allow_public=self._allow_public)
        server = _Server(_config(self.app, "warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="emulator", daemon=True)
        thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError("the emulator's server did not start")
            time.sleep(0.002)
        self._server, self._thread, self._sock = server, thread, sock
        self._base_url = _base_url(sock)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_STARTUP_TIMEOUT_S)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None
        self._base_url = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- control helpers (the same as the HTTP control API, without the round trip) ---------------

    def insert_events(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Store full or partial events (completed like `POST /_emulator/events`); returns them as stored."""
        return self.store.insert(events)

    def set_faults(self, **changes: Any) -> Faults:
        """Change latency_ms, fail_rate, rate_limit, kinds or seed at run time; returns the new settings."""
        injector = self.app.injector
        injector.configure(injector.faults.updated(changes), reseed="seed" in changes)
        return injector.faults

    def counters(self) -> dict[str, Any]:
        return self.app.counter_snapshot()

    def reset_counters(self) -> None:
        self.app.counters.clear()


def serve(host: str = "127.0.0.1", port: int = 8787, events: int = 20_000, seed: int = 1,
          admin_key: str = "sk-admin-demo", db: str | None = None, latency_ms: float = 0,
          fail_rate: float = 0.0, rate_limit: float | None = None, live_rate: float = 0.0,
          newer_types: bool = False, *, allow_public: bool = False, fault_seed: int = 0,
          log_level: str = "warning", echo: Callable[[str], None] | None = None,
          scenarios: tuple[str, ...] = ()) -> None:
    """Serve in the foreground until interrupted; prints `http://HOST:PORT/v1` once listening (after a line
    per planted scenario: its name, start and event ids)."""
    sock = _bind(host, port, allow_public=allow_public)
    try:
        store = open_store(db, events, seed, newer_types=newer_types)
        if scenarios:
            from openapiopenai.emulator._scenarios import plant_all

            for planted in plant_all(store, list(scenarios)):
                print(f"scenario {planted.name} at {planted.at}: {' '.join(planted.ids)}", flush=True)
        faults = Faults(latency_ms=latency_ms, fail_rate=fail_rate, rate_limit=rate_limit, seed=fault_seed)
        app = create_app(store, admin_key=admin_key, faults=faults, live_rate=live_rate)
        url = _base_url(sock)
        announce = echo or (lambda line: print(line, flush=True))
        _Server(_config(app, log_level), on_started=lambda: announce(url)).run(sockets=[sock])
    finally:
        sock.close()
