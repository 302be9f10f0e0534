"""Turn ``list_audit_logs`` arguments into the query string the live service reads.

The spec declares ``effective_at`` as a plain object parameter, so OpenAPI's default encoding (form,
explode) would send ``gte=…&lt=…``, which the service ignores: the filter would be silently lost. The
service reads ``effective_at[gte]=…`` and repeated ``project_ids[]=a&project_ids[]=b``, so that is what
this module writes, after checking every argument so a mistake fails before anything is sent.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

__all__ = ["build_query", "effective_at_bounds"]

_BOUNDS = ("gt", "gte", "lt", "lte")
_LIST_PARAMS = ("project_ids", "event_types", "actor_ids", "actor_emails", "resource_ids")


def _quote(value: str) -> str:
    return quote(value, safe="")


def _timestamp(name: str, value: Any) -> int:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"effective_at[{name}]: a datetime must be timezone-aware (e.g. tzinfo=timezone.utc)")
        return int(value.timestamp())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"effective_at[{name}] must be an integer Unix time in seconds, got {value!r}")
    if value < 0:
        raise ValueError(f"effective_at[{name}] must not be negative, got {value}")
    return value


def effective_at_bounds(effective_at: Any) -> dict[str, int]:
    """Normalise an ``effective_at`` argument (model, mapping or None) to ``{bound: seconds}``."""
    if effective_at is None:
        return {}
    if hasattr(effective_at, "_data") and isinstance(effective_at._data, dict):
        raw: Mapping[str, Any] = effective_at._data
    elif isinstance(effective_at, Mapping):
        raw = effective_at
    else:
        raise ValueError(
            "effective_at must be a ListAuditLogsEffectiveAtParameter or a mapping such as "
            f"{{'gte': 1700000000}}, got {type(effective_at).__name__}"
        )
    unknown = set(raw) - set(_BOUNDS)
    if unknown:
        raise ValueError(f"effective_at accepts only gt, gte, lt, lte; got {sorted(unknown)}")
    bounds = {k: _timestamp(k, raw[k]) for k in _BOUNDS if raw.get(k) is not None}
    if "gt" in bounds and "gte" in bounds:
        raise ValueError("effective_at: give gt or gte, not both")
    if "lt" in bounds and "lte" in bounds:
        raise ValueError("effective_at: give lt or lte, not both")
    lower = bounds.get("gte", bounds["gt"] + 1 if "gt" in bounds else None)
    upper = bounds.get("lte", bounds["lt"] - 1 if "lt" in bounds else None)
    if lower is not None and upper is not None and lower > upper:
        raise ValueError(f"effective_at: the range is empty ({bounds})")
    return bounds


def _strings(name: str, values: Any) -> list[str]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ValueError(f"{name} must be a list of strings, got {type(values).__name__} {values!r}")
    out: list[str] = []
    for v in values:
        if isinstance(v, enum.Enum):
            v = v.value
        if not isinstance(v, str) or not v:
            raise ValueError(f"{name} must hold non-empty strings, got {v!r}")
        out.append(v)
    if not out:
        # An empty list would send no filter at all and so match *every* event: a script whose list
        # came out empty would silently export the whole organisation. None is how to ask for no filter.
        raise ValueError(f"{name} is empty; pass None (or omit it) for no filter")
    return out


def _cursor(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty event id string, got {value!r}")
    return value


def build_query(
    *,
    effective_at: Any = None,
    project_ids: Any = None,
    event_types: Any = None,
    actor_ids: Any = None,
    actor_emails: Any = None,
    resource_ids: Any = None,
    tenant_only: Any = None,
    limit: Any = None,
    after: Any = None,
    before: Any = None,
) -> str:
    """Validate the arguments and return the encoded query string (``ValueError`` on a bad one)."""
    parts: list[str] = []
    for bound, seconds in effective_at_bounds(effective_at).items():
        parts.append(f"effective_at%5B{bound}%5D={seconds}")
    lists = {"project_ids": project_ids, "event_types": event_types, "actor_ids": actor_ids,
             "actor_emails": actor_emails, "resource_ids": resource_ids}
    for name in _LIST_PARAMS:
        values = lists[name]
        if values is None:
            continue
        for v in _strings(name, values):
            parts.append(f"{name}%5B%5D={_quote(v)}")
    if tenant_only is not None:
        if not isinstance(tenant_only, bool):
            raise ValueError(f"tenant_only must be True or False, got {tenant_only!r}")
        parts.append("tenant_only=" + ("true" if tenant_only else "false"))
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
            raise ValueError(f"limit must be an integer from 1 to 100, got {limit!r}")
        parts.append(f"limit={limit}")
    # Both cursors are sent when given: the spec does not make them exclusive, and the official SDK's
    # before= pagination sends both (spec/README.md records how the emulator reads the pair).
    if after is not None:
        parts.append("after=" + _quote(_cursor("after", after)))
    if before is not None:
        parts.append("before=" + _quote(_cursor("before", before)))
    return "&".join(parts)
