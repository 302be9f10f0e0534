"""The shipper and its ledger, against a scripted in-memory sink (the real sinks have their own tests).

The sink records every batch it is sent and can be told to fail (transiently or for good) or to reject
items, so each rule of delivery is checked on its own: the position moves only on acknowledgement, an
outage re-sends the same batch, a crash re-sends exactly the pending batch, dead letters are kept,
reported and re-sent on request.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from _sink_helpers import archived

from openapiopenai.archive import Archive
from openapiopenai.archive._rows import INSERT_SQL, event_row
from openapiopenai.sinks import (
    BatchResult,
    Item,
    Rejected,
    Sink,
    SinkConfigError,
    SinkFailed,
    SinkUnavailable,
    _schemas,
    parse_sink_url,
)
from openapiopenai.sinks._ledger import Ledger
from openapiopenai.sinks._ship import ShipError, backoff_delay, ship


class ScriptedSink(Sink):
    scheme: ClassVar[tuple[str, ...]] = ("scripted",)
    guarantee: ClassVar[str] = "exactly-once"

    def __init__(self, *, failures: Sequence[BaseException] = (), reject: Callable[[Item], str | None] | None = None,
                 open_error: BaseException | None = None) -> None:
        super().__init__(parse_sink_url("scripted://memory/x"), options={})
        self.failures = list(failures)
        self.reject = reject
        self.open_error = open_error
        self.batches: list[list[int]] = []
        self.held: dict[str, str] = {}
        self.opened = self.closed = 0

    def open(self) -> None:
        self.opened += 1
        if self.open_error is not None:
            raise self.open_error

    def send(self, batch: Sequence[Item]) -> BatchResult:
        self.batches.append([i.seq for i in batch])
        if self.failures:
            raise self.failures.pop(0)
        rejected, duplicates = [], 0
        for item in batch:
            reason = self.reject(item) if self.reject else None
            if reason:
                rejected.append(Rejected(item.seq, item.event_id, reason))
            elif item.event_id in self.held:
                duplicates += 1
            else:
                self.held[item.event_id] = item.raw
        return BatchResult(tuple(rejected), duplicates)

    def close(self) -> None:
        self.closed += 1


class FakeTime:
    """The clock and sleep seams: sleeping advances the clock and is recorded, never waited."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def archive(make_archive: Callable[[], Path]) -> Any:
    with Archive(make_archive()) as a:
        yield a


def _ledger(archive: Archive, name: str = "scripted://memory/x") -> Ledger:
    return Ledger(archive.connection, name)


def test_delivers_every_event_once_in_archiving_order(archive: Archive) -> None:
    sink = ScriptedSink()
    result = ship(archive, sink, batch=700)
    total = archive.count()
    assert sink.held == archived(archive.path)
    assert [s for b in sink.batches for s in b] == list(range(1, total + 1))
    assert max(len(b) for b in sink.batches) == 700
    assert (result.delivered, result.position, result.backlog, result.batches) == (total, total, 0, 5)
    assert sink.opened == sink.closed == 1
    state = _ledger(archive).state()
    assert state is not None and state.position == total and state.pending is None
    assert ship(archive, sink).delivered == 0 and len(sink.batches) == 5


def test_follow_delivers_what_a_later_sync_adds(archive: Archive) -> None:
    clock = FakeTime()
    sink = ScriptedSink()
    rounds = {"n": 0}

    def sleep(seconds: float) -> None:   # while ship waits, a sync archives two more events
        clock.sleep(seconds)
        rounds["n"] += 1
        event = {"id": f"audit_log-follow{rounds['n']}", "type": "login.failed", "effective_at": 7}
        archive.connection.execute(INSERT_SQL, event_row(event, f'{{"n": {rounds["n"]}}}', tenant=False))

    result = ship(archive, sink, follow=True, interval=30, stop=lambda: "audit_log-follow2" in sink.held,
                  clock=clock.clock,
                  sleep=sleep)
    assert clock.slept == [30, 30] and {"audit_log-follow1", "audit_log-follow2"} <= set(sink.held)
    assert result.backlog == 0 and result.delivered == archive.count()


def test_the_sink_chooses_the_batch_size_unless_told(archive: Archive) -> None:
    class Big(ScriptedSink):
        preferred_batch = 2000

    big = Big()
    ship(archive, big)
    assert [len(b) for b in big.batches] == [2000, archive.count() - 2000]
    small = ScriptedSink()
    ship(archive, small, name="another")
    assert max(len(b) for b in small.batches) == 1000


