"""The syslog sink into a real rsyslogd: RFC 5424 fields, octet counting, TLS, and rsyslog going away."""

from __future__ import annotations

import dataclasses
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from _net_items import batch, item
from _net_rsyslog import Rsyslog

from openapiopenai.sinks import SinkConfigError, SinkUnavailable, open_sink
from openapiopenai.sinks.syslog import SyslogSink

MakeRsyslog = Callable[..., Rsyslog]


def sink_for(server: Rsyslog, **query: str) -> SyslogSink:
    tls = (server.folder / "ca.pem").exists()
    query = {"hostname": "shipper-1", **({"ca_file": str(server.folder / "ca.pem")} if tls else {}), **query}
    extra = "&".join(f"{k}={v}" for k, v in query.items())
    sink = open_sink(f"syslog+{'tls' if tls else 'tcp'}://127.0.0.1:{server.port}?{extra}")
    assert isinstance(sink, SyslogSink)
    return sink


def event_ids(server: Rsyslog) -> Counter[str]:
    return Counter(json.loads(line.msg)["id"] for line in server.lines())


@pytest.mark.parametrize("tls", [False, True], ids=["tcp", "tls"])
def test_every_event_arrives_with_its_json_intact(make_rsyslog: MakeRsyslog, tls: bool) -> None:
    server = make_rsyslog(tls=tls)
    with sink_for(server) as sink:
        assert sink.guarantee == "at-least-once"
        for start in (0, 40, 80):
            assert sink.send(batch(start, 40)).rejected == ()
    server.stop()  # rsyslog writes out its queue as it stops
    lines = server.lines()
    assert [line.msg for line in lines] == [item(i).raw for i in range(120)]
    first = lines[0]
    assert (first.msgid, first.hostname, first.app_name) == ("login.succeeded", "shipper-1", "openapiopenai")
    assert first.structured_data == '[openapiopenai@32473 event_id="audit_log-000000" seq="0"]'
    assert first.timestamp == "2026-11-01T00:00:00Z"
    assert first.pri == 13 * 8 + 6  # facility "log audit", severity informational
    assert "error" not in server.stderr().lower()  # an orderly TLS close, no framing complaints


def test_octet_counting_carries_line_breaks_and_escapes_the_structured_data(make_rsyslog: MakeRsyslog) -> None:
    server = make_rsyslog()
    odd = dataclasses.replace(item(1), raw=item(1).raw.replace(", ", ",\n  "), event_id='id"with]\\odd',
                              event_type="a.type.longer.than.thirty-two.characters")
    with sink_for(server, facility="local4", severity="notice", app_name="audit app") as sink:
        sink.send([odd, item(2, doc={"event": {"id": "audit_log-000002"}})])
    server.stop()
    first, second = server.lines()
    assert first.msg == odd.raw and "\n" in first.msg
    assert first.structured_data == '[openapiopenai@32473 event_id="id\\"with\\]\\\\odd" seq="1"]'
    assert first.msgid == "a.type.longer.than.thirty-two.ch"
    assert first.app_name == "audit_app" and first.pri == 20 * 8 + 5
    assert json.loads(second.msg) == {"event": {"id": "audit_log-000002"}}


def test_a_message_over_the_limit_is_rejected_not_cut(make_rsyslog: MakeRsyslog) -> None:
    server = make_rsyslog()
    big = dataclasses.replace(item(3), raw=json.dumps({"id": "audit_log-000003", "pad": "x" * 2000}))
    with sink_for(server, max_message_bytes="1024") as sink:
        result = sink.send([item(2), big, item(4)])
    assert [(r.seq, r.event_id) for r in result.rejected] == [(3, "audit_log-000003")]
    assert "max_message_bytes=1024" in result.rejected[0].reason
    server.stop()
    assert [line.msg for line in server.lines()] == [item(2).raw, item(4).raw]


