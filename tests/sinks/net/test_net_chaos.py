"""Chaos per network sink: `ship` SIGKILLed at random instants while the sink restarts, is busy or drops
connections; then a run to completion. Elasticsearch holds every archived event once; HEC, syslog and the
webhook hold every one at least once, and the test prints how many arrived twice. Raw events arrive
byte-identical. The seed is printed with every failure."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from _net_chaos import archived, child_env, run_chaos
from _net_hec import HecStandIn
from _net_http import DROP, Response, StandIn
from _net_rsyslog import Rsyslog
from _net_search import SearchStandIn
from _net_webhook import WebhookReceiver

pytestmark = pytest.mark.slow

PASSWORD = "chaos-es-pw-7f3a"
TOKEN = "0badc0de-1111-2222-3333-444455556666"
SECRET = "chaos-hmac-secret-9b2e"


def http_disturbance(standin: StandIn, path: str, busy: Response) -> Callable[[random.Random], str]:
    def disturb(rng: random.Random) -> str:
        kind = rng.choice(["restart", "busy", "drop"])
        if kind == "restart":
            standin.stop()
            time.sleep(rng.uniform(0.1, 0.6))
            standin.start()
        elif kind == "busy":
            standin.script(path, *[busy] * rng.randint(1, 3))
        else:
            standin.script(path, *[DROP] * rng.randint(1, 2))
        return kind

    return disturb


def report(sink: str, chaos_seed: int, kills: int, disturbances: list[str], events: int, duplicates: int) -> None:
    print(f"\nchaos {sink}: seed={chaos_seed} kills={kills} disturbances={Counter(disturbances)} "
          f"events={events} duplicates={duplicates}")


def test_chaos_elasticsearch_every_event_exactly_once(make_search: Callable[..., SearchStandIn],
                                                     make_archive: Callable[[], Path], ca_file: Path) -> None:
    es = make_search(password=PASSWORD)
    es.latency = 0.004
    db = make_archive()
    ids = sorted(archived(db))
    stream = "logs-openai.audit-default"
    busy = http_disturbance(es, f"/{stream}/_bulk",
                            Response.json(429, {"error": {"type": "circuit_breaking_exception"}, "status": 429},
                                          {"Retry-After": "1"}))

    def disturb(rng: random.Random) -> str:
        if rng.random() < 0.25:
            es.fail_items(rng.sample(ids, 5), 429, 503)
            return "item-429-503"
        return busy(rng)

    url = f"elasticsearch+https://elastic@127.0.0.1:{es.port}?password_env=CHAOS_ES_PW&ca_file={ca_file}"
    chaos = run_chaos(db, url, child_env(CHAOS_ES_PW=PASSWORD), disturb, settle=es.clear_scripts)
    events = archived(db)
    stored = es.stored(stream)
    assert {k: v["event"]["original"] for k, v in stored.items()} == events, f"seed {chaos.seed}"
    assert es.created == len(events), f"seed {chaos.seed}: an event was stored twice"
    report("elasticsearch", chaos.seed, chaos.kills, chaos.disturbances, len(events), 0)
    print(f"  (re-sent events the data stream already had, per-item 409: {es.conflicts})")
    assert not any(PASSWORD in text for text in chaos.outputs)


def test_chaos_splunk_hec_every_event_at_least_once(make_hec: Callable[..., HecStandIn],
                                                    make_archive: Callable[[], Path], ca_file: Path) -> None:
    hec = make_hec(token=TOKEN)
    hec.latency = 0.004
    db = make_archive()
    busy = http_disturbance(hec, "/services/collector/event",
                            Response.json(503, {"text": "Server is busy", "code": 9}))

    def disturb(rng: random.Random) -> str:
        if rng.random() < 0.3:
            hec.forget_acks(indexed=rng.random() < 0.5)
            return "acks-lost"
        return busy(rng)

    url = (f"splunk-hec+https://127.0.0.1:{hec.port}?token_env=CHAOS_HEC_TOKEN&ca_file={ca_file}"
           "&ack_timeout=2")
    chaos = run_chaos(db, url, child_env(CHAOS_HEC_TOKEN=TOKEN), disturb, settle=hec.clear_scripts)
    events = archived(db)
    counts = Counter(e["fields"]["event_id"] for e in hec.indexed)
    assert set(counts) == set(events), f"seed {chaos.seed}: {len(set(events) - set(counts))} events lost"
    first = {e["fields"]["event_id"]: e["event"] for e in reversed(hec.indexed)}
    assert all(first[k] == json.loads(raw) for k, raw in events.items())
    bodies = b"".join(r.body for r in hec.requests if r.path == "/services/collector/event")
    assert all(f',"event":{raw}}}'.encode() in bodies for raw in events.values())
    report("splunk-hec", chaos.seed, chaos.kills, chaos.disturbances, len(events),
           sum(1 for n in counts.values() if n > 1))
    assert not any(TOKEN in text for text in chaos.outputs)


def test_chaos_syslog_every_event_at_least_once(make_rsyslog: Callable[..., Rsyslog],
                                                make_archive: Callable[[], Path]) -> None:
    server = make_rsyslog(tls=True)
    db = make_archive()

    def disturb(rng: random.Random) -> str:
        server.stop()
        time.sleep(rng.uniform(0.1, 0.6))
        server.start()
        return "rsyslog-restart"

    url = f"syslog+tls://127.0.0.1:{server.port}?ca_file={server.folder / 'ca.pem'}"
    chaos = run_chaos(db, url, child_env(), disturb)
    server.stop()
    events = archived(db)
    lines = server.lines()
    counts = Counter(json.loads(line.msg)["id"] for line in lines)
    assert set(counts) == set(events), f"seed {chaos.seed}: {len(set(events) - set(counts))} events lost"
    assert all(line.msg == events[json.loads(line.msg)["id"]] for line in lines)
    report("syslog+tls", chaos.seed, chaos.kills, chaos.disturbances, len(events),
           sum(1 for n in counts.values() if n > 1))


def test_chaos_webhook_every_event_at_least_once(make_receiver: Callable[..., WebhookReceiver],
                                                 make_archive: Callable[[], Path], ca_file: Path) -> None:
    hook = make_receiver(secret=SECRET)
    hook.latency = 0.004
    db = make_archive()
    disturb = http_disturbance(hook, "/ingest", Response(503, b"", {"Retry-After": "1"}))
    url = f"https://127.0.0.1:{hook.port}/ingest?hmac_secret_env=CHAOS_HOOK_SECRET&ca_file={ca_file}"
    chaos = run_chaos(db, url, child_env(CHAOS_HOOK_SECRET=SECRET), disturb, settle=hook.clear_scripts)
    events = archived(db)
    counts = Counter(json.loads(line)["id"] for line in hook.received)
    assert set(counts) == set(events), f"seed {chaos.seed}: {len(set(events) - set(counts))} events lost"
    assert all(line == events[json.loads(line)["id"]] for line in hook.received)
    kept = Counter(json.loads(line)["id"] for line in hook.stored())
    report("webhook", chaos.seed, chaos.kills, chaos.disturbances, len(events),
           sum(1 for n in counts.values() if n > 1))
    print(f"  (a receiver honouring Idempotency-Key holds {sum(1 for n in kept.values() if n > 1)} twice)")
    assert not any(SECRET in text for text in chaos.outputs)