def test_late_and_back_filled_events_are_shipped_too(archive: Archive) -> None:
    sink = ScriptedSink()
    ship(archive, sink)
    # An event older than everything shipped arrives (a late event, a back-fill of an older range).
    old = {"id": "audit_log-late", "type": "login.failed", "effective_at": 1}
    archive.connection.execute(INSERT_SQL, event_row(old, '{"id": "audit_log-late"}', tenant=False))
    result = ship(archive, sink)
    assert result.delivered == 1 and "audit_log-late" in sink.held


def test_an_outage_resends_the_same_batch_with_backoff(archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("openapiopenai.sinks._ship.add_jitter", lambda d: d)
    clock = FakeTime()
    sink = ScriptedSink(failures=[SinkUnavailable("503"), SinkUnavailable("429", retry_after=7.0),
                                  SinkUnavailable("reset")])
    result = ship(archive, sink, batch=1000, clock=clock.clock, sleep=clock.sleep)
    assert sink.batches[0] == sink.batches[1] == sink.batches[2] == sink.batches[3]
    assert clock.slept == [1.0, 7.0, 4.0]    # doubling, except where the sink said how long
    assert result.retries == 3 and sink.held == archived(archive.path)


def test_giving_up_leaves_the_batch_pending_and_the_next_run_resends_it_exactly(archive: Archive) -> None:
    clock = FakeTime()
    failing = ScriptedSink(failures=[SinkUnavailable("down")] * 100)
    ok = ScriptedSink()
    ship(archive, ok, name="n", batch=1000)
    late = [{"id": f"audit_log-late{i}", "type": "login.failed", "effective_at": 5} for i in range(30)]
    for e in late:
        archive.connection.execute(INSERT_SQL, event_row(e, f'{{"id": "{e["id"]}"}}', tenant=False))
    before = _ledger(archive, "n").state()
    assert before is not None
    with pytest.raises(ShipError, match="gave up after"):
        ship(archive, failing, name="n", batch=20, give_up_after=60, clock=clock.clock, sleep=clock.sleep)
    after = _ledger(archive, "n").state()
    assert after is not None and after.position == before.position
    assert after.pending == (before.position + 1, before.position + 20, False)
    assert sum(clock.slept) <= 60
    # The next run uses another batch size, yet first sends the pending batch as it was.
    shipped_before = len(ok.batches)
    ship(archive, ok, name="n", batch=7)
    resent = ok.batches[shipped_before:]
    assert resent[0] == failing.batches[0] and len(resent[0]) == 20
    assert [len(b) for b in resent[1:]] == [7, 3]
    assert set(ok.held) == set(archived(archive.path))


def test_rejected_items_become_dead_letters_and_retry_dead_resends_them(archive: Archive) -> None:
    refuse = {5, 6, 1999}
    picky = ScriptedSink(reject=lambda item: "mapper_parsing_exception: field [x]" if item.seq in refuse else None)
    result = ship(archive, picky, name="n", batch=500)
    assert result.rejected == 3 and result.dead_letters == 3 and result.position == archive.count()
    dead = _ledger(archive, "n").dead_letters()
    assert [d.seq for d in dead] == sorted(refuse) and dead[0].attempts == 1
    assert dead[0].reason == "mapper_parsing_exception: field [x]"
    # Still refused: attempts counted, still dead.
    refuse.discard(1999)
    again = ship(archive, picky, name="n", retry_dead=True)
    assert again.revived == 1 and again.dead_letters == 2
    assert [d.attempts for d in _ledger(archive, "n").dead_letters()] == [2, 2]
    refuse.clear()
    last = ship(archive, picky, name="n", retry_dead=True)
    assert last.revived == 2 and last.dead_letters == 0 and picky.held == archived(archive.path)
    assert _ledger(archive, "n").state().position == archive.count()  # type: ignore[union-attr]


def test_an_event_the_mapper_cannot_map_is_a_dead_letter(archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    def to_doc(event: dict[str, Any]) -> Mapping[str, Any]:
        if event["type"] == "login.failed":
            raise KeyError("actor")
        return {"mapped": event["id"]}

    monkeypatch.setattr(_schemas, "_MAPPERS", {"ocsf": ("tests_fake_mapper", "to_ocsf")})
    monkeypatch.setattr(_schemas, "schema_mapper", lambda schema: to_doc)
    monkeypatch.setattr("openapiopenai.sinks._ship.schema_mapper", lambda schema: to_doc)
    sink = ScriptedSink()
    result = ship(archive, sink, schema="ocsf")
    failed = archive.connection.execute("SELECT count(*) FROM audit_logs WHERE type = 'login.failed'").fetchone()[0]
    assert failed > 0 and result.rejected == failed
    assert {d.reason for d in _ledger(archive).dead_letters()} == {"cannot map to ocsf: KeyError: 'actor'"}


@pytest.mark.parametrize("schema", ["ocsf", "ecs"])
def test_a_schema_this_build_cannot_map_is_refused_before_opening(archive: Archive, schema: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_schemas._MAPPERS, schema, ("openapiopenai._no_such_mapper", "to_x"))
    sink = ScriptedSink()
    with pytest.raises(SinkConfigError, match=f"--schema {schema} is not available"):
        ship(archive, sink, schema=schema)
    assert sink.opened == 0 and _ledger(archive).state() is None


@pytest.mark.parametrize("error", [SinkConfigError("401 bad credentials"), SinkUnavailable("connection refused")])
def test_a_sink_that_cannot_be_opened_leaves_the_ledger_untouched(archive: Archive, error: Exception) -> None:
    with pytest.raises(type(error)):
        ship(archive, ScriptedSink(open_error=error))
    assert archive.connection.execute("SELECT count(*) FROM sink_ledger").fetchone()[0] == 0


def test_a_permanent_failure_mid_run_keeps_what_was_acknowledged(archive: Archive) -> None:
    sink = ScriptedSink()
    sink.failures = []
    calls = {"n": 0}
    real_send = sink.send

    def send(batch: Sequence[Item]) -> BatchResult:
        calls["n"] += 1
        if calls["n"] == 3:
            raise SinkFailed("401: token revoked")
        return real_send(batch)

    sink.send = send  # type: ignore[method-assign]
    with pytest.raises(SinkFailed):
        ship(archive, sink, batch=100)
    state = _ledger(archive).state()
    assert state is not None and state.position == 200 and state.pending == (201, 300, False)
    assert sink.closed == 1


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"batch": 0}, "batch must be"), ({"schema": "xml"}, "unknown schema"), ({"interval": 0}, "positive"),
    ({"name": " "}, "must not be empty"),
])
def test_bad_arguments_are_value_errors_before_anything_happens(archive: Archive, kwargs: dict[str, Any],
                                                                message: str) -> None:
    sink = ScriptedSink()
    with pytest.raises(ValueError, match=message):
        ship(archive, sink, **kwargs)
    assert sink.opened == 0


