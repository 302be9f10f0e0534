"""Pagination over a scripted service: both directions, and refusing to loop."""

from __future__ import annotations

import pytest

from openapiopenai import PaginationError

from .conftest import Script, event, ok, page, sync_api


def ids(events: object) -> list[str]:
    return [e.id for e in events]  # type: ignore[attr-defined]


def test_older_follows_after_last_id_while_has_more() -> None:
    script = Script(
        ok(page([event(9), event(8)], has_more=True)),
        ok(page([event(7), event(6)], has_more=True)),
        ok(page([event(5)], has_more=False)),
    )
    api = sync_api(script)
    got = ids(api.iter_audit_logs(event_types=["login.failed"], limit=2))
    assert got == ["audit_log-9", "audit_log-8", "audit_log-7", "audit_log-6", "audit_log-5"]
    assert script.queries == [
        "event_types%5B%5D=login.failed&limit=2",
        "event_types%5B%5D=login.failed&limit=2&after=audit_log-8",
        "event_types%5B%5D=login.failed&limit=2&after=audit_log-6",
    ]


def test_older_starts_from_the_given_after_and_defaults_to_limit_100() -> None:
    script = Script(ok(page([event(3)], has_more=False)))
    assert ids(sync_api(script).iter_audit_logs(after="audit_log-4")) == ["audit_log-3"]
    assert script.queries == ["limit=100&after=audit_log-4"]


def test_iterator_is_lazy() -> None:
    script = Script(ok(page([event(2)], has_more=True)), ok(page([event(1)])))
    it = sync_api(script).iter_audit_logs()
    assert script.requests == []
    assert next(it).id == "audit_log-2"
    assert len(script.requests) == 1
    assert next(it).id == "audit_log-1"
    with pytest.raises(StopIteration):
        next(it)
    assert len(script.requests) == 2


def test_newer_follows_before_first_id_and_yields_oldest_first() -> None:
    # Pages are newest first, as the service lists them; `before` walks towards the present.
    script = Script(
        ok(page([event(12), event(11)], has_more=True)),
        ok(page([event(14), event(13)], has_more=True)),
        ok(page([event(15)], has_more=False)),
    )
    api = sync_api(script)
    got = ids(api.iter_audit_logs(before="audit_log-10", direction="newer", limit=2,
                                  effective_at={"gte": 1}))
    assert got == [f"audit_log-{i}" for i in range(11, 16)]
    assert script.queries == [
        "effective_at%5Bgte%5D=1&limit=2&before=audit_log-10",
        "effective_at%5Bgte%5D=1&limit=2&before=audit_log-12",
        "effective_at%5Bgte%5D=1&limit=2&before=audit_log-14",
    ]


def test_iter_pages_yields_each_page_in_both_directions() -> None:
    script = Script(ok(page([event(2)], has_more=True)), ok(page([event(1)])))
    pages = list(sync_api(script).iter_pages(project_ids=["p"]))
    assert [ids(p.data) for p in pages] == [["audit_log-2"], ["audit_log-1"]]
    assert script.queries == ["project_ids%5B%5D=p&limit=100", "project_ids%5B%5D=p&limit=100&after=audit_log-2"]

    script = Script(ok(page([event(3), event(2)], has_more=True)), ok(page([event(4)])))
    pages = list(sync_api(script).iter_pages(before="audit_log-1", direction="newer", limit=2))
    assert [ids(p.data) for p in pages] == [["audit_log-3", "audit_log-2"], ["audit_log-4"]]
    assert script.queries == ["limit=2&before=audit_log-1", "limit=2&before=audit_log-3"]


def test_empty_log_gives_one_request_and_no_events() -> None:
    script = Script(ok(page([], has_more=False)))
    assert list(sync_api(script).iter_audit_logs()) == []
    assert len(script.requests) == 1


def test_repeated_cursor_raises_instead_of_looping() -> None:
    script = Script(
        ok(page([event(3), event(2)], has_more=True)),
        ok(page([event(1), event(2)], has_more=True)),  # hands back audit_log-2 again
    )
    got: list[str] = []
    with pytest.raises(PaginationError, match="repeated cursor 'audit_log-2'"):
        for e in sync_api(script).iter_audit_logs():
            got.append(e.id)
    assert got == ["audit_log-3", "audit_log-2", "audit_log-1", "audit_log-2"]
    assert script.done()


def test_page_that_returns_its_own_cursor_raises() -> None:
    script = Script(ok(page([event(5)], has_more=True)))
    with pytest.raises(PaginationError):
        list(sync_api(script).iter_audit_logs(after="audit_log-5"))


def test_cursor_seen_two_pages_ago_raises() -> None:
    script = Script(
        ok(page([event(3)], has_more=True)),
        ok(page([event(2)], has_more=True)),
        ok(page([event(3)], has_more=True)),
    )
    with pytest.raises(PaginationError):
        list(sync_api(script).iter_pages())
    assert script.done()


@pytest.mark.parametrize("direction", ["older", "newer"])
def test_has_more_without_a_cursor_raises(direction: str) -> None:
    body = {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": True}
    script = Script(ok(body))
    kwargs = {"before": "audit_log-1"} if direction == "newer" else {}
    with pytest.raises(PaginationError, match="no cursor"):
        list(sync_api(script).iter_audit_logs(direction=direction, **kwargs))  # type: ignore[arg-type]
    assert script.done()


def test_pagination_error_is_an_api_exception() -> None:
    from openapiopenai import ApiException, ApiResponseValidationError

    assert issubclass(PaginationError, ApiResponseValidationError)
    assert issubclass(PaginationError, ApiException)


def test_before_with_direction_older_is_refused_not_ignored() -> None:
    # `before` names the newer end of a walk; with direction="older" it would silently be dropped
    # and the walk would start at the newest event instead.
    script = Script()
    with pytest.raises(ValueError, match="before"):
        sync_api(script).iter_audit_logs(before="audit_log-1")
    with pytest.raises(ValueError, match="before"):
        sync_api(script).iter_pages(before="audit_log-1", direction="older")
    assert script.requests == []
