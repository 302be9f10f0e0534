"""The Elasticsearch / OpenSearch sink through the official clients, against the `_bulk` stand-in."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from _net_http import DROP, Response
from _net_items import batch, item
from _net_search import SearchStandIn

from openapiopenai.sinks import SinkConfigError, SinkFailed, SinkUnavailable, open_sink
from openapiopenai.sinks.elasticsearch import ElasticsearchSink, OpenSearchSink

PASSWORD = "es-secret-pw"
STREAM = "logs-openai.audit-default"
MakeSearch = Callable[..., SearchStandIn]


def sink_url(standin: SearchStandIn, ca_file: Path, scheme: str = "elasticsearch+https", **query: str) -> str:
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    return f"{scheme}://elastic@127.0.0.1:{standin.port}?password_env=TEST_ES_PASSWORD&ca_file={ca_file}{extra}"


@pytest.fixture(autouse=True)
def es_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_ES_PASSWORD", PASSWORD)


def opened(url: str) -> ElasticsearchSink:
    sink = open_sink(url)
    assert isinstance(sink, ElasticsearchSink)
    sink._sleep = lambda seconds: None
    sink.open()
    return sink


def bulk_requests(standin: SearchStandIn) -> list[list[str]]:
    """The `_id`s of each bulk request, in order."""
    found = []
    for request in standin.requests:
        if request.path.endswith("/_bulk"):
            lines = request.body.decode().splitlines()
            found.append([json.loads(line)["create"]["_id"] for line in lines[::2]])
    return found


def test_events_land_once_in_the_data_stream_through_the_official_client(make_search: MakeSearch,
                                                                         ca_file: Path) -> None:
    es = make_search()
    with opened(sink_url(es, ca_file)) as sink:
        assert sink.default_schema == "ecs" and sink.guarantee == "exactly-once"
        first, second = sink.send(batch(0, 50)), sink.send(batch(50, 25))
    assert first.rejected == () and first.duplicates == 0 and second.duplicates == 0
    stored = es.stored(STREAM)
    assert sorted(stored) == [f"audit_log-{i:06d}" for i in range(75)]
    # The raw schema: the service's bytes intact in event.original, the time the data stream needs.
    assert stored["audit_log-000007"]["event"]["original"] == item(7).raw
    assert stored["audit_log-000007"]["@timestamp"] == "2026-11-01T00:00:07Z"
    bulk = [r for r in es.requests if r.path.endswith("/_bulk")]
    assert [r.path for r in bulk] == [f"/{STREAM}/_bulk"] * 2
    assert bulk[0].headers["user-agent"].startswith("elasticsearch-py/")
    assert "compatible-with=" in bulk[0].headers["content-type"]


def test_a_resent_batch_counts_its_events_as_duplicates(make_search: MakeSearch, ca_file: Path) -> None:
    es = make_search()
    with opened(sink_url(es, ca_file)) as sink:
        sink.send(batch(0, 10))
        again = sink.send(batch(5, 10))
    assert again.duplicates == 5 and again.rejected == ()
    assert len(es.stored(STREAM)) == 15


def test_ecs_documents_are_sent_as_mapped_with_a_timestamp_added(make_search: MakeSearch, ca_file: Path) -> None:
    es = make_search()
    mapped = {"event": {"id": "audit_log-000001", "action": "login.succeeded"}, "user": {"id": "user-1"}}
    stamped = {"@timestamp": "2026-11-01T01:00:00Z", "event": {"id": "audit_log-000002"}}
    with opened(sink_url(es, ca_file, namespace="prod.eu")) as sink:
        sink.send([item(1, doc=mapped), item(2, doc=stamped)])
    stored = es.stored("logs-openai.audit-prod.eu")
    assert stored["audit_log-000001"] == {"@timestamp": "2026-11-01T00:00:01Z", **mapped}
    assert stored["audit_log-000002"] == stamped


def test_per_item_429_and_5xx_resend_only_those_items(make_search: MakeSearch, ca_file: Path) -> None:
    es = make_search()
    es.fail_items(["audit_log-000003", "audit_log-000008"], 429)
    es.fail_items(["audit_log-000008"], 503)
    sink = opened(sink_url(es, ca_file))
    waits: list[float] = []
    sink._sleep = waits.append
    result = sink.send(batch(0, 10))
    sink.close()
    assert result.rejected == () and result.duplicates == 0
    assert len(es.stored(STREAM)) == 10
    assert bulk_requests(es)[1:] == [["audit_log-000003", "audit_log-000008"], ["audit_log-000008"]]
    assert len(waits) == 2 and 0 < waits[0] < waits[1]


def test_items_refused_on_every_try_give_the_batch_back_then_count_as_duplicates(make_search: MakeSearch,
                                                                                ca_file: Path) -> None:
    es = make_search()
    es.fail_items(["audit_log-000004"], *[429] * 10)
    sink = opened(sink_url(es, ca_file))
    with pytest.raises(SinkUnavailable, match=r"1 of 10 events still refused \(429 es_rejected_execution"):
        sink.send(batch(0, 10))
    assert len(bulk_requests(es)) == 4  # the first try and three in-batch retries: bounded
    es.item_faults.clear()
    result = sink.send(batch(0, 10))  # what the shipper does next: the same batch again
    sink.close()
    assert result.duplicates == 9 and len(es.stored(STREAM)) == 10


def test_mapping_errors_come_back_as_rejected_items(make_search: MakeSearch, ca_file: Path) -> None:
    es = make_search()
    es.reject = lambda doc: "000002" in doc["event"]["id"] or "000005" in doc["event"]["id"]
    with opened(sink_url(es, ca_file)) as sink:
        result = sink.send(batch(0, 8))
    assert [(r.seq, r.event_id) for r in result.rejected] == [(2, "audit_log-000002"), (5, "audit_log-000005")]
    assert result.rejected[0].reason.startswith("400 document_parsing_exception: [1:40] failed to parse")
    assert "\n" not in result.rejected[0].reason
    assert len(es.stored(STREAM)) == 6


def test_a_data_stream_refuses_a_document_without_timestamp(make_search: MakeSearch, ca_file: Path) -> None:
    """The stand-in holds the real server's rule, so a sink that forgot @timestamp would see dead letters."""
    es = make_search()
    with opened(sink_url(es, ca_file)) as sink:
        sink.send([item(1, doc={"event": {"id": "x"}})])
    body = es.requests[-1].body.decode().splitlines()
    assert json.loads(body[1])["@timestamp"] == "2026-11-01T00:00:01Z"
    raw = es._bulk(b'{"create":{"_id":"y"}}\n{"a":1}\n', STREAM)
    assert raw["items"][0]["create"]["status"] == 400