def test_a_second_shipper_under_the_same_name_is_stopped(archive: Archive) -> None:
    other = Archive(archive.path)
    try:
        intruder = ScriptedSink()

        class Racing(ScriptedSink):
            def send(self, batch: Sequence[Item]) -> BatchResult:
                if not self.batches:   # while our first batch is out, another ship delivers under our name
                    ship(other, intruder, name="scripted://memory/x", batch=50)
                return super().send(batch)

        with pytest.raises(ShipError, match="another ship is delivering"):
            ship(archive, Racing(), batch=10)
    finally:
        other.close()


def test_a_sink_naming_items_it_was_not_sent_is_an_error(archive: Archive) -> None:
    class Confused(ScriptedSink):
        def send(self, batch: Sequence[Item]) -> BatchResult:
            return BatchResult((Rejected(10**9, "x", "?"),))

    with pytest.raises(ShipError, match="not in the batch"):
        ship(archive, Confused())


def test_backoff_is_capped_and_retry_after_honoured() -> None:
    assert backoff_delay(1, 12.0) == 12.0
    assert 45.0 <= backoff_delay(30, None) <= 60.0
    assert 45.0 <= backoff_delay(7, 10_000.0) <= 60.0   # an absurd Retry-After: the longest backoff instead


def test_ship_into_a_read_only_archive_is_refused(archive_template: Path) -> None:
    with Archive(archive_template, readonly=True) as ro, pytest.raises(Exception, match="read-only"):
        ship(ro, ScriptedSink())


