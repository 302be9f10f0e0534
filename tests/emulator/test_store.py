"""The store: listing order and cursors at equal timestamps, filters, inserts, determinism."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from openapiopenai.emulator import CursorNotFound, EventStore, is_tenant_scoped

SECOND = 1_900_000_000  # after anything generated: the events of these tests are the newest


def same_second_events(n: int, ts: int = SECOND, **extra: Any) -> list[dict[str, Any]]:
    return [{"id": f"audit_log-eq{i:03d}", "type": "login.failed", "effective_at": ts, **extra} for i in range(n)]


@pytest.fixture
def store() -> EventStore:
    s = EventStore()
    s.generate(600, seed=5)
    return s


def walk(store: EventStore, direction: str = "after", limit: int = 7, **filters: Any) -> list[str]:
    """Every id the listing yields, paging `after` from the top, or `before` from the bottom."""
    if direction == "after":
        ids: list[str] = []
        page = store.list_page(limit=limit, **filters)
        ids += page.ids
        while page.has_more:
            page = store.list_page(limit=limit, after=page.ids[-1], **filters)
            ids += page.ids
        return ids
    everything = walk(store, "after", limit=limit, **filters)
    if not everything:
        return []
    bottom = store.list_page(limit=limit, after=everything[-limit - 1], **filters) if len(everything) > limit \
        else store.list_page(limit=limit, **filters)
    ids = list(bottom.ids)
    page = bottom
    while True:
        page = store.list_page(limit=limit, before=page.ids[0], **filters)
        ids = page.ids + ids
        if not page.has_more:
            return ids


def test_order_is_effective_at_then_id_descending(store: EventStore) -> None:
    events = store.all_events()
    keys = [(e["effective_at"], e["id"]) for e in events]
    assert keys == sorted(keys, reverse=True) and len(set(keys)) == len(keys)
    assert len(events) + len(store.all_events(tenant_only=True)) == store.count() == 600
    assert walk(store) == [e["id"] for e in events]


def test_generated_history_has_bursts_sharing_a_second(store: EventStore) -> None:
    seconds = [e["effective_at"] for e in store.all_events()]
    assert len(set(seconds)) < len(seconds) * 0.8


def test_cursors_are_exact_within_one_second(store: EventStore) -> None:
    store.insert(same_second_events(25))
    top = store.list_page(limit=10)
    assert top.ids == [f"audit_log-eq{i:03d}" for i in range(24, 14, -1)] and top.has_more
    nxt = store.list_page(limit=10, after=top.ids[-1])
    assert nxt.ids == [f"audit_log-eq{i:03d}" for i in range(14, 4, -1)]
    back = store.list_page(limit=10, before=nxt.ids[0])
    assert back.ids == top.ids and not back.has_more
    back2 = store.list_page(limit=3, before=nxt.ids[5])
    assert back2.ids == nxt.ids[2:5] and back2.has_more


@pytest.mark.parametrize("limit", [1, 3, 20, 100])
def test_walking_before_gives_the_same_list_as_after(store: EventStore, limit: int) -> None:
    store.insert(same_second_events(12))
    assert walk(store, "before", limit=limit) == walk(store, "after", limit=limit) == [
        e["id"] for e in store.all_events()
    ]


def test_has_more_and_empty_pages(store: EventStore) -> None:
    events = store.all_events()
    last = store.list_page(limit=5, after=events[-3]["id"])
    assert last.ids == [e["id"] for e in events[-2:]] and not last.has_more
    assert store.list_page(limit=5, after=events[-1]["id"]).ids == []
    first = store.list_page(limit=5, before=events[0]["id"])
    assert first.ids == [] and not first.has_more


def test_cursor_survives_appends(store: EventStore) -> None:
    page = store.list_page(limit=50)
    cursor = page.ids[-1]
    expected_next = store.list_page(limit=50, after=cursor).ids
    store.insert([{"type": "login.succeeded"} for _ in range(30)])
    assert store.list_page(limit=50, after=cursor).ids == expected_next
    newer = store.list_page(limit=100, before=page.ids[0])
    assert len(newer.ids) == 30 and not newer.has_more


def test_unknown_cursor_and_both_cursors(store: EventStore) -> None:
    with pytest.raises(CursorNotFound) as info:
        store.list_page(after="audit_log-nope")
    assert info.value.param == "after"
    with pytest.raises(CursorNotFound) as info:
        store.list_page(before="audit_log-nope")
    assert info.value.param == "before"
    some = store.all_events()[0]["id"]
    with pytest.raises(CursorNotFound) as info:
        store.list_page(after=some, before="audit_log-nope")
    assert info.value.param == "before"


def test_both_cursors_bound_the_range_on_both_sides(store: EventStore) -> None:
    """Older than `after` and newer than `before` (spec/README.md), newest first, paged towards older."""
    events = store.all_events()  # listing order, newest first
    after, before = events[10]["id"], events[60]["id"]
    inside = [e["id"] for e in events[11:60]]
    assert len(inside) == 49
    page = store.list_page(limit=20, after=after, before=before)
    assert page.ids == inside[:20] and page.has_more
    rest = store.list_page(limit=40, after=page.ids[-1], before=before)
    assert rest.ids == inside[20:] and not rest.has_more
    # Crossed cursors leave nothing between them.
    empty = store.list_page(limit=20, after=before, before=after)
    assert empty.ids == [] and not empty.has_more


def pick_filters(store: EventStore) -> list[dict[str, Any]]:
    events = store.all_events()
    tenant = store.all_events(tenant_only=True)
    session = next(e for e in events if e["actor"]["type"] == "session")
    sa_key = next(e for e in events if e["actor"]["type"] == "api_key"
                  and e["actor"]["api_key"]["type"] == "service_account")
    user_key = next(e for e in events if e["actor"]["type"] == "api_key" and e["actor"]["api_key"]["type"] == "user")
    project = next(e["project"]["id"] for e in events if "project" in e)
    resource = next(e[e["type"]]["id"] for e in events if e["type"] == "api_key.updated")
    mid = events[len(events) // 2]["effective_at"]
    return [
        {"event_types": ["login.succeeded", "api_key.created"]},
        {"project_ids": [project, "proj_missing"]},
        {"actor_ids": [session["actor"]["session"]["user"]["id"]]},
        {"actor_ids": [sa_key["actor"]["api_key"]["service_account"]["id"]]},
        {"actor_ids": [user_key["actor"]["api_key"]["id"], user_key["actor"]["api_key"]["user"]["id"]]},
        {"actor_emails": [session["actor"]["session"]["user"]["email"]]},
        {"resource_ids": [resource]},
        {"effective_at": {"gte": mid}},
        {"effective_at": {"gt": mid, "lt": mid + 86_400 * 5}},
        {"effective_at": {"lte": mid}, "event_types": ["login.succeeded"]},
        {"tenant_only": True},
        {"tenant_only": True, "event_types": [tenant[0]["type"], "role.bound_to_resource"]},
        {"event_types": ["login.succeeded"], "actor_emails": [session["actor"]["session"]["user"]["email"]]},
    ]


def test_every_filter_pages_to_exactly_the_filtered_set(store: EventStore) -> None:
    for filters in pick_filters(store):
        want = [e["id"] for e in store.all_events(**filters)]
        assert want, filters
        assert walk(store, "after", limit=9, **filters) == want, filters
        assert walk(store, "before", limit=9, **filters) == want, filters


def test_filter_semantics_spot_checks(store: EventStore) -> None:
    everything = store.all_events()
    listed = store.all_events()
    tenant = store.all_events(tenant_only=True)
    assert listed and tenant
    assert all(not is_tenant_scoped(e["type"]) for e in listed)
    assert all(is_tenant_scoped(e["type"]) for e in tenant)
    assert {e["type"] for e in tenant} >= {"role.bound_to_resource"} or len(tenant) < 50
    key_event = next(e for e in everything if e["actor"]["type"] == "api_key")
    key_id = key_event["actor"]["api_key"]["id"]
    by_key = store.all_events(actor_ids=[key_id])
    assert by_key and all(e["actor"]["api_key"]["id"] == key_id for e in by_key)
    # Tenant-scoped types are listed only with tenant_only, even when named.
    assert store.all_events(event_types=["role.bound_to_resource"]) == []
    assert store.list_page(event_types=["role.bound_to_resource"]).ids == []


def test_insert_completes_partial_events(store: EventStore) -> None:
    (late,) = store.insert([{"type": "login.failed", "effective_at": 1767225600}])
    assert late["id"].startswith("audit_log-") and late["effective_at"] == 1767225600
    assert late["actor"]["type"] in ("session", "api_key") and "login.failed" in late
    assert list(late)[:3] == ["id", "type", "effective_at"]
    assert store.raw(late["id"]) == msgspec.json.encode(late).decode()
    (typed_now,) = store.insert([{"effective_at": None}])
    assert typed_now["effective_at"] >= store.all_events()[1]["effective_at"]
    custom = {"id": "audit_log-mine", "type": "made.up", "effective_at": 5, "actor": None, "extra": [1]}
    (stored,) = store.insert([custom])
    assert stored["actor"] is None and stored["extra"] == [1] and "made.up" in stored


def test_reinserting_the_same_event_is_a_no_op_but_a_different_one_fails(store: EventStore) -> None:
    event = {"id": "audit_log-once", "type": "login.failed", "effective_at": SECOND, "actor": None,
             "login.failed": {"error_code": "x"}}
    store.insert([event])
    count = store.count()
    store.insert([event])
    assert store.count() == count
    with pytest.raises(ValueError, match="already stored"):
        store.insert([{**event, "login.failed": {"error_code": "y"}}])
    with pytest.raises(ValueError, match="twice"):
        store.insert([{"id": "audit_log-dup"}, {"id": "audit_log-dup"}])
    with pytest.raises(ValueError):
        store.insert([{"effective_at": "soon"}])


def test_checkpoint_and_rollback(store: EventStore) -> None:
    mark = store.checkpoint()
    store.insert([{"type": "login.failed"} for _ in range(5)])
    assert store.rollback(mark) == 5 and store.count() == 600


def test_same_seed_same_bytes_and_another_seed_differs() -> None:
    def raws(seed: int) -> list[str]:
        s = EventStore()
        s.generate(400, seed=seed)
        return [s.raw(e["id"]) for e in s.all_events()]

    assert raws(3) == raws(3)
    assert raws(3) != raws(4)


def test_a_db_file_is_reused(tmp_path: Path) -> None:
    path = str(tmp_path / "events.sqlite")
    first = EventStore(path)
    first.generate(300, seed=2)
    ids = [e["id"] for e in first.all_events()]
    first.close()
    again = EventStore(path)
    assert again.count() == 300 and [e["id"] for e in again.all_events()] == ids
    (added,) = again.insert([{"type": "login.succeeded"}])
    # Completion uses the organisation of the stored seed.
    emails = {e["actor"]["session"]["user"]["email"] for e in again.all_events() if e["actor"]["type"] == "session"}
    if added["actor"]["type"] == "session":
        assert added["actor"]["session"]["user"]["email"] in emails
