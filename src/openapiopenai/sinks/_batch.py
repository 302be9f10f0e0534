"""A batch as the shipper reads it from the archive: columns, with the `Item` view built only when asked for.

The shipper hands every sink a `Batch`. It is a ``Sequence[Item]``, so a sink written against the
contract iterates Items as ever (built once, on first use). A sink that writes the archive's own values
as they are (files, Parquet, PostgreSQL's COPY) reads the columns instead and skips the per-event
objects: `raw` holds the archived JSON as the UTF-8 bytes SQLite stores, so the raw schema goes from the
archive to the file or the COPY stream with no decode and no encode on the way; `columns` holds the
archive's lookup columns (read only for a sink that asks for them, `Sink.reads_lookup_columns`).

`Batch.of(items)` makes one out of any sequence of Items (a test's list, another caller's), so a sink has
one code path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from itertools import pairwise
from typing import Any, overload

from openapiopenai.sinks._base import Item

__all__ = ["Batch"]


class Batch(Sequence[Item]):
    """One batch, in `seq` order, as parallel columns."""

    __slots__ = ("_items", "columns", "docs", "effective_at", "event_id", "event_type", "prepared", "raw", "schema",
                 "seq")

    def __init__(self, *, seq: Sequence[int], event_id: Sequence[str], effective_at: Sequence[int],
                 event_type: Sequence[str], raw: Sequence[bytes], docs: Sequence[Mapping[str, Any]] | None,
                 schema: str, columns: Sequence[tuple[Any, ...]] | None = None) -> None:
        self.seq = seq
        self.event_id = event_id
        """None for every event when the sink does not read ids and types (`Sink.reads_event_fields`)."""
        self.effective_at = effective_at
        """Unix seconds."""
        self.event_type = event_type
        """As `event_id`."""
        self.raw = raw
        """The archived JSON of each event, as UTF-8 bytes exactly as stored."""
        self.docs = docs
        """The mapped documents (ocsf/ecs), or None for the raw schema."""
        self.schema = schema
        self.columns = columns
        """The lookup columns of each event in `LOOKUP_COLUMNS` order, or None when not read."""
        self.prepared: Any = None
        """What the sink's `Sink.prepare` made of this batch ahead of `send`, or None (not prepared)."""
        self._items: list[Item] | None = None

    @classmethod
    def of(cls, items: Sequence[Item]) -> Batch:
        """`items` as a Batch (itself when it is one already)."""
        if isinstance(items, Batch):
            return items
        docs = [i.doc for i in items]
        mapped = bool(items) and items[0].doc is not None
        batch = cls(seq=[i.seq for i in items], event_id=[i.event_id for i in items],
                    effective_at=[i.effective_at for i in items], event_type=[i.event_type for i in items],
                    raw=[i.raw.encode() for i in items], docs=docs if mapped else None,  # type: ignore[arg-type]
                    schema=items[0].schema if items else "raw",
                    columns=[i.columns for i in items] if items and items[0].columns else None)
        batch._items = list(items)
        return batch

    def split(self, parts: int) -> list[Batch]:
        """The batch cut into `parts` consecutive runs of (nearly) equal length, none empty, as Batches
        (columns sliced, no Items built)."""
        n = len(self)
        parts = max(1, min(parts, n))
        bounds = [n * k // parts for k in range(parts + 1)]
        return [self._slice(a, b) for a, b in pairwise(bounds)]

    def _slice(self, start: int, stop: int) -> Batch:
        part = Batch(seq=self.seq[start:stop], event_id=self.event_id[start:stop],
                     effective_at=self.effective_at[start:stop], event_type=self.event_type[start:stop],
                     raw=self.raw[start:stop], docs=None if self.docs is None else self.docs[start:stop],
                     schema=self.schema, columns=None if self.columns is None else self.columns[start:stop])
        if self._items is not None:
            part._items = self._items[start:stop]
        return part

    def items(self) -> list[Item]:
        """The batch as Items (built on the first call, kept for the next: a retry re-reads them)."""
        if self._items is None:
            docs = self.docs if self.docs is not None else [None] * len(self.seq)
            columns = self.columns if self.columns is not None else [()] * len(self.seq)
            schema = self.schema
            self._items = [Item(s, i, at, t, raw.decode(), doc, schema, cols) for s, i, at, t, raw, doc, cols
                           in zip(self.seq, self.event_id, self.effective_at, self.event_type, self.raw, docs,
                                  columns, strict=True)]
        return self._items

    def __len__(self) -> int:
        return len(self.seq)

    @overload
    def __getitem__(self, index: int) -> Item: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Item]: ...

    def __getitem__(self, index: int | slice) -> Item | Sequence[Item]:
        return self.items()[index]

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items())

    def __repr__(self) -> str:
        if not self.seq:
            return "Batch()"
        return f"Batch(seq {self.seq[0]}..{self.seq[-1]}, {len(self)} events, {self.schema})"
