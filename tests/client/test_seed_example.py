"""The seed document's example, run as written against the emulator over real HTTP.

The code below is the block from ``AuditLogsApi.md`` with only these changes, each marked ``# test:``:
``import os`` (the seed uses ``os`` without importing it), the emulator as host, a real event type
instead of ``openapiopenai.AuditLogEventType()``, and real ids instead of the ``*_example`` placeholders.
``before`` is left out (``None``): the seed passes both cursors, and the client refuses ``after`` with
``before`` (the service pages in one direction at a time), which would print the exception line instead.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

SEED = r'''
import os  # test: the seed uses os without importing it
import openapiopenai
from openapiopenai.models.audit_log_event_type import AuditLogEventType
from openapiopenai.models.list_audit_logs_effective_at_parameter import ListAuditLogsEffectiveAtParameter
from openapiopenai.models.list_audit_logs_response import ListAuditLogsResponse
from openapiopenai.rest import ApiException
from pprint import pprint

# Defining the host is optional and defaults to https://api.openai.com/v1
# See configuration.py for a list of all supported configuration parameters.
configuration = openapiopenai.Configuration(
    host = "https://api.openai.com/v1"
)

# The client must configure the authentication and authorization parameters
# in accordance with the API server security policy.
# Examples for each auth method are provided below, use the example that
# satisfies your auth use case.

# Configure Bearer authorization: ApiKeyAuth
configuration = openapiopenai.Configuration(
    host = EMULATOR_URL,  # test: the emulator instead of the live service
    access_token = os.environ["BEARER_TOKEN"]
)

# Enter a context with an instance of the API client
with openapiopenai.ApiClient(configuration) as api_client:
    # Create an instance of the API class
    api_instance = openapiopenai.AuditLogsApi(api_client)
    effective_at = openapiopenai.ListAuditLogsEffectiveAtParameter() # ListAuditLogsEffectiveAtParameter | Return only events whose `effective_at` (Unix seconds) is in this range. (optional)
    project_ids = ['proj_seed'] # test: a real id # List[str] | Return only events for these projects. (optional)
    event_types = [openapiopenai.AuditLogEventType.LOGIN_FAILED] # test: a real value # List[AuditLogEventType] | Return only events with a `type` in one of these values. For example, `project.created`. For all options, see the documentation for the [audit log object](/docs/api-reference/audit-logs/object). (optional)
    actor_ids = ['user-seed'] # test: a real id # List[str] | Return only events performed by these actors. Can be a user ID, a service account ID, or an api key tracking ID. (optional)
    actor_emails = ['seed@example.com'] # test: a real email # List[str] | Return only events performed by users with these emails. (optional)
    resource_ids = ['res_seed'] # test: a real id # List[str] | Return only events performed on these targets. For example, a project ID updated. (optional)
    limit = 20 # int | A limit on the number of objects to be returned. Limit can range between 1 and 100, and the default is 20.  (optional) (default to 20)
    after = 'audit_log-seed9' # test: a real id # str | A cursor for use in pagination. `after` is an object ID that defines your place in the list. For instance, if you make a list request and receive 100 objects, ending with obj_foo, your subsequent call can include after=obj_foo in order to fetch the next page of the list.  (optional)
    before = None # test: one cursor at a time # str | A cursor for use in pagination. `before` is an object ID that defines your place in the list. For instance, if you make a list request and receive 100 objects, starting with obj_foo, your subsequent call can include before=obj_foo in order to fetch the previous page of the list.  (optional)

    try:
        # List user actions and configuration changes within this organization.
        api_response = api_instance.list_audit_logs(effective_at=effective_at, project_ids=project_ids, event_types=event_types, actor_ids=actor_ids, actor_emails=actor_emails, resource_ids=resource_ids, limit=limit, after=after, before=before)
        print("The response of AuditLogsApi->list_audit_logs:\n")
        pprint(api_response)
    except Exception as e:
        print("Exception when calling AuditLogsApi->list_audit_logs: %s\n" % e)
'''


def seed_event(i: int, **overrides: Any) -> dict[str, Any]:
    event = {
        "id": f"audit_log-seed{i}",
        "type": "login.failed",
        "effective_at": 1_995_000_000 + i,
        "project": {"id": "proj_seed", "name": "Seed"},
        "actor": {"type": "session", "session": {"user": {"id": "user-seed", "email": "seed@example.com"},
                                                 "ip_address": "127.0.0.1"}},
        "login.failed": {"id": "res_seed", "error_code": "invalid_password"},
    }
    event.update(overrides)
    return event


@pytest.fixture
def seeded(emulator: Any) -> Any:
    emulator.insert_events([
        seed_event(1), seed_event(2),
        seed_event(3, actor={"type": "session", "session": {"user": {"id": "user-other", "email": "o@example.com"}}}),
        seed_event(4, type="login.succeeded", **{"login.succeeded": {"id": "res_seed"}}),
        seed_event(9),  # the `after` cursor: newer than everything the page should show
    ])
    return emulator


def test_seed_example_as_written(seeded: Any, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BEARER_TOKEN", seeded.admin_key)
    code = SEED.replace("EMULATOR_URL", repr(seeded.base_url))
    exec(compile(code, "AuditLogsApi.md", "exec"), {"__name__": "__seed__"})
    out = capsys.readouterr().out
    assert "Exception when calling" not in out, out
    assert out.startswith("The response of AuditLogsApi->list_audit_logs:\n")
    assert "ListAuditLogsResponse(" in out and "LoginFailedEvent(" in out
    # Exactly the two events that match every filter and lie after the cursor, newest first.
    assert out.index("audit_log-seed2") < out.index("audit_log-seed1")
    for absent in ("audit_log-seed3", "audit_log-seed4", "audit_log-seed9"):
        assert absent not in out
    assert "has_more=False" in out
    assert os.environ["BEARER_TOKEN"] not in out


def test_seed_example_with_both_cursors_prints_the_exception(seeded: Any, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    # The seed as literally written passes after *and* before; say what that does.
    monkeypatch.setenv("BEARER_TOKEN", seeded.admin_key)
    code = SEED.replace("EMULATOR_URL", repr(seeded.base_url)).replace(
        "before = None # test: one cursor at a time", "before = 'audit_log-seed1'")
    exec(compile(code, "AuditLogsApi.md", "exec"), {"__name__": "__seed__"})
    out = capsys.readouterr().out
    assert out == "Exception when calling AuditLogsApi->list_audit_logs: give after or before, not both\n\n"
