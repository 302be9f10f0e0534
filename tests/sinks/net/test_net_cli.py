"""`audit-logs ship` to the network sinks as a user runs it: a subprocess, one line on failure, no secret."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from _net_chaos import archived, child_env, ship_command
from _net_hec import HecStandIn
from _net_rsyslog import Rsyslog
from _net_search import SearchStandIn

PASSWORD = "cli-es-pw-31c9"
TOKEN = "0badc0de-aaaa-bbbb-cccc-444455556666"


def run(command: list[str], **secrets: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, env=child_env(**secrets),
                          stdin=subprocess.DEVNULL)
    for secret in secrets.values():
        assert secret not in proc.stdout + proc.stderr
    return proc


def one_line_error(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == code and len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_ship_to_elasticsearch_then_nothing_left(make_search: Callable[..., SearchStandIn],
                                                 make_archive: Callable[[], Path], ca_file: Path) -> None:
    es = make_search(password=PASSWORD)
    db = make_archive()
    url = f"elasticsearch+https://elastic@127.0.0.1:{es.port}?password_env=CLI_ES_PW&ca_file={ca_file}"
    first = run([*ship_command(db, url), "--batch", "500", "--json"], CLI_ES_PW=PASSWORD)
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    events = archived(db)
    assert result["delivered"] == len(events) == len(es.stored("logs-openai.audit-default"))
    again = run([*ship_command(db, url), "--json"], CLI_ES_PW=PASSWORD)
    assert again.returncode == 0 and json.loads(again.stdout)["delivered"] == 0
    status = run([ship_command(db, url)[0], "audit-logs", "status", "--db", str(db)])
    assert f"elasticsearch+https://elastic@127.0.0.1:{es.port}" in status.stdout and "backlog 0" in status.stdout


def test_a_wrong_hec_token_is_exit_2_and_an_unreachable_syslog_exit_1(
        make_hec: Callable[..., HecStandIn], make_rsyslog: Callable[..., Rsyslog],
        make_archive: Callable[[], Path], ca_file: Path) -> None:
    hec = make_hec(token="the-right-one")
    db = make_archive()
    url = f"splunk-hec+https://127.0.0.1:{hec.port}?token_env=CLI_HEC_TOKEN&ca_file={ca_file}"
    one_line_error(run(ship_command(db, url), CLI_HEC_TOKEN=TOKEN), 2, "refused the token (403 code 4")
    server = make_rsyslog()
    port = server.port
    server.stop()
    one_line_error(run(ship_command(db, f"syslog+tcp://127.0.0.1:{port}")), 1, "unreachable", "ECONNREFUSED")
    assert hec.indexed == []


@pytest.mark.parametrize(("url", "needle"), [
    ("elasticsearch+https://es.example:9200", "needs credentials"),
    ("splunk-hec+https://splunk.example:8088", "needs the HEC token"),
    ("http://hooks.example/in", "refusing plain-text"),
    ("syslog+tls://siem.example:6514?facility=kitchen", "facility 'kitchen'"),
])
def test_bad_sink_urls_are_exit_2_one_line(make_archive: Callable[[], Path], url: str, needle: str) -> None:
    one_line_error(run(ship_command(make_archive(), url)), 2, needle)


def test_mapping_errors_become_dead_letters_that_retry_dead_delivers(
        make_search: Callable[..., SearchStandIn], make_archive: Callable[[], Path], ca_file: Path) -> None:
    es = make_search(password=PASSWORD)
    db = make_archive()
    events = archived(db)
    refused = set(sorted(events)[:7])
    es.reject = lambda doc: doc["event"]["id"] in refused
    url = f"elasticsearch+https://elastic@127.0.0.1:{es.port}?password_env=CLI_ES_PW&ca_file={ca_file}"
    first = run([*ship_command(db, url), "--batch", "500", "--json"], CLI_ES_PW=PASSWORD)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["dead_letters"] == 7 and "7 dead letters" in first.stderr
    status = run([ship_command(db, url)[0], "audit-logs", "status", "--db", str(db), "--dead", "100"])
    dead_lines = [line for line in status.stdout.splitlines() if line.strip().startswith("dead:")]
    assert len(dead_lines) == 7 and all("document_parsing_exception" in line for line in dead_lines)
    es.reject = lambda doc: False  # the mapping fixed on the cluster's side
    again = run([*ship_command(db, url), "--retry-dead", "--json"], CLI_ES_PW=PASSWORD)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["revived"] == 7 and json.loads(again.stdout)["dead_letters"] == 0
    assert set(es.stored("logs-openai.audit-default")) == set(events)