@pytest.mark.parametrize(("answer", "retry_after"), [
    (Response.json(429, {"error": {"type": "circuit_breaking_exception"}, "status": 429},
                   {"Retry-After": "7"}), 7.0),
    (Response.json(503, {"error": {"type": "cluster_block_exception"}, "status": 503}), None),
    (DROP, None),
])
def test_whole_batch_failures_are_unavailable_and_the_next_try_delivers(make_search: MakeSearch, ca_file: Path,
                                                                       answer: Response | str,
                                                                       retry_after: float | None) -> None:
    es = make_search()
    sink = opened(sink_url(es, ca_file))
    es.script(f"/{STREAM}/_bulk", answer)
    with pytest.raises(SinkUnavailable) as caught:
        sink.send(batch(0, 5))
    assert caught.value.retry_after == retry_after
    assert sink.send(batch(0, 5)).duplicates == 0
    sink.close()
    assert len(es.stored(STREAM)) == 5


def test_a_cluster_that_stops_and_comes_back(make_search: MakeSearch, ca_file: Path) -> None:
    es = make_search()
    sink = opened(sink_url(es, ca_file))
    sink.send(batch(0, 5))
    es.stop()
    with pytest.raises(SinkUnavailable, match="unreachable"):
        sink.send(batch(5, 5))
    es.start()
    assert sink.send(batch(5, 5)).duplicates == 0
    sink.close()
    assert len(es.stored(STREAM)) == 10
    es.stop()
    with pytest.raises(SinkUnavailable, match="unreachable"):
        opened(sink_url(es, ca_file))


def test_opensearch_through_opensearch_py(make_search: MakeSearch, ca_file: Path) -> None:
    osd = make_search("opensearch")
    url = sink_url(osd, ca_file, scheme="opensearch+https")
    sink = open_sink(url)
    assert isinstance(sink, OpenSearchSink)
    sink._sleep = lambda seconds: None
    osd.fail_items(["audit_log-000001"], 429)
    osd.reject = lambda doc: doc["event"]["id"] == "audit_log-000002"
    with sink:
        result = sink.send(batch(0, 4))
        again = sink.send(batch(0, 4))
    assert [r.event_id for r in result.rejected] == ["audit_log-000002"]
    assert again.duplicates == 3
    assert sorted(osd.stored(STREAM)) == ["audit_log-000000", "audit_log-000001", "audit_log-000003"]
    assert osd.requests[-1].headers["user-agent"].startswith("opensearch-py/")
    osd.stop()
    with pytest.raises(SinkUnavailable):
        sink.open()
        sink.send(batch(5, 1))
    sink.close()


