"""The schema an event is shipped in: as archived (raw), or mapped to OCSF or ECS.

The mappers live in `openapiopenai.ocsf` and `openapiopenai.ecs` (built from each event type's anatomy);
they are imported only when asked for, so shipping raw never loads them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from openapiopenai.sinks._base import SinkConfigError

__all__ = ["SCHEMAS", "Mapper", "schema_mapper"]

SCHEMAS = ("raw", "ocsf", "ecs")

#: Maps a decoded event to its document in the target schema; raises for an event it cannot map.
Mapper = Callable[[dict[str, Any]], Mapping[str, Any]]

_MAPPERS = {"ocsf": ("openapiopenai.ocsf", "to_ocsf"), "ecs": ("openapiopenai.ecs", "to_ecs")}


def schema_mapper(schema: str) -> Mapper | None:
    """The mapper for `schema` (``None`` for raw); `SinkConfigError` for a schema this build cannot map to."""
    if schema == "raw":
        return None
    if schema not in _MAPPERS:
        raise SinkConfigError(f"unknown schema {schema!r}; choose one of {', '.join(SCHEMAS)}")
    module_name, function = _MAPPERS[schema]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise SinkConfigError(f"--schema {schema} is not available in this version (no {module_name})") from None
    mapper: Mapper = getattr(module, function)
    return mapper
