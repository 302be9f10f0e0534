"""The filter set shared by `sync`, `list`, `export` and `tail`, and the archive's own queries.

One value object answers three questions: what to send the service (`list_kwargs`), what to ask the
archive (`Archive.count`/`iter_*`), and which sync watermark a run belongs to (`key`). The key leaves
out `since`/`until` on purpose: a schedule that syncs "the last 7 days" every hour is one stream of
events with one high-water mark, not a new stream per run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Filters"]

_LIST_FIELDS = ("event_types", "project_ids", "actor_ids", "actor_emails", "resource_ids")


def _canonical(name: str, values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, (str, bytes)):
        # A bare string would otherwise be split into characters, a classic silent filter bug.
        raise ValueError(f"Filters.{name} must be a sequence of strings, not a single string")
    out: list[str] = []
    for value in values:
        if not isinstance(value, str) or not value:
            raise ValueError(f"Filters.{name} holds {value!r}; each value must be a non-empty string")
        out.append(value)
    # Order and repeats do not change what the service returns, so they must not change the key.
    return tuple(sorted(set(out)))


def _unix_seconds(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"Filters.{name} must be unix seconds (int), got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class Filters:
    """Which events a command is about. Every field narrows; an empty tuple means "any"."""

    event_types: tuple[str, ...] = ()
    project_ids: tuple[str, ...] = ()
    actor_ids: tuple[str, ...] = ()
    """A user id, a service account id or an API key tracking id (the service matches any of them)."""
    actor_emails: tuple[str, ...] = ()
    resource_ids: tuple[str, ...] = ()
    since: int | None = None
    """Only events with ``effective_at >= since`` (unix seconds)."""
    until: int | None = None
    """Only events with ``effective_at < until`` (unix seconds)."""
    tenant_only: bool = False
    """The service keeps tenant-scoped events apart: with this set it returns only those, without it none."""

    def __post_init__(self) -> None:
        for name in _LIST_FIELDS:
            object.__setattr__(self, name, _canonical(name, getattr(self, name)))
        since = _unix_seconds("since", self.since)
        until = _unix_seconds("until", self.until)
        if since is not None and until is not None and since >= until:
            raise ValueError(f"since ({since}) must be earlier than until ({until})")
        if not isinstance(self.tenant_only, bool):
            raise ValueError("Filters.tenant_only must be a bool")

    def effective_at(self) -> dict[str, int]:
        """The time range in the service's terms (empty when unbounded)."""
        rng: dict[str, int] = {}
        if self.since is not None:
            rng["gte"] = self.since
        if self.until is not None:
            rng["lt"] = self.until
        return rng

    def list_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``AuditLogsApi.list_audit_logs`` / ``iter_audit_logs``."""
        kwargs = self.scope_kwargs()
        rng = self.effective_at()
        if rng:
            kwargs["effective_at"] = rng
        return kwargs

    def scope_kwargs(self) -> dict[str, Any]:
        """`list_kwargs` without the time range: the sync sets its own range per slice."""
        kwargs: dict[str, Any] = {}
        for name in _LIST_FIELDS:
            values = getattr(self, name)
            if values:
                kwargs[name] = list(values)
        if self.tenant_only:
            kwargs["tenant_only"] = True
        return kwargs

    def key(self) -> str:
        """Canonical identity of the filter set, without `since`/`until`: the sync-state key."""
        ident: dict[str, Any] = {name: list(getattr(self, name)) for name in _LIST_FIELDS}
        ident["tenant_only"] = self.tenant_only
        return json.dumps(ident, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_key(cls, key: str) -> Filters:
        """The filter set a `key()` was made from (without a time range), e.g. for display."""
        data = json.loads(key)
        def values(name: str) -> tuple[str, ...]:
            return tuple(data.get(name) or ())

        return cls(event_types=values("event_types"), project_ids=values("project_ids"),
                   actor_ids=values("actor_ids"), actor_emails=values("actor_emails"),
                   resource_ids=values("resource_ids"), tenant_only=bool(data.get("tenant_only", False)))
