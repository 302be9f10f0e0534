"""What goes on the wire: the exact query string and headers for every parameter, and the bad
arguments that must fail before anything is sent."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

import openapiopenai
from openapiopenai.models.audit_log_event_type import AuditLogEventType
from openapiopenai.models.list_audit_logs_effective_at_parameter import ListAuditLogsEffectiveAtParameter

from .conftest import KEY, PATH, Script, ok, page, sync_api


def sent_query(**kwargs: Any) -> str:
    script = Script(ok(page([])))
    sync_api(script).list_audit_logs(**kwargs)
    assert script.done() and len(script.requests) == 1
    assert script.requests[0].url.path == PATH
    return script.queries[0]


def test_no_arguments_sends_no_query() -> None:
    script = Script(ok(page([])))
    sync_api(script).list_audit_logs()
    assert str(script.requests[0].url) == "https://api.test/v1/organization/audit_logs"


@pytest.mark.parametrize("bound", ["gt", "gte", "lt", "lte"])
def test_effective_at_bound_uses_brackets(bound: str) -> None:
    assert sent_query(effective_at={bound: 1700000000}) == f"effective_at%5B{bound}%5D=1700000000"


def test_effective_at_range_as_model() -> None:
    q = sent_query(effective_at=ListAuditLogsEffectiveAtParameter(gte=1700000000, lt=1700086400))
    assert q == "effective_at%5Bgte%5D=1700000000&effective_at%5Blt%5D=1700086400"


def test_effective_at_top_level_model_name() -> None:
    q = sent_query(effective_at=openapiopenai.ListAuditLogsEffectiveAtParameter(gt=5, lte=9))
    assert q == "effective_at%5Bgt%5D=5&effective_at%5Blte%5D=9"


def test_effective_at_accepts_tz_aware_datetimes() -> None:
    plus2 = dt.timezone(dt.timedelta(hours=2))
    q = sent_query(effective_at={"gte": dt.datetime(2024, 1, 1, 2, 0, tzinfo=plus2),
                                 "lt": dt.datetime(2024, 1, 2, tzinfo=dt.UTC)})
    # 2024-01-01T02:00+02:00 is midnight UTC.
    assert q == "effective_at%5Bgte%5D=1704067200&effective_at%5Blt%5D=1704153600"


def test_empty_effective_at_model_sends_nothing() -> None:
    # The seed example passes `ListAuditLogsEffectiveAtParameter()` with no bounds.
    assert sent_query(effective_at=ListAuditLogsEffectiveAtParameter()) == ""


@pytest.mark.parametrize("name", ["project_ids", "event_types", "actor_ids", "actor_emails", "resource_ids"])
def test_list_filters_repeat_with_brackets(name: str) -> None:
    assert sent_query(**{name: ["a", "b"]}) == f"{name}%5B%5D=a&{name}%5B%5D=b"


def test_list_values_are_percent_encoded() -> None:
    q = sent_query(actor_emails=["a+b@example.com", "x&y=z", "é ü/?#%"])
    assert q == ("actor_emails%5B%5D=a%2Bb%40example.com"
                 "&actor_emails%5B%5D=x%26y%3Dz"
                 "&actor_emails%5B%5D=%C3%A9%20%C3%BC%2F%3F%23%25")


def test_event_types_accept_enum_members_and_tuples() -> None:
    q = sent_query(event_types=(AuditLogEventType.LOGIN_FAILED, "project.created"))
    assert q == "event_types%5B%5D=login.failed&event_types%5B%5D=project.created"


@pytest.mark.parametrize(("value", "wire"), [(True, "true"), (False, "false")])
def test_tenant_only(value: bool, wire: str) -> None:
    assert sent_query(tenant_only=value) == f"tenant_only={wire}"


@pytest.mark.parametrize("limit", [1, 20, 100])
def test_limit(limit: int) -> None:
    assert sent_query(limit=limit) == f"limit={limit}"


def test_after_and_before_cursors_are_encoded() -> None:
    assert sent_query(after="audit_log-abc") == "after=audit_log-abc"
    assert sent_query(before="audit_log-a/b c") == "before=audit_log-a%2Fb%20c"


def test_every_parameter_together_in_a_fixed_order() -> None:
    q = sent_query(effective_at={"gte": 1, "lte": 2}, project_ids=["proj_1"], event_types=["login.failed"],
                   actor_ids=["user-1"], actor_emails=["a@b.c"], resource_ids=["res_1"], tenant_only=True,
                   limit=50, after="audit_log-9")
    assert q == ("effective_at%5Bgte%5D=1&effective_at%5Blte%5D=2&project_ids%5B%5D=proj_1"
                 "&event_types%5B%5D=login.failed&actor_ids%5B%5D=user-1&actor_emails%5B%5D=a%40b.c"
                 "&resource_ids%5B%5D=res_1&tenant_only=true&limit=50&after=audit_log-9")


def test_headers() -> None:
    script = Script(ok(page([])))
    sync_api(script).list_audit_logs()
    headers = script.requests[0].headers
    assert headers["authorization"] == f"Bearer {KEY}"
    assert headers["accept"] == "application/json"
    assert headers["user-agent"].startswith(f"openapiopenai/{openapiopenai.__version__} ")
    assert script.requests[0].method == "GET"


def test_per_call_headers_and_timeout() -> None:
    script = Script(ok(page([])))
    sync_api(script).list_audit_logs(_headers={"X-Trace": "t1"}, _request_timeout=(1.5, 7.0))
    request = script.requests[0]
    assert request.headers["x-trace"] == "t1"
    assert request.extensions["timeout"] == {"connect": 1.5, "read": 7.0, "write": 7.0, "pool": 7.0}


def test_configured_timeouts_are_used() -> None:
    script = Script(ok(page([])))
    sync_api(script, connect_timeout=2.0, read_timeout=30.0).list_audit_logs()
    assert script.requests[0].extensions["timeout"] == {"connect": 2.0, "read": 30.0, "write": 30.0, "pool": 30.0}


def test_no_authorization_header_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_ADMIN_KEY", raising=False)
    script = Script(ok(page([])))
    client = openapiopenai.ApiClient(openapiopenai.Configuration(host="https://api.test/v1"),
                                     transport=httpx.MockTransport(script))
    openapiopenai.AuditLogsApi(client).list_audit_logs()
    assert "authorization" not in script.requests[0].headers


BAD_ARGUMENTS: list[tuple[str, dict[str, Any]]] = [
    ("limit 0", {"limit": 0}),
    ("limit 101", {"limit": 101}),
    ("limit True", {"limit": True}),
    ("limit string", {"limit": "5"}),
    ("limit float", {"limit": 5.0}),
    ("gt and gte", {"effective_at": {"gt": 1, "gte": 2}}),
    ("lt and lte", {"effective_at": {"lt": 10, "lte": 9}}),
    ("gt+gte model", {"effective_at": ListAuditLogsEffectiveAtParameter(gt=1, gte=2)}),
    ("empty range gte>lte", {"effective_at": {"gte": 10, "lte": 9}}),
    ("empty range gt/lt", {"effective_at": {"gt": 5, "lt": 6}}),
    ("string time", {"effective_at": {"gte": "1700000000"}}),
    ("float time", {"effective_at": {"gte": 1.5}}),
    ("bool time", {"effective_at": {"gte": True}}),
    ("negative time", {"effective_at": {"gte": -1}}),
    ("naive datetime", {"effective_at": {"gte": dt.datetime(2024, 1, 1)}}),
    ("unknown bound", {"effective_at": {"from": 1}}),
    ("unknown bound in model", {"effective_at": ListAuditLogsEffectiveAtParameter(gte=1, since=2)}),
    ("effective_at int", {"effective_at": 1700000000}),
    ("bare string project_ids", {"project_ids": "proj_1"}),
    ("bare string event_types", {"event_types": "login.failed"}),
    ("bare string actor_ids", {"actor_ids": "user-1"}),
    ("bare string actor_emails", {"actor_emails": "a@b.c"}),
    ("bare string resource_ids", {"resource_ids": "res"}),
    ("bytes list", {"project_ids": b"proj"}),
    ("non-string id", {"project_ids": ["proj_1", 7]}),
    ("None in list", {"actor_ids": [None]}),
    ("empty string id", {"resource_ids": [""]}),
    ("empty project_ids list", {"project_ids": []}),
    ("empty event_types tuple", {"event_types": ()}),
    ("tenant_only string", {"tenant_only": "true"}),
    ("non-string after", {"after": 5}),
    ("empty before", {"before": ""}),
]


@pytest.mark.parametrize(("kwargs"), [k for _, k in BAD_ARGUMENTS], ids=[n for n, _ in BAD_ARGUMENTS])
def test_bad_arguments_raise_before_sending(kwargs: dict[str, Any]) -> None:
    script = Script()  # any request fails the test
    api = sync_api(script)
    with pytest.raises(ValueError):
        api.list_audit_logs(**kwargs)
    with pytest.raises(ValueError):
        api.list_audit_logs_with_http_info(**kwargs)
    with pytest.raises(ValueError):
        api.list_audit_logs_without_preload_content(**kwargs)
    assert script.requests == []


@pytest.mark.parametrize(("kwargs"), [k for _, k in BAD_ARGUMENTS], ids=[n for n, _ in BAD_ARGUMENTS])
def test_bad_arguments_raise_at_the_iterator_call(kwargs: dict[str, Any]) -> None:
    # Raised when iter_audit_logs() is called, not at the first next().
    script = Script()
    api = sync_api(script)
    with pytest.raises(ValueError):
        api.iter_audit_logs(**kwargs)
    assert script.requests == []


@pytest.mark.parametrize("kwargs", [{}, {"after": "audit_log-1"}], ids=["no cursor", "after"])
def test_direction_newer_needs_before(kwargs: dict[str, Any]) -> None:
    script = Script()
    api = sync_api(script)
    with pytest.raises(ValueError, match="before"):
        api.iter_audit_logs(direction="newer", **kwargs)
    with pytest.raises(ValueError, match="before"):
        api.iter_pages(direction="newer", **kwargs)
    assert script.requests == []


def test_unknown_direction() -> None:
    script = Script()
    with pytest.raises(ValueError, match="direction"):
        sync_api(script).iter_audit_logs(direction="sideways")  # type: ignore[arg-type]
    assert script.requests == []


def test_bad_request_timeout() -> None:
    script = Script()
    with pytest.raises(ValueError, match="_request_timeout"):
        sync_api(script).list_audit_logs(_request_timeout=-1)
    assert script.requests == []


@pytest.mark.parametrize("value", [-1, True, "2"])
def test_bad_max_retries(value: Any) -> None:
    script = Script()
    with pytest.raises(ValueError, match="max_retries"):
        sync_api(script).list_audit_logs(_max_retries=value)
    with pytest.raises(ValueError, match="max_retries"):
        openapiopenai.Configuration(max_retries=value)
    assert script.requests == []


def test_error_messages_are_clear() -> None:
    api = sync_api(Script())
    with pytest.raises(ValueError, match=r"limit must be an integer from 1 to 100, got 0"):
        api.list_audit_logs(limit=0)
    with pytest.raises(ValueError, match=r"gt or gte, not both"):
        api.list_audit_logs(effective_at={"gt": 1, "gte": 1})
    with pytest.raises(ValueError, match=r"project_ids must hold non-empty strings, got 7"):
        api.list_audit_logs(project_ids=[7])
