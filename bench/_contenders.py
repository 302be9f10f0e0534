"""The four contenders, each doing the same work through its own public interface.

``ours``: this project. ``generated``: the openapi-generator 7.26 client of the same spec. ``sdk``: the
official ``openai`` SDK (``client.admin.organization.audit_logs``). ``floor``: bare ``httpx`` and
``orjson`` on the same bytes, the least any Python client can do.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = ["CONTENDERS", "LABELS", "materialise"]

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


# -- "fully materialised": our models are lazy views, so say what touching everything costs ----------

def _attrs_by_key(cls: type) -> dict[str, str]:
    """JSON key -> attribute name for a model class; ``payload`` rides on the ``type`` key so an
    event's typed payload is built too."""
    attrs = _ATTRS.get(cls)
    if attrs is None:
        attrs = {key: attr for attr, key in cls.__fields__.items()}  # type: ignore[attr-defined]
        if isinstance(getattr(cls, "payload", None), property):
            attrs["\0payload"] = "payload"
        _ATTRS[cls] = attrs
    return attrs


_ATTRS: dict[type, dict[str, str]] = {}


def materialise(model: Any) -> int:
    """Build every typed attribute an object carries, recursively, and an event's typed ``payload``:
    the work a pydantic client does eagerly at parse time. Returns the number of attributes built.

    Only keys present in the JSON are read: an absent optional field costs pydantic a default, not a
    model, and looping over each event's 70-odd absent per-type attributes would time this loop."""
    from openapiopenai._model import Model

    count = 0
    stack = [model]
    while stack:
        obj = stack.pop()
        by_key = _attrs_by_key(type(obj))
        names = [by_key[key] for key in obj._data if key in by_key]
        if "\0payload" in by_key:
            names.append("payload")
        for attr in names:
            value = getattr(obj, attr)
            count += 1
            if isinstance(value, Model):
                stack.append(value)
            elif type(value) is list:
                stack.extend(v for v in value if isinstance(v, Model))
    return count


def materialised_page(page: Any) -> Any:
    for event in page.data:
        materialise(event)
    return page
