"""The four contenders, each doing the same work through its own public interface.

``ours``: this project. ``generated``: the openapi-generator 7.26 client of the same spec. ``sdk``: the
official ``openai`` SDK (``client.admin.organization.audit_logs``). ``floor``: bare ``httpx`` and
``orjson`` on the same bytes, the least any Python client can do.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Callable
from types import ModuleType
from typing import Any

from msgspec.structs import astuple

# At module level: an import statement inside the per-event loop of `materialise` costs microseconds.
from openapiopenai._model import Model
from openapiopenai._record import StructModel

__all__ = ["CONTENDERS", "LABELS", "materialise", "typed_reader"]

CONTENDERS = ("ours", "generated", "sdk", "floor")
LABELS = {
    "ours": "this project",
    "generated": "openapi-generator 7.26",
    "sdk": "openai SDK",
    "floor": "floor (httpx + orjson)",
}
PATH = "/organization/audit_logs"


# -- one client per contender, reused across calls (connection kept alive) -------------------------

def ours_api(base_url: str, key: str) -> Any:
    import openapiopenai

    return openapiopenai.AuditLogsApi(openapiopenai.ApiClient(openapiopenai.Configuration(host=base_url, access_token=key)))


def generated_api(gen: ModuleType, base_url: str, key: str) -> Any:
    return gen.AuditLogsApi(gen.ApiClient(gen.Configuration(host=base_url, access_token=key)))


def sdk_resource(base_url: str, key: str) -> Any:
    import openai

    return openai.OpenAI(admin_api_key=key, base_url=base_url).admin.organization.audit_logs


class Floor:
    """A bare ``httpx.Client`` and ``orjson.loads``: no models, no validation, no retries."""

    def __init__(self, base_url: str, key: str) -> None:
        import httpx
        import orjson

        self.client = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"})
        self.loads = orjson.loads

    def get_page(self, after: str | None = None) -> Any:
        params: dict[str, str | int] = {"limit": 100}
        if after is not None:
            params["after"] = after
        response = self.client.get(PATH, params=params)
        response.raise_for_status()
        return self.loads(response.content)


def list_call(name: str, base_url: str, key: str, gen: ModuleType | None) -> Callable[[], object]:
    """A zero-argument callable making one ``limit=100`` list call."""
    if name == "ours":
        api = ours_api(base_url, key)
        return lambda: api.list_audit_logs(limit=100)
    if name == "generated":
        assert gen is not None
        gapi = generated_api(gen, base_url, key)
        return lambda: gapi.list_audit_logs(limit=100)
    if name == "sdk":
        resource = sdk_resource(base_url, key)
        return lambda: resource.list(limit=100)
    floor = Floor(base_url, key)
    return floor.get_page


# -- parsing alone -------------------------------------------------------------------------------

def page_parser(name: str, gen: ModuleType | None) -> Callable[[bytes], object]:
    """A callable turning a page body into what the contender's list call returns."""
    if name == "ours":
        from openapiopenai._parse import parse_page
        from openapiopenai.models.list_audit_logs_response import ListAuditLogsResponse

        return lambda body: parse_page(body, ListAuditLogsResponse)
    if name == "generated":
        assert gen is not None
        # What its ApiClient.deserialize does: json.loads, then the model's from_dict.
        return gen.ListAuditLogsResponse.from_json
    if name == "sdk":
        # What the SDK's response path does without strict validation (its default): the response's
        # json() (stdlib json), then construct_type into the page type `list()` returns.
        from openai._models import construct_type
        from openai.pagination import SyncConversationCursorPage
        from openai.types.admin.organization.audit_log_list_response import AuditLogListResponse

        page_type = SyncConversationCursorPage[AuditLogListResponse]
        return lambda body: construct_type(type_=page_type, value=json.loads(body))
    import orjson

    return orjson.loads


# -- typed access: what an exporter reads from every event (row 1b) ----------------------------------

def _attr(key: str) -> str:
    """The attribute a generated client gives a payload key (``api_key.created`` -> ``api_key_created``)."""
    name = re.sub(r"[^0-9A-Za-z_]", "_", key)
    return name + "_" if keyword.iskeyword(name) else name


