"""Archived events as the shipper hands them to a sink, for the network sinks' tests."""

from __future__ import annotations

import json
from typing import Any

from openapiopenai.sinks import Item

#: The first second of 2026-11-01 UTC.
T0 = 1793491200


def raw_event(i: int, event_type: str = "login.succeeded") -> str:
    """An event's JSON with spacing and escapes no encoder here produces, so a re-encoded copy would differ."""
    event = {"id": f"audit_log-{i:06d}", "type": event_type, "effective_at": T0 + i,
             "actor": {"type": "session", "session": {"user": {"id": "user-1", "email": "a\u00e9@example.com"},
                                                      "ip_address": "10.0.0.7"}},
             event_type: {"id": f"res_{i % 5}", "note": "quote \" and slash \\ and </script>"}}
    return json.dumps(event, separators=(", ", " : "), ensure_ascii=True)


def item(i: int, *, doc: dict[str, Any] | None = None, event_type: str = "login.succeeded",
         seq: int | None = None) -> Item:
    return Item(seq=i if seq is None else seq, event_id=f"audit_log-{i:06d}", effective_at=T0 + i,
                event_type=event_type, raw=raw_event(i, event_type), doc=doc,
                schema="raw" if doc is None else "ecs")


def batch(start: int, count: int) -> list[Item]:
    return [item(i) for i in range(start, start + count)]
