"""The row of an event read straight from a page's bytes (the sync's `head_rows`) is the row read from the
decoded event."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openapiopenai import anatomy
from openapiopenai._parse import parse_page
from openapiopenai.archive._page import split_page
from openapiopenai.archive._rows import event_row, head_rows
from openapiopenai.models.list_audit_logs_response import ListAuditLogsResponse

SESSION = {"type": "session", "session": {"user": {"id": "user-1", "email": "a@example.com"},
                                          "ip_address": "10.0.0.1", "user_agent": "curl"}}
KEY = {"type": "api_key", "api_key": {"id": "key_1", "type": "service_account",
                                      "service_account": {"id": "svc_1"}}}
KEY_WITH_USER = {"type": "api_key", "api_key": {"id": "key_2", "user": {"id": "user-2", "email": "b@example.com"},
                                                "service_account": {"id": "svc_2"}}}

ODD: list[dict[str, Any]] = [
    {"actor": SESSION, "project": {"id": "proj_1", "name": "P"}, "login.succeeded": {"id": "res"}},
    {"actor": KEY, "api_key.created": {"id": "key_9", "data": {"scopes": ["x"]}}},
    {"actor": KEY_WITH_USER},
    {},                                                           # no actor, no project, no payload
    {"actor": None, "project": None, "login.succeeded": None},    # explicit nulls
    {"actor": "weird"},                                           # not an object
    {"actor": {"type": "session", "session": {"user": {"id": 7}}}},   # a number where a string was
    {"actor": {"type": "session", "session": {"user": {"id": "", "email": ""}, "ip_address": ""}}},
    {"actor": {"type": "session", "session": []}},
    {"actor": {"type": "api_key", "session": "not read for api_key actors", "api_key": {"id": "k"}}},
    {"actor": {"type": "robot", "robot": {"id": "r"}}},           # an actor type newer than the spec
    {"project": {"id": ["a"]}},
    {"login.succeeded": [1, 2]},
    {"login.succeeded": {"id": "r", "extra": {"deep": [1, {"id": "no"}]}}, "newer_field": {"id": "x"}},
    {"login.succeeded": {"id": ""}},                              # an empty id is no resource
    {"login.succeeded": {"id": 7}},
    {"actor": SESSION, "project": [], "login.succeeded": {"name": "no id"}},
    {"actor": {"type": "api_key", "api_key": {"id": "", "user": {"email": "c@example.com"}}}, "project": {}},
]


def _body(events: list[dict[str, Any]]) -> bytes:
    # Unusual spacing and escapes, so the stored text can only be right if it is the service's own bytes.
    data = ",\n  ".join(json.dumps(e, separators=(" ,", " : "), ensure_ascii=True) for e in events)
    return f'{{"object": "list", "data": [{data}], "has_more": false}}'.encode()


def _page(events: list[dict[str, Any]]) -> list[Any]:
    return list(parse_page(_body(events), ListAuditLogsResponse).data or [])


def _sync_rows(events: list[dict[str, Any]], *, tenant: bool) -> list[tuple[Any, ...]]:
    page = split_page(_body(events))
    return head_rows(page.heads, page.raws, tenant=tenant)


@pytest.mark.parametrize("tenant", [False, True])
def test_head_rows_match_event_row(tenant: bool) -> None:
    events = [{"id": f"audit_log-{i}", "type": "login.succeeded", "effective_at": 1000 + i, **extra}
              for i, extra in enumerate(ODD)]
    events += [{"id": "audit_log-t1", "type": "actor", "effective_at": 5, "actor": {"id": "a"}},
               {"id": "audit_log-t2", "type": "project", "effective_at": 6, "project": {"id": "p"}},
               {"id": "audit_log-t3", "type": "brand.new", "effective_at": 7, "brand.new": {"id": "n\u00e9"}}]
    expected = [event_row(json.loads(event.raw_json), event.raw_json, tenant=tenant) for event in _page(events)]
    assert _sync_rows(events, tenant=tenant) == expected
    assert [type(row[11]) for row in expected] == [str] * len(events)


def test_head_rows_read_every_column_from_the_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_decoding(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("ordinary events take the fast path, without decoding the whole event")

    events = [
        {"id": "audit_log-1", "type": "login.succeeded", "effective_at": 10, "actor": SESSION,
         "project": {"id": "proj_1"}, "login.succeeded": {"id": "res_1"}},
        {"id": "audit_log-2", "type": "api_key.created", "effective_at": 9, "actor": KEY_WITH_USER,
         "api_key.created": {"id": "key_new"}},
    ]
    monkeypatch.setattr(anatomy, "facts", no_decoding)
    session, key = _sync_rows(events, tenant=True)
    assert session[:11] == ("audit_log-1", 10, "login.succeeded", 1, "session", "user-1", "a@example.com", None,
                            "proj_1", "10.0.0.1", "res_1")
    assert key[:11] == ("audit_log-2", 9, "api_key.created", 1, "api_key", "user-2", "b@example.com", "key_2",
                        None, None, "key_new")
    assert [session[11], key[11]] == [e.raw_json for e in _page(events)]


def test_each_distinct_actor_and_project_text_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from openapiopenai.archive import _rows

    monkeypatch.setattr(_rows, "_actors", {})
    monkeypatch.setattr(_rows, "_projects", {})
    read: list[Any] = []
    real = _rows.facts

    def counting(event: Any) -> Any:
        read.append(event)
        return real(event)

    monkeypatch.setattr(_rows, "facts", counting)
    events = [{"id": f"audit_log-{i}", "type": "login.succeeded", "effective_at": 100 - i,
               "actor": [SESSION, KEY][i % 2], "project": {"id": f"proj_{i % 3}"}, "login.succeeded": {"id": f"r{i}"}}
              for i in range(30)]
    rows = _sync_rows(events, tenant=False)
    assert len(read) == 2 + 3   # two actor texts, three project texts
    assert rows == [event_row(e, json.dumps(e, separators=(" ,", " : ")), tenant=False) for e in events]


def test_past_the_cache_limit_rows_are_still_read_right(monkeypatch: pytest.MonkeyPatch) -> None:
    from openapiopenai.archive import _rows

    monkeypatch.setattr(_rows, "_actors", {})
    monkeypatch.setattr(_rows, "_projects", {})
    monkeypatch.setattr(_rows, "_MAX_CACHED", 2)
    events = [{"id": f"audit_log-{i}", "type": "login.succeeded", "effective_at": 100 - i,
               "actor": {"type": "session", "session": {"user": {"id": f"user-{i}"}, "ip_address": f"10.0.0.{i}"}},
               "project": {"id": f"proj_{i}"}} for i in range(10)]
    rows = _sync_rows(events, tenant=True)
    assert len(_rows._actors) == 2 and len(_rows._projects) == 2
    assert [(r[5], r[8], r[9]) for r in rows] == [(f"user-{i}", f"proj_{i}", f"10.0.0.{i}") for i in range(10)]
