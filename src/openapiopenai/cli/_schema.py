"""``--schema raw|ocsf|ecs``: write events as the service sent them, or as OCSF 1.8.0 / ECS 9.4.0."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import click

from ._options import BadInput

__all__ = ["in_schema", "schema_option"]

_SCHEMAS = ("raw", "ocsf", "ecs")
# The mapped documents are JSON; the table, text and CSV views show the service's own fields.
_JSON_FORMATS = ("json", "jsonl")

schema_option = click.option(
    "--schema",
    type=click.Choice(_SCHEMAS),
    default="raw",
    show_default=True,
    help="raw: each event byte for byte as the service sent it; ocsf/ecs: mapped to OCSF 1.8.0 or ECS 9.4.0 "
    "(json or jsonl output).",
)


def in_schema(schema: str, fmt: str) -> Callable[[Iterable[str]], Iterable[str]]:
    """What turns events' JSON texts into ``schema``'s; a usage error now if ``fmt`` cannot carry it."""
    if schema == "raw":
        return lambda raws: raws
    if fmt not in _JSON_FORMATS:
        raise BadInput(f"--schema {schema} is written as json or jsonl, not {fmt}")
    # Imported on use: `--help` and raw output never load the mappings.
    from openapiopenai.schemas._export import mapped_json

    return lambda raws: mapped_json(raws, schema)
