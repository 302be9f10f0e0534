"""The webhook sink against a receiver over real HTTPS: NDJSON, the idempotency key, the signature."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from _net_http import DROP, Response
from _net_items import batch, item
from _net_webhook import WebhookReceiver

from openapiopenai.sinks import SinkConfigError, SinkFailed, SinkUnavailable, open_sink
from openapiopenai.sinks.webhook import WebhookSink, idempotency_key

SECRET = "whsec-the-signing-secret"
TOKEN = "hook-bearer-token-123"
MakeReceiver = Callable[..., WebhookReceiver]


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    return token_file


def sink_for(receiver: WebhookReceiver, ca_file: Path, token_file: Path, path: str = "/ingest",
             **query: str) -> WebhookSink:
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    sink = open_sink(f"{receiver.url}{path}?hmac_secret_env=TEST_HOOK_SECRET&token_file={token_file}"
                     f"&ca_file={ca_file}{extra}")
    assert isinstance(sink, WebhookSink)
    return sink


def test_batches_arrive_as_signed_ndjson_with_the_events_byte_for_byte(make_receiver: MakeReceiver, ca_file: Path,
                                                                       secrets: Path) -> None:
    hook = make_receiver(secret=SECRET, token=TOKEN)
    with sink_for(hook, ca_file, secrets) as sink:
        sink._wall = lambda: 1_800_000_000.5
        assert sink.guarantee == "at-least-once" and sink.default_schema == "raw"
        for start in (0, 10, 20):
            assert sink.send(batch(start, 10)).rejected == ()
    assert hook.stored() == [item(i).raw for i in range(30)]
    posts = hook.requests
    assert [r.path for r in posts] == ["/ingest"] * 3
    assert len({r.headers["idempotency-key"] for r in posts}) == 3
    first = posts[0]
    assert first.headers["x-openapiopenai-timestamp"] == "1800000000"
    expected = hmac.new(SECRET.encode(), b"1800000000." + first.body, hashlib.sha256).hexdigest()
    assert first.headers["x-openapiopenai-signature"] == f"sha256={expected}"
    assert first.body.endswith(b"\n") and first.body.count(b"\n") == 10


def test_the_same_batch_sent_again_carries_the_same_key(make_receiver: MakeReceiver, ca_file: Path,
                                                        secrets: Path) -> None:
    hook = make_receiver(secret=SECRET, token=TOKEN)
    with sink_for(hook, ca_file, secrets) as sink:
        sink.send(batch(0, 5))
        sink.send(batch(0, 5))
        sink.send(batch(0, 4))
    keys = [r.headers["idempotency-key"] for r in hook.requests]
    assert keys[0] == keys[1] == idempotency_key(batch(0, 5)) != keys[2]
    assert len(hook.received) == 14 and len(hook.stored()) == 9


def test_mapped_documents_and_raw_events_with_line_breaks_stay_one_a_line(make_receiver: MakeReceiver,
                                                                          ca_file: Path, secrets: Path) -> None:
    hook = make_receiver()
    spread = dataclasses.replace(item(2), raw=item(2).raw.replace(", ", ",\r\n  "))
    with sink_for(hook, ca_file, secrets) as sink:
        sink.send([item(1, doc={"event": {"id": "audit_log-000001"}}), spread])
    assert [json.loads(line) for line in hook.received] == [{"event": {"id": "audit_log-000001"}},
                                                             json.loads(item(2).raw)]


@pytest.mark.parametrize(("answer", "retry_after"), [
    (Response(429, b"slow down", {"Retry-After": "12", "Content-Type": "text/plain"}), 12.0),
    (Response(503, b"", {}), None),
    (Response(500, b"oops", {}), None),
    (Response(409, b"a request with this key is in progress", {}), None),
    (DROP, None),
])
def test_transient_answers_are_unavailable_and_the_resend_delivers_once(make_receiver: MakeReceiver,
                                                                        ca_file: Path, secrets: Path,
                                                                        answer: Response | str,
                                                                        retry_after: float | None) -> None:
    hook = make_receiver(secret=SECRET, token=TOKEN)
    hook.script("/ingest", answer)
    with sink_for(hook, ca_file, secrets) as sink:
        with pytest.raises(SinkUnavailable) as caught:
            sink.send(batch(0, 3))
        assert caught.value.retry_after == retry_after
        sink.send(batch(0, 3))
    assert hook.stored() == [item(i).raw for i in range(3)]


def test_a_receiver_that_stops_and_comes_back(make_receiver: MakeReceiver, ca_file: Path, secrets: Path) -> None:
    hook = make_receiver()
    with sink_for(hook, ca_file, secrets) as sink:
        sink.send(batch(0, 2))
        hook.stop()
        with pytest.raises(SinkUnavailable, match="unreachable"):
            sink.send(batch(2, 2))
        hook.start()
        sink.send(batch(2, 2))
    assert len(hook.stored()) == 4


@pytest.mark.parametrize(("answer", "message"), [
    (Response(400, b"bad payload", {"Content-Type": "text/plain"}), r"refused the batch \(400 Bad Request: bad payload\)"),
    (Response(404, b"", {}), r"\(404 Not Found\)"),
    (Response(422, b"{}", {}), r"\(422 Unprocessable"),
    (Response(302, b"", {"Location": "https://elsewhere.example/"}), "redirects"),
])
def test_other_answers_fail_the_sink(make_receiver: MakeReceiver, ca_file: Path, secrets: Path,
                                     answer: Response, message: str) -> None:
    hook = make_receiver()
    hook.script("/ingest", answer)
    with sink_for(hook, ca_file, secrets) as sink, pytest.raises(SinkFailed, match=message):
        sink.send(batch(0, 1))
    assert len(hook.requests) == 1  # not followed, not retried


def test_a_wrong_signing_secret_is_refused_by_the_receiver(make_receiver: MakeReceiver, ca_file: Path,
                                                           secrets: Path) -> None:
    hook = make_receiver(secret="another-secret", token=TOKEN)
    with sink_for(hook, ca_file, secrets) as sink, pytest.raises(SinkFailed, match="401"):
        sink.send(batch(0, 1))
    assert hook.stored() == []


def test_secrets_stay_out_of_errors_reprs_and_logs_even_when_the_receiver_echoes_them(
        make_receiver: MakeReceiver, ca_file: Path, secrets: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    hook = make_receiver()
    hook.script("/ingest", Response(400, f"unexpected Authorization: Bearer {TOKEN}".encode(),
                                    {"Content-Type": "text/plain"}))
    sink = sink_for(hook, ca_file, secrets)
    with sink, pytest.raises(SinkFailed) as caught:
        sink.send(batch(0, 1))
    text = f"{caught.value}\n{sink!r}\n{sink.describe()}\n{caplog.text}"
    assert "Bearer ***" in text and "hmac_secret_env=TEST_HOOK_SECRET" in text
    assert TOKEN not in text and SECRET not in text
    signed = hook.requests[0].headers["x-openapiopenai-signature"]
    assert SECRET not in signed and TOKEN not in json.dumps(hook.requests[0].headers).replace(
        hook.requests[0].headers["authorization"], "")


def test_the_receivers_own_query_parameters_are_kept(make_receiver: MakeReceiver, ca_file: Path,
                                                     secrets: Path) -> None:
    hook = make_receiver()
    with sink_for(hook, ca_file, secrets, code="fn-key", tenant="a b") as sink:
        sink.send(batch(0, 1))
    assert hook.requests[0].query == {"code": "fn-key", "tenant": "a b"}


def test_plain_http_only_to_loopback(make_receiver: MakeReceiver) -> None:
    hook = make_receiver(tls=None)
    with open_sink(f"{hook.url}/in") as sink:
        sink.send(batch(0, 1))
    assert hook.stored() == [item(0).raw]
    with pytest.raises(SinkConfigError, match=r"refusing plain-text http:// to hooks\.example"):
        open_sink("http://hooks.example/in")
    assert isinstance(open_sink("http://hooks.example/in?allow_insecure_http=true"), WebhookSink)


@pytest.mark.parametrize(("url", "message"), [
    ("https:///path", "needs a host"),
    ("https://h/in?hmac_secret_env=NOT_SET_ANYWHERE_42", "NOT_SET_ANYWHERE_42 is not set"),
    ("https://h/in?token_file=/nonexistent/token", "token_file: cannot read"),
    ("https://h/in?timeout=-1", "timeout must be between"),
    ("https://h/in?verify=sometimes", "verify must be true or false"),
])
def test_bad_urls_are_config_errors(url: str, message: str) -> None:
    with pytest.raises(SinkConfigError, match=message):
        open_sink(url)


def test_verify_false_skips_certificate_checks_but_not_by_default(make_receiver: MakeReceiver) -> None:
    hook = make_receiver()
    with open_sink(f"{hook.url}/in?verify=false") as sink:
        sink.send(batch(0, 1))
    assert hook.stored() == [item(0).raw]
    with open_sink(f"{hook.url}/in") as sink, pytest.raises(SinkConfigError, match="certificate is not trusted"):
        sink.send(batch(1, 1))  # the stand-in's authority is not in the system's roots: a mistake, not an outage
