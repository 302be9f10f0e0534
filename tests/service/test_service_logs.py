"""The service's log lines, a library's included: one format, and no notification token in any of them."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator

import pytest

from openapiopenai.rules._engine import Match
from openapiopenai.service.logs import configure_logging
from openapiopenai.service.notify import Notifier, NotifyError, target_secrets

# Port 1 on loopback refuses at once: apprise fails to deliver and logs a warning of its own.
TARGET = "json://alerts:hunter2-password@127.0.0.1:1/hooks/tok3n-ABCDEFGH1234?secret=q-VALUE-5678"

MATCH = Match(rule_id="r-1", title="Admin key created", level="high", time="2026-12-01T00:00:00Z",
              event_ids=("audit_log-1",), actor="a@example.com", ip_address="127.0.0.1", country=None,
              target=None)


@pytest.fixture
def service_logging() -> Iterator[None]:
    yield
    for name in ("openapiopenai", "apprise"):   # back to how logging was, for the other tests
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
        logger.propagate = True


def test_the_secrets_of_a_target_url_are_its_password_and_long_tokens() -> None:
    secrets = target_secrets(TARGET)
    assert {"hunter2-password", "tok3n-ABCDEFGH1234", "q-VALUE-5678"} <= set(secrets)
    assert "hooks" not in secrets and "127.0.0.1:1" not in secrets


def test_apprise_lines_come_out_in_the_service_format_with_the_target_redacted(
        service_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("apprise")
    configure_logging("text", logging.DEBUG)
    notifier = Notifier(sqlite3.connect(":memory:"), "acme")
    with pytest.raises(NotifyError, match="not delivered") as failed:
        notifier.send(TARGET, MATCH)
    assert "tok3n" not in str(failed.value) and "hunter2" not in str(failed.value)
    # A line apprise writes with the whole URL in it, as its debug lines do, goes out redacted.
    logging.getLogger("apprise").warning("Failed to send to %s", TARGET)
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert any("warning" in line and "Connection error" in line for line in lines), err  # apprise's own warning
    assert all(line[:4].isdigit() and line[10] == "T" for line in lines), err   # our timestamped format
    assert "Failed to send to [redacted key]" in err
    for secret in ("hunter2-password", "tok3n-ABCDEFGH1234", "q-VALUE-5678"):
        assert secret not in err
    assert "JSON POST URL" not in err   # apprise's debug lines stay out even at the service's debug level
