"""Streams of events as OCSF or ECS JSON texts: what ``--schema`` and the benchmark's export row use.

The hot path of a million-event export, so each event's JSON is read the fast way: its type first (the
archive's column, else a tiny decode), then its parts as bytes
(`anatomy.own_facts_and_sources_from_json`): the actor and the project are read once per distinct
text, and the mappings encode their part of the document once per distinct text too and splice the
bytes, after the type's own part, encoded once per type (`encode_ocsf_into`, `encode_ecs_into`); the
rest of the document is a tree of structs encoded in one call, with the payload kept as its own bytes,
which are copied into the output instead of decoded and encoded again. The lines are encoded straight
into the chunks written to the file (`mapped_chunks`). The result is the same document
``to_ocsf``/``to_ecs`` build from the decoded event (a test holds them to it), encoded on one line
(msgspec escapes every control character inside strings); the bytes of a pinned set of events are held
by `tests/schemas/test_export_lines.py`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import msgspec

from openapiopenai.anatomy import (
    EventFacts,
    EventOwnFacts,
    facts_and_payload_from_json,
    own_facts_and_sources_from_json,
)
from openapiopenai.schemas._ecs import build_ecs, encode_ecs_into
from openapiopenai.schemas._ocsf import build_ocsf, encode_ocsf_into

__all__ = ["CHUNK_BYTES", "SCHEMAS", "mapped_chunks", "mapped_json", "mapped_lines", "mapper", "read_ecs", "read_ocsf"]

#: The shapes an event can be written in: as the service sent it, or mapped.
SCHEMAS = ("raw", "ocsf", "ecs")


class _Head(msgspec.Struct, gc=False):
    type: Any = None


_decode_head = msgspec.json.Decoder(_Head).decode
_encode = msgspec.json.encode


def _type_of(raw: str | bytes) -> str:
    try:
        event_type = _decode_head(raw).type
    except msgspec.DecodeError as exc:
        raise ValueError(f"not a JSON event: {exc}") from None
    return event_type if isinstance(event_type, str) else ""


def _reader(build: Callable[[EventFacts, Any], dict[str, Any]]) -> Callable[[str | bytes], dict[str, Any]]:
    def read(raw: str | bytes) -> dict[str, Any]:
        f, body = facts_and_payload_from_json(raw, _type_of(raw))
        return build(f, body)

    return read


#: An event's JSON text -> its OCSF / ECS document (the payload as a ``msgspec.Raw`` of its own bytes).
read_ocsf = _reader(build_ocsf)
read_ecs = _reader(build_ecs)


#: How each schema appends an event read with its sources to a buffer (the parts of recurring actors and
#: projects are encoded once); each returns where the part copied from the event's text begins.
_encoders: dict[str, Callable[[bytearray, EventFacts | EventOwnFacts, Any, bytes | None, bytes | None, str | bytes], int]] = {
    "ocsf": encode_ocsf_into, "ecs": encode_ecs_into}

#: A mapped export gathers its lines into writes of about this size: one `write` call a line cost about
#: as much as the encoding of the line's event and project parts (~3 us each, ~10% of an OCSF export).
CHUNK_BYTES = 1 << 18


def mapper(schema: str) -> Callable[[str | bytes], dict[str, Any]]:
    """The function from an event's JSON text to its ``schema`` document (``ocsf`` or ``ecs``)."""
    if schema == "ocsf":
        return read_ocsf
    if schema == "ecs":
        return read_ecs
    raise ValueError(f"unknown schema {schema!r}: choose one of ocsf, ecs")


def mapped_chunks(events: Iterable[tuple[str | None, str | bytes]], schema: str,
                  size: int = CHUNK_BYTES) -> Iterator[tuple[bytearray, int]]:
    """``(type, raw)`` pairs (an event's ``type`` and JSON text) as ``schema``'s JSON lines, as UTF-8 with
    the newline, gathered into chunks of about ``size`` bytes (0: a line each): ``(chunk, lines in it)``,
    what an export writes to a binary file. ``type`` None: read from the text; given (an archive's
    ``type`` column), it must be the text's own, which spares decoding the event's head.

    Each line is encoded straight into its chunk, so no line is made and copied on its own. A chunk
    yielded is not touched again (the next is a new one)."""
    mapper(schema)   # the check of the name
    encode_into = _encoders[schema]
    read = own_facts_and_sources_from_json
    chunk = bytearray()
    lines = 0
    for event_type, raw in events:
        f, body, actor, project = read(raw, _type_of(raw) if event_type is None else event_type)
        at = encode_into(chunk, f, body, actor, project, raw)
        # Only the payload's own bytes can hold a line break (copied from the text, as whitespace between
        # tokens: msgspec escapes every control character in strings), and they come after `at`; a space
        # keeps the JSON's meaning and one line per event.
        if ("\n" in raw or "\r" in raw) if isinstance(raw, str) else (b"\n" in raw or b"\r" in raw):
            chunk[at:] = chunk[at:].replace(b"\r", b" ").replace(b"\n", b" ")
        chunk.append(0x0A)
        lines += 1
        if len(chunk) >= size:
            yield chunk, lines
            chunk = bytearray()
            lines = 0
    if lines:
        yield chunk, lines


def mapped_lines(events: Iterable[tuple[str | None, str | bytes]], schema: str) -> Iterator[bytearray]:
    """`mapped_chunks` a line at a time."""
    for line, _ in mapped_chunks(events, schema, 0):
        yield line


def mapped_json(raws: Iterable[str], schema: str) -> Iterator[str]:
    """``raws`` (events' JSON texts) as ``schema``'s JSON texts, one line each; ``raw`` passes them through."""
    if schema == "raw":
        yield from raws
        return
    for line in mapped_lines(((None, raw) for raw in raws), schema):
        yield line[:-1].decode()