def test_rsyslog_stopped_and_restarted_between_batches_loses_nothing(make_rsyslog: MakeRsyslog) -> None:
    """The next batch finds the receiver gone, is refused until it is back, then delivered."""
    server = make_rsyslog()
    sink = sink_for(server)
    sink.open()
    sent = 0
    unavailable = 0
    restarts = 0
    batches = [batch(start, 25) for start in range(0, 500, 25)]
    for number, events in enumerate(batches):
        if number % 4 == 2:  # stop it now and then; bring it back after a refused try or two
            server.stop()
            restarts += 1
        for _attempt in range(20):  # what the shipper does: the same batch until it is acknowledged
            try:
                sink.send(events)
                break
            except SinkUnavailable:
                unavailable += 1
                server.start()
        else:
            pytest.fail("a batch was never acknowledged")
        sent += len(events)
    sink.close()
    server.stop()
    counts = event_ids(server)
    assert set(counts) == {f"audit_log-{i:06d}" for i in range(500)}, "an event was lost"
    twice = sum(1 for n in counts.values() if n > 1)
    print(f"syslog restarts={restarts} unavailable={unavailable} events={sent} duplicated={twice}")
    assert restarts == 5 and unavailable >= 5


def test_unreachable_at_open_then_reachable(make_rsyslog: MakeRsyslog, ca_file: Path) -> None:
    server = make_rsyslog(tls=True)
    sink = sink_for(server)
    server.stop()
    with pytest.raises(SinkUnavailable, match="unreachable"):
        sink.open()
    server.start()
    sink.send(batch(0, 1))
    sink.close()
    with pytest.raises(SinkConfigError, match="ca_file: cannot read"):
        sink_for(server, ca_file=str(ca_file).replace("ca.pem", "nope.pem"))


def test_a_certificate_from_another_authority_is_not_trusted(make_rsyslog: MakeRsyslog, tmp_path: Path) -> None:
    import trustme

    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    server = make_rsyslog(tls=True)
    with pytest.raises(SinkConfigError, match="certificate is not trusted"):
        sink_for(server, ca_file=str(other)).open()


@pytest.mark.parametrize(("url", "message"), [
    ("syslog+tcp://:514", "needs a host"),
    ("syslog+tcp://h:514?facility=kitchen", "facility 'kitchen'"),
    ("syslog+tcp://h:514?severity=99", "severity '99'"),
    ("syslog+tcp://h:514?max_message_bytes=10", "max_message_bytes must be between"),
    ("syslog+tcp://h:514?framing=lf", "unknown setting 'framing'"),
    ("syslog+tls://user:hunter2@h:6514", "takes no user or password"),
])
def test_bad_urls_are_config_errors(url: str, message: str) -> None:
    with pytest.raises(SinkConfigError, match=message) as caught:
        open_sink(url)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("tls", [False, True], ids=["tcp", "tls"])
def test_rsyslog_restarted_while_batches_are_in_flight(make_rsyslog: MakeRsyslog, tls: bool) -> None:
    """A thread stops and starts rsyslog at random instants while the sink streams batches."""
    server = make_rsyslog(tls=tls)
    sink = sink_for(server)
    rng = random.Random(12)
    restarted = threading.Event()

    def restarter() -> None:
        for _ in range(4):
            time.sleep(rng.uniform(0.02, 0.2))
            server.stop()
            time.sleep(rng.uniform(0.0, 0.05))
            server.start()
        restarted.set()

    thread = threading.Thread(target=restarter)
    thread.start()
    unavailable = sent = 0
    try:
        # Until the restarts are over, and bounded: 400 batches of 100 at most.
        while sent < 40_000 and not (restarted.is_set() and sent >= 2000):
            events = batch(sent, 100)
            for _attempt in range(500):
                try:
                    sink.send(events)
                    break
                except SinkUnavailable:
                    unavailable += 1
                    time.sleep(0.01)
            else:
                pytest.fail("a batch was never acknowledged")
            sent += len(events)
    finally:
        thread.join(60)
    sink.close()
    server.stop()
    counts = event_ids(server)
    missing = {f"audit_log-{i:06d}" for i in range(sent)} - set(counts)
    twice = sum(1 for n in counts.values() if n > 1)
    print(f"syslog in-flight: restarts=4 events={sent} unavailable={unavailable} duplicated={twice} "
          f"missing={len(missing)}")
    assert restarted.is_set() and unavailable >= 4
    assert not missing, f"{len(missing)} events lost"


def test_verify_false_skips_certificate_checks(make_rsyslog: MakeRsyslog) -> None:
    server = make_rsyslog(tls=True)
    with open_sink(f"syslog+tls://127.0.0.1:{server.port}?verify=false") as sink:
        sink.send(batch(0, 1))
    with pytest.raises(SinkConfigError, match="certificate is not trusted"):
        open_sink(f"syslog+tls://127.0.0.1:{server.port}").open()
    server.stop()
    assert [line.msg for line in server.lines()] == [item(0).raw]