def _read_models(events: Any, payload: Callable[[Any], Any]) -> list[tuple[Any, ...]]:
    out = []
    for e in events:
        actor = e.actor
        actor_type = email = ip = None
        if actor is not None:
            actor_type = actor.type
            session = actor.session
            if session is not None:
                ip = session.ip_address
                user = session.user
            else:
                api_key = actor.api_key
                user = api_key.user if api_key is not None else None
            email = user.email if user is not None else None
        project = getattr(e, "project", None)  # the SDK's model has no `project`
        out.append((e.id, e.type, e.effective_at, actor_type, email, ip,
                    project.id if project is not None else None, payload(e)))
    return out


def _read_dicts(page: Any) -> list[tuple[Any, ...]]:
    out = []
    for e in page["data"]:
        actor = e.get("actor")
        actor_type = email = ip = None
        if actor is not None:
            actor_type = actor.get("type")
            session = actor.get("session")
            if session is not None:
                ip = session.get("ip_address")
                user = session.get("user")
            else:
                api_key = actor.get("api_key")
                user = api_key.get("user") if api_key is not None else None
            email = user.get("email") if user is not None else None
        project = e.get("project")
        event_type = e["type"]
        out.append((e["id"], event_type, e["effective_at"], actor_type, email, ip,
                    project.get("id") if project is not None else None, e.get(event_type)))
    return out


def _generated_payload(e: Any) -> Any:
    t = e.type
    return getattr(e, _attr(t if type(t) is str else t.value), None)


def typed_reader(name: str) -> Callable[[Any], list[tuple[Any, ...]]]:
    """A callable reading, from every event of what the contender's list call returned: id, type,
    effective_at, actor type, actor email, session IP, project id and the typed payload object."""
    if name == "ours":
        return lambda page: _read_models(page.data, lambda e: e.payload)
    if name in ("generated", "sdk"):
        # Both expose the payload as the attribute named after the type (`login_failed`).
        return lambda page: _read_models(page.data, _generated_payload)
    return _read_dicts


# -- "fully materialised": our models are lazy views, so say what touching everything costs ----------

#: The event keys every event may carry as a typed attribute, besides its own type's payload.
_EVENT_KEYS = ("id", "type", "effective_at", "actor", "project")
#: model class -> (is a typed record, the attributes to read: a record's struct-valued ones with
#: whether each is a list, or the typed attributes of an event or a view).
_PLANS: dict[type, tuple[bool, list[tuple[str, bool]]]] = {}


def _plan(cls: type) -> tuple[bool, list[tuple[str, bool]]]:
    plan = _PLANS.get(cls)
    if plan is None:
        fields: dict[str, str] = cls.__fields__  # type: ignore[attr-defined]
        if issubclass(cls, StructModel):
            plan = (True, [(attr, many) for attr, (_key, _cls, many) in cls.__links__.items()])
        elif isinstance(getattr(cls, "payload", None), property):  # an event: head, body, payload
            event_type = getattr(cls, "event_type", None)
            own = {*_EVENT_KEYS, str(event_type) if event_type is not None else ""}
            plan = (False, [(attr, False) for attr, key in fields.items() if key in own] + [("payload", False)])
        else:
            plan = (False, [(attr, False) for attr in fields])
        _PLANS[cls] = plan
    return plan


def materialise(model: Any) -> int:
    """Build every typed attribute an object carries, recursively, and an event's typed ``payload``:
    the work a pydantic client does eagerly at parse time. Returns the number of attributes built.

    Only keys present in the JSON count: an absent optional field costs pydantic a default, not a
    model, and an event's 70-odd per-type attributes of other types are never read. A typed record
    (``StructModel``) is built whole by the decode that made it: its fields are read in one call
    (``msgspec.structs.astuple``; the count is then of all its fields) and its nested records are
    followed through its ``__links__``."""
    count = 0
    stack = [model]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        obj = pop()
        record, attrs = _PLANS.get(type(obj)) or _plan(type(obj))
        if record:
            count += len(astuple(obj)) - 2  # every field, present or not; less the two link fields
            for attr, many in attrs:
                value = getattr(obj, attr)
                if value is not None:
                    extend(value) if many else push(value)
            continue
        for attr, _many in attrs:
            value = getattr(obj, attr)
            if value is None:
                continue
            count += 1
            if isinstance(value, Model):
                push(value)
            elif type(value) is list:
                extend(v for v in value if isinstance(v, Model))
    return count


def materialised_page(page: Any) -> Any:
    for event in page.data:
        materialise(event)
    return page
