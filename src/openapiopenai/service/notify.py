"""Telling people about a match: a JSON POST to a webhook, or any other service through ``apprise``.

Each match goes to each target once. The archive keeps which (target, match) pairs were delivered, in a
table of the service's own (``service_notifications``), written after the target accepted: a cycle
that dies between the two re-sends that one notification, never skips one, and a target that is down
gets the matches it missed on the next cycle while the others are not told twice.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import warnings
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import httpx

if TYPE_CHECKING:
    from openapiopenai.rules import Match

__all__ = ["Notifier", "NotifyError", "match_key", "target_secrets"]

#: A webhook that does not answer within this long is retried next cycle, not waited for.
TIMEOUT_S = 10.0

_TABLE = """CREATE TABLE IF NOT EXISTS service_notifications (
    target TEXT NOT NULL, match_key TEXT NOT NULL, rule_id TEXT NOT NULL, sent_at REAL NOT NULL,
    PRIMARY KEY (target, match_key)) WITHOUT ROWID"""


class NotifyError(Exception):
    """A target refused or could not be reached (one line, no secret: the target is named by its host)."""


def match_key(match: Match) -> str:
    """The same alert always has the same key: its rule and the events it matched."""
    text = match.rule_id + "\n" + "\n".join(sorted(match.event_ids))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def describe_target(target: str) -> str:
    """``https://hooks.example.com/...``: enough to tell targets apart, never a token in a path or query."""
    scheme, _, rest = target.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme}://{host}/..."


#: The pseudo-target under which every match found is recorded (counted once in the metrics).
_SEEN = "(found)"


#: Parts of a target URL shorter than this are words (``hooks``, ``api``), not tokens worth scrubbing.
_SHORTEST_TOKEN = 8


def target_secrets(target: str) -> list[str]:
    """What in a target URL may be a credential: its password, and every long path segment or query value.

    apprise URLs carry their tokens anywhere after the scheme (``slack://TokenA/TokenB/TokenC``,
    ``discord://id/token``, ``mailto://user:password@host``), and apprise's own log lines repeat them.
    """
    parsed = urlsplit(target)
    parts = [target, target.partition("://")[2]]
    if parsed.password:
        parts.append(parsed.password)
    parts += [segment for segment in parsed.path.split("/") if len(segment) >= _SHORTEST_TOKEN]
    parts += [value for _, value in parse_qsl(parsed.query) if len(value) >= _SHORTEST_TOKEN]
    return [part for part in parts if part]


def _target_id(target: str) -> str:
    # The URL's host for a reader, and a digest of the whole for uniqueness: the table never holds a
    # webhook's token (often in its path) in clear.
    return describe_target(target) + " " + hashlib.sha256(target.encode()).hexdigest()[:16]


class Notifier:
    def __init__(self, conn: sqlite3.Connection, org: str, client: httpx.Client | None = None) -> None:
        self.conn = conn
        self.org = org
        self.client = client
        conn.execute(_TABLE)

    def _recorded(self, target_id: str, key: str) -> bool:
        return self.conn.execute("SELECT 1 FROM service_notifications WHERE target = ? AND match_key = ?",
                                 (target_id, key)).fetchone() is not None

    def _record(self, target_id: str, match: Match) -> None:
        self.conn.execute("INSERT OR IGNORE INTO service_notifications VALUES (?, ?, ?, ?)",
                          (target_id, match_key(match), match.rule_id, time.time()))

    def first_seen(self, match: Match) -> bool:
        """True the first time ``match`` is found (a match is counted once, however often it is looked at)."""
        if self._recorded(_SEEN, match_key(match)):
            return False
        self._record(_SEEN, match)
        return True

    def send(self, target: str, match: Match) -> bool:
        """Deliver ``match`` to ``target`` unless it already was; True when it was sent now."""
        from openapiopenai.cli._messages import remember_secret

        target_id = _target_id(target)
        if self._recorded(target_id, match_key(match)):
            return False
        for secret in target_secrets(target):
            remember_secret(secret)   # scrubbed from every log line, apprise's own included
        body = {"organization": self.org, "key": match_key(match), **match.to_json()}
        if target.split("://", 1)[0].lower() in ("http", "https"):
            self._post(target, body)
        else:
            _apprise(target, match, self.org)
        self._record(target_id, match)
        return True

    def _post(self, target: str, body: dict[str, Any]) -> None:
        client = self.client or httpx.Client(timeout=TIMEOUT_S)
        try:
            response = client.post(target, content=json.dumps(body), headers={"content-type": "application/json"})
        except httpx.HTTPError as exc:
            raise NotifyError(f"{describe_target(target)}: {type(exc).__name__}") from None
        finally:
            if self.client is None:
                client.close()
        if response.status_code >= 300:
            raise NotifyError(f"{describe_target(target)}: HTTP {response.status_code}")


def _apprise(target: str, match: Match, org: str) -> None:
    with warnings.catch_warnings():
        # apprise imports the standard library's deprecated imghdr on Python 3.11-3.12 (when it first
        # sends): not ours to fix, and not a failure of the notification.
        warnings.filterwarnings("ignore", message=".*imghdr.*", category=DeprecationWarning)
        _send_through_apprise(target, match, org)


def _send_through_apprise(target: str, match: Match, org: str) -> None:
    try:
        import apprise
    except ImportError:
        raise NotifyError("apprise is not installed: pip install 'openapiopenai[service]'") from None
    sender = apprise.Apprise()
    if not sender.add(target):
        raise NotifyError(f"{describe_target(target)}: apprise does not know this URL")
    body = (f"{match.title} ({match.level}) in {org} at {match.time}: actor {match.actor or '-'}, "
            f"ip {match.ip_address or '-'}, target {match.target or '-'}; events {', '.join(match.event_ids)}")
    if not sender.notify(title=f"[{match.level}] {match.title}", body=body):
        raise NotifyError(f"{describe_target(target)}: not delivered")
