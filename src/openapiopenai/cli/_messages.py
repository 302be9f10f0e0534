"""Every line the CLI writes to stderr: one place that escapes controls and redacts admin keys.

Keys are redacted twice over: any key this process was given (whatever it looks like), and anything
shaped like an OpenAI key (``sk-...``), because a key can reach a message by paths that never told
us it was one: typed as a stray argument, pasted into ``--since``, part of a path or URL.
"""

from __future__ import annotations

import re

import click

__all__ = ["KEY_SHAPE", "note", "redact", "remember_secret"]

#: ``sk-`` then a key's body: sk-admin-..., sk-proj-..., sk-svcacct-..., legacy sk-<48 chars>.
KEY_SHAPE = re.compile(r"sk-[A-Za-z0-9][A-Za-z0-9_\-]{6,}")
REDACTED = "[redacted key]"

# Keys seen in this process, scrubbed from every message the CLI prints, whatever produced it.
_SECRETS: set[str] = set()


def remember_secret(secret: str) -> None:
    _SECRETS.add(secret)


def redact(text: str) -> str:
    # Longest first: a key that contains another must not be left half shown.
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return KEY_SHAPE.sub(REDACTED, text)


def note(message: str) -> None:
    """One line on stderr, controls escaped and keys redacted."""
    from ._output import escape_control

    click.echo(escape_control(redact(message)), err=True)


def plural(count: int, noun: str) -> str:
    """``1 page``, ``2 pages``, ``12,000 events``: counts read the same in every message."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