def test_api_key_authentication(make_search: MakeSearch, ca_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    encoded = base64.b64encode(b"key-id:key-secret").decode()
    es = make_search(api_key=encoded)
    monkeypatch.setenv("TEST_ES_API_KEY", encoded)
    with opened(f"elasticsearch+https://127.0.0.1:{es.port}?api_key_env=TEST_ES_API_KEY&ca_file={ca_file}") as s:
        s.send(batch(0, 2))
    assert es.requests[-1].headers["authorization"] == f"ApiKey {encoded}"
    assert len(es.stored(STREAM)) == 2


def test_a_server_without_the_product_header_is_not_elasticsearch(make_search: MakeSearch,
                                                                  ca_file: Path) -> None:
    es = make_search(product_header=False)
    with pytest.raises(SinkConfigError, match="is not Elasticsearch"):
        opened(sink_url(es, ca_file))


def test_a_wrong_password_is_a_config_error_and_a_revoked_one_fails_the_sink(
        make_search: MakeSearch, ca_file: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    es = make_search(password="the-real-one")
    messages = []
    with pytest.raises(SinkConfigError, match=r"refused the credentials \(401 security_exception\)") as caught:
        opened(sink_url(es, ca_file))
    messages.append(str(caught.value))
    right = make_search()
    sink = opened(sink_url(right, ca_file))
    right._basic = "Basic revoked"
    with pytest.raises(SinkFailed, match="401") as failed:
        sink.send(batch(0, 1))
    messages += [str(failed.value), repr(sink), sink.describe()]
    sink.close()
    encoded = base64.b64encode(f"elastic:{PASSWORD}".encode()).decode()
    text = "\n".join(messages) + caplog.text
    assert "elastic@127.0.0.1" in text  # the test can see what it looks for
    assert PASSWORD not in text and encoded not in text


def test_the_password_in_the_url_is_kept_out_of_every_text(make_search: MakeSearch, ca_file: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    es = make_search()
    url = f"elasticsearch+https://elastic:{PASSWORD}@127.0.0.1:{es.port}?ca_file={ca_file}"
    with opened(url) as sink:
        sink.send(batch(0, 3))
        shown = f"{sink!r} {sink.describe()} {sink.url}"
    assert len(es.stored(STREAM)) == 3
    assert PASSWORD not in shown + caplog.text


@pytest.mark.parametrize(("url", "message"), [
    ("elasticsearch+https://elastic@h:9200?namespace=Bad-NS&password=x", "namespace 'Bad-NS'"),
    ("elasticsearch+https://h:9200", "needs credentials"),
    ("elasticsearch+https://elastic@h:9200", "needs credentials"),
    ("elasticsearch+http://elastic:pw@es.example:9200", "refusing plain-text"),
    ("elasticsearch+https://elastic:pw@h:9200?namspace=x", "unknown setting 'namspace'"),
    ("elasticsearch+https://elastic:pw@h:9200?api_key=k", "not both"),
    ("elasticsearch+https://elastic:pw@h:9200?timeout=soon", "timeout must be a number"),
    ("elasticsearch+https://elastic:pw@h:9200?ca_file=/nonexistent/ca.pem", "ca_file: cannot read"),
    ("elasticsearch+https://:9200?password=x", "needs a host"),
    ("opensearch+https://h:9200?api_key=k", "not an api_key"),
])
def test_bad_urls_are_config_errors_before_any_request(url: str, message: str) -> None:
    with pytest.raises(SinkConfigError, match=message) as caught:
        open_sink(url)
    assert "pw" not in str(caught.value).replace("password", "")


def test_plain_http_to_loopback_works(make_search: MakeSearch) -> None:
    es = make_search(tls=None)
    with opened(f"elasticsearch+http://elastic:{PASSWORD}@127.0.0.1:{es.port}") as sink:
        sink.send(batch(0, 1))
    assert list(es.stored(STREAM)) == ["audit_log-000000"]



@pytest.mark.parametrize("flavour", ["elasticsearch", "opensearch"])
def test_verify_false_skips_certificate_checks_without_warnings(make_search: MakeSearch, flavour: str) -> None:
    """A self-signed cluster the user chose not to verify: it works, and no library warns on every request
    (warnings are errors in this suite)."""
    es = make_search(flavour)
    url = f"{flavour}+https://elastic@127.0.0.1:{es.port}?password_env=TEST_ES_PASSWORD&verify=false"
    with opened(url) as sink:
        sink.send(batch(0, 2))
    assert len(es.stored(STREAM)) == 2


@pytest.mark.parametrize("flavour", ["elasticsearch", "opensearch"])
def test_an_untrusted_certificate_is_a_config_error_not_an_outage(make_search: MakeSearch, flavour: str) -> None:
    es = make_search(flavour)
    with pytest.raises(SinkConfigError, match=r"certificate is not trusted .*give ca_file"):
        opened(f"{flavour}+https://elastic@127.0.0.1:{es.port}?password_env=TEST_ES_PASSWORD")
