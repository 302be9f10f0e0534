"""Property tests: paging through any filter with any limit yields exactly the filtered set, once each, in
order, in both directions. The reference is `EventStore.all_events`, a plain-Python filter over every event.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from _emulator_helpers import LIST
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openapiopenai.emulator import Emulator, EventStore, is_tenant_scoped

Page = tuple[list[str], bool]
Fetch = Callable[[dict[str, Any], int, str | None, str | None], Page]
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def crowd(store: EventStore) -> None:
    """Many events in a few seconds, so pages often start and end inside one second."""
    base = store.newest_effective_at() or 0
    store.insert([{"type": t, "effective_at": base - 5 + i % 3} for i, t in
                  enumerate(["login.succeeded", "tenant.user.added", "api_key.created"] * 15)])


@st.composite
def filters(draw: st.DrawFn, events: list[dict[str, Any]]) -> dict[str, Any]:
    """Filters made of values that occur (and some that do not), combined at random."""
    def actor_ids(e: dict[str, Any]) -> list[str]:
        actor = e.get("actor") or {}
        ids = [(actor.get("session") or {}).get("user", {}).get("id")]
        key = actor.get("api_key") or {}
        ids += [key.get("id"), (key.get("user") or {}).get("id"), (key.get("service_account") or {}).get("id")]
        return [i for i in ids if i]

    tenant_only = draw(st.booleans())
    pool = [e for e in events if is_tenant_scoped(e["type"]) == tenant_only]
    out: dict[str, Any] = {"tenant_only": tenant_only} if tenant_only or draw(st.booleans()) else {}
    sample = st.sampled_from(pool)
    if draw(st.booleans()):
        out["event_types"] = draw(st.lists(sample.map(lambda e: e["type"]), min_size=1, max_size=3))
    if draw(st.integers(0, 3)) == 0:
        out["project_ids"] = draw(st.lists(sample.map(lambda e: e.get("project", {}).get("id", "proj_none")),
                                           min_size=1, max_size=2))
    if draw(st.integers(0, 3)) == 0:
        out["actor_ids"] = draw(st.lists(sample.flatmap(lambda e: st.sampled_from(actor_ids(e) or ["user-none"])),
                                         min_size=1, max_size=2))
    if draw(st.integers(0, 4)) == 0:
        out["actor_emails"] = [draw(sample.map(
            lambda e: ((e.get("actor") or {}).get("session") or {}).get("user", {}).get("email", "a@b.c")))]
    if draw(st.integers(0, 4)) == 0:
        out["resource_ids"] = [draw(sample.map(lambda e: str(e[e["type"]].get("id", "none"))))]
    if draw(st.booleans()):
        seconds = sorted({e["effective_at"] for e in pool})
        low, high = sorted(draw(st.lists(st.sampled_from(seconds), min_size=2, max_size=2)))
        bounds = {}
        if draw(st.booleans()):
            bounds["gte" if draw(st.booleans()) else "gt"] = low
        if draw(st.booleans()):
            bounds["lte" if draw(st.booleans()) else "lt"] = high
        if bounds:
            out["effective_at"] = bounds
    return out


def walk_both_ways(fetch: Fetch, query: dict[str, Any], limit: int) -> tuple[list[str], list[str]]:
    older: list[str] = []
    ids, more = fetch(query, limit, None, None)
    pages = [ids]
    older += ids
    while more:
        ids, more = fetch(query, limit, ids[-1], None)
        assert ids, "has_more promised another page"
        pages.append(ids)
        older += ids
    # Back up from the bottom page with `before`, each page still newest first.
    newer = list(pages[-1])
    ids = pages[-1]
    while ids:
        ids, more = fetch(query, limit, None, ids[0])
        newer = ids + newer
        if not more:
            break
    return older, newer


def check(fetch: Fetch, store: EventStore, query: dict[str, Any], limit: int) -> None:
    want = [e["id"] for e in store.all_events(**query)]
    older, newer = walk_both_ways(fetch, query, limit)
    assert older == want
    assert newer == want


@pytest.fixture(scope="module")
def store() -> EventStore:
    s = EventStore()
    s.generate(1500, seed=11)
    crowd(s)
    return s


@pytest.fixture(scope="module")
def all_stored(store: EventStore) -> list[dict[str, Any]]:
    return store.all_events() + store.all_events(tenant_only=True)


def test_paging_the_store(store: EventStore, all_stored: list[dict[str, Any]]) -> None:
    def fetch(query: dict[str, Any], limit: int, after: str | None, before: str | None) -> Page:
        page = store.list_page(limit=limit, after=after, before=before, **query)
        return page.ids, page.has_more

    @SETTINGS
    @given(query=filters(all_stored), data=st.data())
    def run(query: dict[str, Any], data: st.DataObject) -> None:
        total = len(store.all_events(**query))
        # Limits small enough to make many pages, large enough to keep an example quick.
        limit = data.draw(st.integers(max(1, math.ceil(total / 60)), 100), label="limit")
        check(fetch, store, query, limit)

    run()


def reference_page(store: EventStore, query: dict[str, Any], limit: int, after: str | None,
                   before: str | None) -> Page:
    """One page by the definition: the filtered list, cut at the cursor's (effective_at, id)."""
    events = store.all_events(**query)
    cursor = after or before
    if cursor is None:
        return [e["id"] for e in events[:limit]], len(events) > limit
    position = store.position(cursor)
    assert position is not None
    if after is not None:
        beyond = [e["id"] for e in events if (e["effective_at"], e["id"]) < position]
        return beyond[:limit], len(beyond) > limit
    beyond = [e["id"] for e in events if (e["effective_at"], e["id"]) > position]
    return beyond[-limit:], len(beyond) > limit