def test_the_ledger_of_a_schema_1_archive_reads_empty(tmp_path: Path) -> None:
    import shutil

    v1 = tmp_path / "v1.sqlite"
    shutil.copyfile(Path(__file__).parents[1] / "archive" / "data" / "v1_archive.sqlite", v1)
    conn = sqlite3.connect(v1)
    assert Ledger(conn, "x").state() is None and Ledger(conn, "x").dead_letters() == []


def test_a_batch_splits_into_consecutive_parts_of_its_columns() -> None:
    from openapiopenai.sinks._batch import Batch

    items = [Item(s, f"audit_log-{s}", 1_700_000_000 + s, "login.succeeded", f'{{"n": {s}}}', None, "raw",
                  (0, "session")) for s in range(1, 8)]
    batch = Batch.of(items)
    parts = batch.split(3)
    assert [len(p) for p in parts] == [2, 2, 3]
    assert [list(p) for p in parts] == [items[0:2], items[2:4], items[4:7]]
    assert [r for p in parts for r in p.raw] == [i.raw.encode() for i in items]
    assert [c for p in parts for c in (p.columns or [])] == [(0, "session")] * 7
    assert [len(p) for p in Batch.of(items[:2]).split(5)] == [1, 1]   # never an empty part
    assert [len(p) for p in Batch.of([]).split(2)] == [0]   # an empty batch stays one (empty) part


class ColumnSink(ScriptedSink):
    """Reads the batch's columns, as the file sink does; says whether it reads ids and types, and prepares
    each batch ahead (recording in which thread), or fails to."""

    def __init__(self, *, reads_event_fields: bool = True, prepare_error: Exception | None = None) -> None:
        super().__init__()
        self.reads_event_fields = reads_event_fields
        self.prepare_error = prepare_error
        self.prepared_in: list[str] = []
        self.seen: list[tuple[Any, Any]] = []   # (prepared, first event id) of every batch sent

    def prepare(self, batch: Sequence[Item]) -> Any:
        import threading

        self.prepared_in.append(threading.current_thread().name)
        if self.prepare_error is not None:
            raise self.prepare_error
        return ("prepared", batch[0].seq) if batch else None

    def send(self, batch: Sequence[Item]) -> BatchResult:
        from openapiopenai.sinks._batch import Batch

        assert isinstance(batch, Batch)
        self.seen.append((batch.prepared, batch.event_id[0]))
        return super().send(batch)


def test_a_sink_prepares_each_batch_ahead_of_sending_it(archive: Archive) -> None:
    sink = ColumnSink()
    result = ship(archive, sink, batch=50)
    assert result.delivered == archive.count() and sink.held == archived(archive.path)
    assert [p for p, _ in sink.seen] == [("prepared", seqs[0]) for seqs in sink.batches]
    # The first batch is built before the read-ahead starts; every later one in the read-ahead thread.
    assert sink.prepared_in[0] == "MainThread"
    assert set(sink.prepared_in[1:]) == {"ship-read-ahead_0"} and len(sink.prepared_in) == result.batches


def test_a_failing_prepare_is_left_to_send(archive: Archive) -> None:
    sink = ColumnSink(prepare_error=RuntimeError("no"))
    result = ship(archive, sink, batch=70)
    assert result.delivered == archive.count() and sink.held == archived(archive.path)
    assert {p for p, _ in sink.seen} == {None}


def test_ids_and_types_are_left_unread_only_for_a_sink_that_says_so(archive: Archive,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    read = ColumnSink(reads_event_fields=True)
    ship(archive, read, name="read")
    assert all(isinstance(event_id, str) and event_id.startswith("audit_log") for _, event_id in read.seen)
    unread = ColumnSink(reads_event_fields=False)
    assert ship(archive, unread, name="unread").delivered == archive.count()
    assert {event_id for _, event_id in unread.seen} == {None}
    assert [s for b in unread.batches for s in b] == [s for b in read.batches for s in b]
    # A mapper may reject an event, and its dead letter names it: the ids are read then all the same.
    monkeypatch.setattr("openapiopenai.sinks._ship.schema_mapper", lambda schema: lambda event: {"id": event["id"]})
    mapped = ColumnSink(reads_event_fields=False)
    ship(archive, mapped, name="mapped", schema="ocsf")
    assert all(isinstance(event_id, str) and event_id.startswith("audit_log") for _, event_id in mapped.seen)
