"""The export's lines, byte for byte: what `--schema ocsf|ecs` writes for a fixed set of events is pinned.

`golden/export-lines.jsonl` holds, per event, its JSON text (one of each type and actor kind the emulator
makes, and odd shapes: null parts, wrong types, indented text, far-off times) and the SHA-256 of the line
each schema writes for it. A speed-up of the mapping must write the same bytes; a change of the mapping
on purpose rewrites the digests with ``python tests/schemas/test_export_lines.py --update`` (and the diff
shows which events it changed).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from openapiopenai.schemas._export import mapped_chunks, mapped_json, mapped_lines

GOLDEN = Path(__file__).parent / "golden" / "export-lines.jsonl"
SCHEMAS = ("ocsf", "ecs")


def _load() -> list[dict[str, Any]]:
    return [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines()]


def _digest(line: bytes | bytearray) -> str:
    return hashlib.sha256(line).hexdigest()


def _type_in_text(raw: str) -> str | None:
    """The event's type as the archive's column holds it (a sync archives only events with one)."""
    event_type = json.loads(raw).get("type")
    return event_type if isinstance(event_type, str) else None


def test_the_pinned_events_cover_every_part() -> None:
    events = [json.loads(e["raw"]) for e in _load()]
    assert len(events) > 200
    assert {"session", "api_key"} <= {(e.get("actor") or {}).get("type") for e in events if isinstance(e.get("actor"), dict)}
    assert any("\n" in e["raw"] for e in _load())   # an indented text: the line must still be one


@pytest.mark.parametrize("schema", SCHEMAS)
def test_each_schema_writes_the_pinned_bytes(schema: str) -> None:
    golden = _load()
    raws = [e["raw"] for e in golden]
    expected = [e[schema] for e in golden]
    # As an export from the service reads them (the type from the text) ...
    assert [_digest(line) for line in mapped_lines(((None, raw) for raw in raws), schema)] == expected
    # ... and from an archive (the type from its column), one event at a time or all in one stream.
    typed = [(_type_in_text(raw), raw) for raw in raws]
    assert [_digest(line) for line in mapped_lines(typed, schema)] == expected
    assert [_digest(next(mapped_lines([pair], schema))) for pair in typed] == expected
    # `list`/`tail` print the same text.
    assert [_digest(line.encode() + b"\n") for line in mapped_json(raws, schema)] == expected


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("size", [1, 5000, 1 << 24])
def test_an_export_s_chunks_hold_the_pinned_lines_whole(schema: str, size: int) -> None:
    """What the export writes (lines encoded straight into chunks of about ``size`` bytes) is the pinned
    lines in order, each chunk ending at a line's end and counting its lines."""
    golden = _load()
    typed = [(_type_in_text(e["raw"]), e["raw"]) for e in golden]
    chunks = list(mapped_chunks(typed, schema, size))
    lines = [line + b"\n" for chunk, _ in chunks for line in bytes(chunk).split(b"\n")[:-1]]
    assert [_digest(line) for line in lines] == [e[schema] for e in golden]
    assert [n for _, n in chunks] == [bytes(chunk).count(b"\n") for chunk, _ in chunks]
    assert all(chunk.endswith(b"\n") for chunk, _ in chunks)
    assert len({id(chunk) for chunk, _ in chunks}) == len(chunks)   # a chunk yielded is not reused
    if size == 1:
        assert len(chunks) == len(golden)
    elif size == 1 << 24:
        assert len(chunks) == 1


def test_a_changed_byte_is_noticed() -> None:
    golden = _load()[0]
    line = next(mapped_lines([(None, golden["raw"])], "ecs"))
    assert _digest(line) == golden["ecs"]
    assert _digest(line.replace(b'"ecs":', b'"ecs" :')) != golden["ecs"]


def _update() -> None:
    golden = _load()
    for event in golden:
        for schema in SCHEMAS:
            event[schema] = _digest(next(mapped_lines([(None, event["raw"])], schema)))
    GOLDEN.write_text("".join(json.dumps(e) + "\n" for e in golden), encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python tests/schemas/test_export_lines.py --update")
    _update()
