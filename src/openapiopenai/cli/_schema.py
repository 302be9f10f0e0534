"""``--schema raw|ocsf|ecs``: write events as the service sent them, or as OCSF 1.8.0 / ECS 9.4.0."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

import click

from ._options import BadInput

__all__ = ["event_in_schema", "in_schema", "lake_output", "schema_option", "write_lake"]

_SCHEMAS = ("raw", "ocsf", "ecs")
# The mapped documents are JSON; the table, text and CSV views show the service's own fields.
_JSON_FORMATS = ("json", "jsonl")

schema_option = click.option(
    "--schema",
    type=click.Choice(_SCHEMAS),
    default="raw",
    show_default=True,
    metavar="SCHEMA",   # the choices are in the help: spelt out there, they would squeeze every other line
    help="raw, ocsf or ecs. raw: each event byte for byte as the service sent it; ocsf/ecs: mapped to "
    "OCSF 1.8.0 or ECS 9.4.0 (json or jsonl output; export --schema ocsf --format parquet writes Amazon "
    "Security Lake datasets).",
)


def in_schema(schema: str, fmt: str) -> Callable[[Iterable[str]], Iterable[str]]:
    """What turns events' JSON texts into ``schema``'s; a usage error now if ``fmt`` cannot carry it."""
    if schema == "raw":
        return lambda raws: raws
    if fmt not in _JSON_FORMATS and (schema, fmt) != ("ocsf", "parquet"):
        raise BadInput(f"--schema {schema} is written as json or jsonl, not {fmt}")
    # Imported on use: `--help` and raw output never load the mappings.
    from openapiopenai.schemas._export import mapped_json

    return lambda raws: mapped_json(raws, schema)


def event_in_schema(schema: str, fmt: str) -> Callable[[str], str]:
    """``in_schema`` for one event at a time (``tail`` prints each as it arrives)."""
    convert = in_schema(schema, fmt)
    return lambda raw: next(iter(convert((raw,))))


def lake_output(schema: str, fmt: str, out: str) -> bool:
    """Whether this export writes Security Lake datasets (a folder at ``out``); a usage error if it cannot."""
    if (schema, fmt) != ("ocsf", "parquet"):
        return False
    if out != "-" and os.path.exists(out) and not os.path.isdir(out):
        raise BadInput(f"--out {out}: OCSF Parquet goes in a folder (one dataset per class), not a file")
    return True


def write_lake(raws: Iterable[str], out: str) -> int:
    """The Security Lake export: every event under ``out``, one dataset per OCSF class by day."""
    from openapiopenai.schemas._lake import write_security_lake

    return sum(write_security_lake(raws, out).values())