def test_any_cursor_with_any_filter(store: EventStore, all_stored: list[dict[str, Any]]) -> None:
    """Cursors need not come from the same walk (a client may change its time range mid-walk): a page is
    always the filtered list cut at the cursor's position, wherever that lies."""

    @settings(SETTINGS, max_examples=150)
    @given(query=filters(all_stored), cursor=st.sampled_from(all_stored).map(lambda e: e["id"]),
           older=st.booleans(), limit=st.integers(1, 100))
    def run(query: dict[str, Any], cursor: str, older: bool, limit: int) -> None:
        after, before = (cursor, None) if older else (None, cursor)
        page = store.list_page(limit=limit, after=after, before=before, **query)
        assert (page.ids, page.has_more) == reference_page(store, query, limit, after, before)

    run()


@pytest.fixture(scope="module")
def http(store: EventStore) -> Iterator[httpx.Client]:
    headers = {"Authorization": "Bearer sk-admin-prop"}
    with Emulator(store=store, admin_key="sk-admin-prop") as emu, \
            httpx.Client(base_url=emu.base_url, headers=headers) as client:
        yield client


def encode(query: dict[str, Any], limit: int, after: str | None, before: str | None) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = [("limit", str(limit))]
    for name in ("event_types", "project_ids", "actor_ids", "actor_emails", "resource_ids"):
        params += [(name + "[]", value) for value in query.get(name, ())]
    params += [(f"effective_at[{op}]", str(v)) for op, v in query.get("effective_at", {}).items()]
    if "tenant_only" in query:
        params.append(("tenant_only", "true" if query["tenant_only"] else "false"))
    if after:
        params.append(("after", after))
    if before:
        params.append(("before", before))
    return params


def test_paging_over_http(http: httpx.Client, store: EventStore, all_stored: list[dict[str, Any]]) -> None:
    def fetch(query: dict[str, Any], limit: int, after: str | None, before: str | None) -> Page:
        response = http.get(LIST, params=encode(query, limit, after, before))
        assert response.status_code == 200, response.text
        body = response.json()
        ids = [e["id"] for e in body["data"]]
        assert body["first_id"] == (ids[0] if ids else None) and body["last_id"] == (ids[-1] if ids else None)
        return ids, body["has_more"]

    @settings(SETTINGS, max_examples=20)
    @given(query=filters(all_stored), data=st.data())
    def run(query: dict[str, Any], data: st.DataObject) -> None:
        total = len(store.all_events(**query))
        limit = data.draw(st.integers(max(1, math.ceil(total / 15)), 100), label="limit")
        check(fetch, store, query, limit)

    run()
