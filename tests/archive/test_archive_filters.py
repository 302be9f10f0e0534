"""Filters: canonical form, the service's kwargs, the state key."""

from __future__ import annotations

import pytest

from openapiopenai.archive import Filters


def test_defaults_send_nothing() -> None:
    assert Filters().list_kwargs() == {}
    assert Filters().scope_kwargs() == {}


def test_list_kwargs_carry_every_filter() -> None:
    f = Filters(event_types=("login.failed", "api_key.created"), project_ids=("proj_1",), actor_ids=("user-1",),
                actor_emails=("a@example.com",), resource_ids=("key_1",), since=100, until=200, tenant_only=True)
    assert f.list_kwargs() == {
        "event_types": ["api_key.created", "login.failed"], "project_ids": ["proj_1"], "actor_ids": ["user-1"],
        "actor_emails": ["a@example.com"], "resource_ids": ["key_1"], "tenant_only": True,
        "effective_at": {"gte": 100, "lt": 200},
    }
    assert "effective_at" not in f.scope_kwargs()


def test_order_and_repeats_do_not_change_the_key() -> None:
    a = Filters(event_types=("b", "a", "a"), project_ids=["p"])  # type: ignore[arg-type]
    b = Filters(event_types=("a", "b"), project_ids=("p",))
    assert a == b
    assert a.key() == b.key()
    assert a.event_types == ("a", "b")


def test_key_ignores_the_time_range_but_not_the_scope() -> None:
    assert Filters(since=1, until=5).key() == Filters().key()
    assert Filters(tenant_only=True).key() != Filters().key()
    assert Filters(actor_ids=("x",)).key() != Filters(actor_emails=("x",)).key()


def test_from_key_round_trips() -> None:
    f = Filters(event_types=("login.failed",), actor_emails=("a@example.com",), tenant_only=True)
    assert Filters.from_key(f.key()) == f


@pytest.mark.parametrize("kwargs, message", [
    ({"since": 10, "until": 10}, "earlier than until"),
    ({"since": 20, "until": 10}, "earlier than until"),
    ({"event_types": "login.failed"}, "not a single string"),
    ({"project_ids": ("",)}, "non-empty string"),
    ({"actor_ids": (3,)}, "non-empty string"),
    ({"since": 1.5}, "unix seconds"),
    ({"until": True}, "unix seconds"),
    ({"tenant_only": 1}, "must be a bool"),
])
def test_bad_values_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Filters(**kwargs)  # type: ignore[arg-type]
