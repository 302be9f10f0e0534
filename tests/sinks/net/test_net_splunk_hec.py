"""The Splunk HEC sink against the HEC stand-in: indexer acknowledgement, failures, the token."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from _net_clock import FakeClock
from _net_hec import HecStandIn
from _net_http import DROP, Response
from _net_items import batch, item

from openapiopenai.sinks import SinkConfigError, SinkFailed, SinkUnavailable, open_sink
from openapiopenai.sinks.splunk_hec import SplunkHecSink

TOKEN = "11111111-2222-3333-4444-555555555555"
MakeHec = Callable[..., HecStandIn]


@pytest.fixture(autouse=True)
def hec_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_HEC_TOKEN", TOKEN)


def sink_for(hec: HecStandIn, ca_file: Path, clock: FakeClock | None = None, **query: str) -> SplunkHecSink:
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    sink = open_sink(f"splunk-hec+https://127.0.0.1:{hec.port}?token_env=TEST_HEC_TOKEN&ca_file={ca_file}"
                     f"&host=shipper-1{extra}")
    assert isinstance(sink, SplunkHecSink)
    clock = clock or FakeClock()
    sink._clock, sink._sleep = clock, clock.sleep
    return sink


def event_posts(hec: HecStandIn) -> list[bytes]:
    return [r.body for r in hec.requests if r.path == "/services/collector/event" and r.body]


def test_a_batch_is_delivered_once_splunk_says_it_is_indexed(make_hec: MakeHec, ca_file: Path) -> None:
    hec = make_hec()
    clock = FakeClock()
    with sink_for(hec, ca_file, clock, index="audit") as sink:
        assert sink.guarantee == "at-least-once"
        result = sink.send(batch(0, 30))
    assert result.rejected == () and clock.sleeps == []  # acked on the first poll: no wait
    assert len(hec.indexed) == 30
    first = hec.indexed[0]
    assert first["time"] == item(0).effective_at and first["host"] == "shipper-1"
    assert (first["source"], first["sourcetype"], first["index"]) == ("openapiopenai", "openai:audit", "audit")
    assert first["fields"] == {"event_id": "audit_log-000000", "event_type": "login.succeeded"}
    assert first["event"] == json.loads(item(0).raw)
    # The service's bytes go out as they are, inside the envelope.
    assert all(f',"event":{item(i).raw}}}'.encode() in event_posts(hec)[0] for i in range(30))
    posts = [r for r in hec.requests if r.path.startswith("/services/collector/")]
    assert {r.headers["x-splunk-request-channel"] for r in posts} == {sink.channel}
    assert posts[-1].path == "/services/collector/ack" and json.loads(posts[-1].body) == {"acks": [0]}


def test_send_returns_only_after_the_ack_and_polls_with_growing_waits(make_hec: MakeHec, ca_file: Path) -> None:
    hec = make_hec()
    hec.ack_after_polls = 3
    clock = FakeClock()
    sink = sink_for(hec, ca_file, clock)
    indexed_while_waiting: list[int] = []
    sink._sleep = lambda s: (indexed_while_waiting.append(len(hec.indexed)), clock.sleep(s))  # type: ignore[func-returns-value]
    sink.open()
    sink.send(batch(0, 5))
    sink.close()
    assert indexed_while_waiting == [0, 0, 0]
    assert clock.sleeps == [0.1, 0.2, 0.4]
    assert len(hec.indexed) == 5


def test_a_large_batch_goes_as_several_requests_whose_acks_are_polled_together(make_hec: MakeHec,
                                                                                ca_file: Path) -> None:
    hec = make_hec()
    with sink_for(hec, ca_file, max_request_bytes="2000") as sink:
        sink.send(batch(0, 12))
    posts = event_posts(hec)
    assert len(posts) >= 3 and all(len(p) <= 2000 for p in posts)
    acks = [json.loads(r.body) for r in hec.requests if r.path == "/services/collector/ack"]
    assert acks == [{"acks": list(range(len(posts)))}]
    assert [e["fields"]["event_id"] for e in hec.indexed] == [f"audit_log-{i:06d}" for i in range(12)]


def test_acks_lost_in_an_indexer_restart_end_the_wait_and_the_batch_is_sent_again(make_hec: MakeHec,
                                                                                 ca_file: Path) -> None:
    hec = make_hec()
    hec.ack_after_polls = 1
    clock = FakeClock()
    sink = sink_for(hec, ca_file, clock, ack_timeout="30")
    sink.open()
    original = sink._sleep

    def restart_then_sleep(seconds: float) -> None:
        hec.forget_acks()
        original(seconds)

    sink._sleep = restart_then_sleep
    with pytest.raises(SinkUnavailable, match=r"did not acknowledge 1 of 1 requests as indexed within 30s"):
        sink.send(batch(0, 4))
    assert 25 <= sum(clock.sleeps) <= 30  # bounded by ack_timeout on the sink's clock
    sink._sleep = clock.sleep
    sink.send(batch(0, 4))
    sink.close()
    assert [e["fields"]["event_id"] for e in hec.indexed] == [f"audit_log-{i:06d}" for i in range(4)]


@pytest.mark.parametrize("answer", [
    Response.json(503, {"text": "Server is busy", "code": 9}, {"Retry-After": "5"}),
    Response.json(500, {"text": "Internal server error", "code": 8}),
    DROP,
])
def test_busy_failing_or_dropped_is_unavailable_and_the_next_try_delivers(make_hec: MakeHec, ca_file: Path,
                                                                          answer: Response | str) -> None:
    hec = make_hec()
    sink = sink_for(hec, ca_file)
    sink.open()
    hec.script("/services/collector/event", answer)
    with pytest.raises(SinkUnavailable) as caught:
        sink.send(batch(0, 3))
    assert caught.value.retry_after == (5.0 if answer != DROP and answer.status == 503 else None)
    sink.send(batch(0, 3))
    sink.close()
    assert len(hec.indexed) == 3


def test_a_dropped_ack_poll_is_polled_again(make_hec: MakeHec, ca_file: Path) -> None:
    hec = make_hec()
    hec.script("/services/collector/ack", DROP, Response.json(503, {"text": "Server is busy", "code": 9}))
    clock = FakeClock()
    with sink_for(hec, ca_file, clock) as sink:
        sink.send(batch(0, 3))
    assert len(clock.sleeps) == 2 and len(hec.indexed) == 3


def test_a_collector_that_stops_and_comes_back(make_hec: MakeHec, ca_file: Path) -> None:
    hec = make_hec()
    sink = sink_for(hec, ca_file)
    sink.open()
    sink.send(batch(0, 2))
    hec.stop()
    with pytest.raises(SinkUnavailable, match="unreachable"):
        sink.send(batch(2, 2))
    hec.start()
    sink.send(batch(2, 2))
    sink.close()
    assert len(hec.indexed) == 4


def test_an_event_splunk_cannot_parse_is_rejected_and_the_rest_resent(make_hec: MakeHec, ca_file: Path) -> None:
    hec = make_hec()
    with sink_for(hec, ca_file) as sink:
        hec.script("/services/collector/event",
                   Response.json(400, {"text": "Invalid data format", "code": 6, "invalid-event-number": 2}))
        result = sink.send(batch(0, 5))
    assert [(r.seq, r.event_id, r.reason) for r in result.rejected] == [
        (2, "audit_log-000002", "HEC code 6 Invalid data format")]
    assert [e["fields"]["event_id"][-1] for e in hec.indexed] == ["0", "1", "3", "4"]


def test_a_wrong_token_fails_at_open_and_a_revoked_one_fails_the_sink(make_hec: MakeHec, ca_file: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    hec = make_hec(token="another-token")
    with pytest.raises(SinkConfigError, match=r"refused the token \(403 code 4 Invalid token\)") as bad:
        sink_for(hec, ca_file).open()
    good = make_hec()
    sink = sink_for(good, ca_file)
    sink.open()
    good.disabled = True
    with pytest.raises(SinkFailed, match=r"403 code 1 Token disabled") as revoked:
        sink.send(batch(0, 1))
    text = f"{bad.value}\n{revoked.value}\n{sink!r}\n{sink.describe()}\n{caplog.text}"
    sink.close()
    assert "127.0.0.1" in text and "token_env=TEST_HEC_TOKEN" in text
    assert TOKEN not in text


def test_the_token_in_the_url_is_kept_out_of_every_text(make_hec: MakeHec, ca_file: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    hec = make_hec()
    sink = open_sink(f"splunk-hec+https://127.0.0.1:{hec.port}?token={TOKEN}&ca_file={ca_file}")
    with sink:
        sink.send(batch(0, 1))
    assert len(hec.indexed) == 1
    assert TOKEN not in f"{sink!r} {sink.describe()} {caplog.text}"


def test_without_acknowledgement_on_the_token(make_hec: MakeHec, ca_file: Path) -> None:
    hec = make_hec(ack=False)
    with sink_for(hec, ca_file) as sink, pytest.raises(SinkFailed, match="indexer acknowledgement is off"):
        sink.send(batch(0, 2))
    with sink_for(hec, ca_file, ack="false") as sink:
        sink.send(batch(2, 2))
    assert [e["fields"]["event_id"] for e in hec.indexed][-2:] == ["audit_log-000002", "audit_log-000003"]


def test_an_index_the_token_may_not_write_fails_the_sink(make_hec: MakeHec, ca_file: Path) -> None:
    hec = make_hec()
    with sink_for(hec, ca_file, index="secret_idx") as sink, \
            pytest.raises(SinkFailed, match="may not write to index 'secret_idx'"):
        sink.send(batch(0, 1))


def test_no_collector_at_the_path_is_a_config_error(make_hec: MakeHec, ca_file: Path) -> None:
    hec = make_hec()
    sink = open_sink(f"splunk-hec+https://127.0.0.1:{hec.port}/proxy?token_env=TEST_HEC_TOKEN&ca_file={ca_file}")
    with pytest.raises(SinkConfigError, match="no HTTP Event Collector"):
        sink.open()


def test_plain_http_to_loopback(make_hec: MakeHec) -> None:
    hec = make_hec(tls=None)
    with open_sink(f"splunk-hec+http://127.0.0.1:{hec.port}?token_env=TEST_HEC_TOKEN") as sink:
        sink.send(batch(0, 1))
    assert len(hec.indexed) == 1


@pytest.mark.parametrize(("url", "message"), [
    ("splunk-hec+https://splunk:8088", "needs the HEC token"),
    ("splunk-hec+https://splunk:8088?token=", "needs the HEC token"),
    ("splunk-hec+https://splunk:8088?token=t&channel=not-a-guid", "channel must be a GUID"),
    ("splunk-hec+http://splunk.example:8088?token=t", "refusing plain-text"),
    ("splunk-hec+https://splunk:8088?token=t&ack_timeout=0", "ack_timeout must be between"),
    ("splunk-hec+https://splunk:8088?token=t&ack=maybe", "ack must be true or false"),
    ("splunk-hec+https://splunk:8088?token=t&idx=main", "unknown setting 'idx'"),
    ("splunk-hec+https://splunk:8088?token_env=NOT_SET_ANYWHERE_42", "NOT_SET_ANYWHERE_42 is not set"),
])
def test_bad_urls_are_config_errors(url: str, message: str) -> None:
    with pytest.raises(SinkConfigError, match=message):
        open_sink(url)


def test_verify_false_skips_certificate_checks(make_hec: MakeHec) -> None:
    hec = make_hec()
    with open_sink(f"splunk-hec+https://127.0.0.1:{hec.port}?token_env=TEST_HEC_TOKEN&verify=false") as sink:
        sink.send(batch(0, 1))
    assert len(hec.indexed) == 1


def test_an_untrusted_certificate_is_a_config_error_at_open(make_hec: MakeHec) -> None:
    hec = make_hec()
    with pytest.raises(SinkConfigError, match="certificate is not trusted"):
        open_sink(f"splunk-hec+https://127.0.0.1:{hec.port}?token_env=TEST_HEC_TOKEN").open()
