"""Fixtures of the network sinks' tests: a throw-away TLS authority, and the HTTP stand-ins on free
loopback ports (stopped at teardown).

- `tls_ca`: a `trustme.CA`; `ca_file` its certificate as a PEM file (``?ca_file=`` of a sink URL).
- `make_search(flavour="elasticsearch", **kwargs)`: a started `SearchStandIn` (TLS unless ``tls=None``).
- `make_hec(**kwargs)`: a started `HecStandIn` (TLS unless ``tls=None``).
- `make_receiver(**kwargs)`: a started `WebhookReceiver` (TLS unless ``tls=None``).
- `make_rsyslog(tls=False, **kwargs)`: a started real `Rsyslog` in a temporary folder (killed at teardown).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from _net_hec import HecStandIn
from _net_rsyslog import Rsyslog
from _net_search import SearchStandIn
from _net_webhook import WebhookReceiver


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return path


@contextlib.contextmanager
def _stand_ins(tls_ca: trustme.CA, kind: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """A factory of started stand-ins of `kind` (TLS from `tls_ca` unless ``tls=None``), all stopped after."""
    started: list[Any] = []

    def make(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("tls", tls_ca)
        standin = kind(*args, **kwargs)
        standin.start()
        started.append(standin)
        return standin

    try:
        yield make
    finally:
        for standin in started:
            standin.stop()


@pytest.fixture
def make_search(tls_ca: trustme.CA) -> Iterator[Callable[..., SearchStandIn]]:
    with _stand_ins(tls_ca, SearchStandIn) as make:
        yield make


@pytest.fixture
def make_hec(tls_ca: trustme.CA) -> Iterator[Callable[..., HecStandIn]]:
    with _stand_ins(tls_ca, HecStandIn) as make:
        yield make


@pytest.fixture
def make_receiver(tls_ca: trustme.CA) -> Iterator[Callable[..., WebhookReceiver]]:
    with _stand_ins(tls_ca, WebhookReceiver) as make:
        yield make


@pytest.fixture
def make_rsyslog(tls_ca: trustme.CA, tmp_path: Path) -> Iterator[Callable[..., Rsyslog]]:
    started: list[Rsyslog] = []

    def make(tls: bool = False, **kwargs: Any) -> Rsyslog:
        server = Rsyslog(tmp_path / f"rsyslog{len(started)}", tls=tls_ca if tls else None, **kwargs)
        started.append(server)
        return server.start()

    yield make
    for server in started:
        server.kill()
