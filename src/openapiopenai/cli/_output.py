"""Turning events into text people and spreadsheets can read safely.

Everything printed here comes from the service, and the service echoes what users and attackers type
(user agents, names, emails). So every value shown on a terminal or written to CSV has its control
characters escaped (an ``ESC[31m`` in a user agent must not recolour, or worse, rewrite the analyst's
terminal), and CSV cells that a spreadsheet would run as a formula are neutralised. JSON formats pass
the service's text through unchanged: JSON already escapes control characters inside strings.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

from ._time import format_time

__all__ = [
    "COLUMNS",
    "DISPLAY_HEADERS",
    "UnwritableOutput",
    "atomic_output",
    "csv_cell",
    "display_cells",
    "escape_control",
    "event_row",
    "jsonl_line",
    "write_csv",
    "write_json_array",
    "write_jsonl",
    "write_parquet",
]

#: Flattened columns for CSV, parquet and the terminal table, in the order they are written.
COLUMNS = (
    "id",
    "effective_at",
    "type",
    "actor_type",
    "actor_id",
    "actor_email",
    "api_key_id",
    "ip_address",
    "user_agent",
    "project_id",
    "resource_id",
)

# C0 and C1 controls, DEL, the line/paragraph separators and the bidi overrides that can make a
# terminal line read differently from what it contains.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _escape_one(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_control(value: object) -> str:
    """``value`` as text with every control character shown as an escape such as ``\\x1b``."""
    text = "" if value is None else str(value)
    return _CONTROL.sub(_escape_one, text)


def csv_cell(value: object) -> str:
    """A CSV cell a spreadsheet will show but never evaluate (OWASP's CSV-injection advice)."""
    text = "" if value is None else str(value)
    safe = escape_control(text)
    return "'" + safe if text.startswith(_FORMULA_START) else safe


def event_row(event: Mapping[str, Any]) -> dict[str, Any]:
    """The flattened columns of one event (a decoded JSON object), read by `openapiopenai.anatomy`.

    The same facts as the archive's columns: a wrong-typed or empty value is ``None`` (an empty cell), and
    the actor's ``type`` decides whose user, IP and user agent are read.
    """
    # Imported here, not at the top: `--help` must not pay for msgspec (tests/cli/test_cli_imports.py).
    from openapiopenai.anatomy import facts

    f = facts(event)
    return {
        "id": f.id,
        "effective_at": f.effective_at,
        "type": f.type,
        "actor_type": f.actor_type,
        "actor_id": f.actor_id,
        "actor_email": f.user_email,
        "api_key_id": f.api_key_id,
        "ip_address": f.ip_address,
        "user_agent": f.user_agent,
        "project_id": f.project_id,
        "resource_id": f.target_id,
    }


#: Headers of the human-readable views (``list``'s table, ``tail`` lines), matching ``display_cells``:
#: what a reader scans for first comes first, so a narrow terminal drops from the end.
DISPLAY_HEADERS = ("time (UTC)", "type", "actor", "ip", "resource", "project", "id")


def display_cells(event: Mapping[str, Any]) -> tuple[str, ...]:
    """The human-readable view of one event, control characters escaped, ready for a terminal."""
    row = event_row(event)
    actor = row["actor_email"] or row["actor_id"] or row["api_key_id"] or row["actor_type"]
    cells = (
        format_time(row["effective_at"]),
        row["type"],
        actor,
        row["ip_address"],
        row["resource_id"],
        row["project_id"],
        row["id"],
    )
    return tuple(escape_control(cell) for cell in cells)


def jsonl_line(raw: str) -> str:
    """The service's JSON text on one line.

    A raw newline can only be whitespace between tokens (JSON strings must escape it), so turning it
    into a space keeps the document identical in meaning while keeping one event per line.
    """
    if "\n" in raw or "\r" in raw:
        raw = raw.replace("\r", " ").replace("\n", " ")
    return raw


def write_jsonl(raws: Iterable[str], out: IO[str]) -> int:
    count = 0
    for raw in raws:
        out.write(jsonl_line(raw))
        out.write("\n")
        count += 1
    return count


def write_chunks(chunks: Iterable[tuple[bytes | bytearray, int]], out: IO[bytes]) -> int:
    """Lines already encoded and gathered, as ``(chunk, lines in it)`` (a mapped export's): each chunk
    written with one call. Returns the number of lines."""
    count = 0
    write = out.write
    for chunk, lines in chunks:
        write(chunk)
        count += lines
    return count


def write_json_array(raws: Iterable[str], out: IO[str]) -> int:
    """A JSON array of the events exactly as sent, streamed so ``--all`` never holds them in memory."""
    count = 0
    out.write("[")
    for raw in raws:
        out.write(",\n" if count else "\n")
        out.write(raw)
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def write_csv(raws: Iterable[str], out: IO[str]) -> int:
    import csv  # here, not at the top, like tempfile below: `--help` imports this module

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((*COLUMNS, "raw"))
    count = 0
    for raw in raws:
        row = event_row(json.loads(raw))
        row["effective_at"] = format_time(row["effective_at"])
        writer.writerow([*(csv_cell(row[c]) for c in COLUMNS), csv_cell(jsonl_line(raw))])
        count += 1
    return count


def write_parquet(raws: Iterable[str], path: str, batch_size: int = 10_000) -> int:
    """Parquet with the flattened columns (typed, unescaped: it is data, not display) and ``raw``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            ("id", pa.string()),
            ("effective_at", pa.timestamp("s", tz="UTC")),
            *((c, pa.string()) for c in COLUMNS[2:]),
            ("raw", pa.string()),
        ]
    )
    count = 0
    with pq.ParquetWriter(path, schema) as writer:
        batch: list[dict[str, Any]] = []
        for raw in raws:
            row = {
                k: (v if k == "effective_at" or v is None else str(v))
                for k, v in event_row(json.loads(raw)).items()
            }
            row["raw"] = raw
            batch.append(row)
            if len(batch) >= batch_size:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count += len(batch)
                batch.clear()
        # An empty export still gets a valid file with the schema, so readers need no special case.
        if batch or not count:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    return count


class UnwritableOutput(ValueError):
    """The output file cannot be created where it was asked for (found before anything is written)."""


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """A temporary path beside ``path`` that replaces it only if the block finishes.

    A failure halfway (the service goes away, Ctrl-C, a full disk) leaves any earlier file as it was
    and no half-written one behind.
    """
    target = os.path.abspath(path)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise UnwritableOutput(f"{path}: directory {folder} does not exist")
    import tempfile  # shutil, random, bz2 and lzma come with it

    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(target) + ".", suffix=".tmp")
    except OSError as exc:
        # Nothing was written yet: the path is what is wrong, not the run.
        raise UnwritableOutput(f"{path}: cannot write in {folder} ({exc.strerror or exc})") from None
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
