"""The config file: the issue's example as written, and every problem named with its key and line."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
from _service_helpers import console_script

from openapiopenai.service.config import ConfigError, parse_config
from openapiopenai.sinks import KNOWN_SCHEMES

KNOWN = ", ".join(s + "://" for s in sorted(KNOWN_SCHEMES))

ISSUE_EXAMPLE = """\
[service]
metrics_addr = "127.0.0.1:9464"

[[org]]
name = "acme"
base_url = "https://api.openai.com/v1"
admin_key_env = "ACME_OPENAI_ADMIN_KEY"        # or admin_key_file = "/run/secrets/acme"
archive = "/var/lib/openapiopenai/acme.sqlite"
interval = "5m"
tenant = true                                   # keep the tenant-scoped partition too

[org.detect]
min_level = "high"
notify = ["https://hooks.example.com/audit"]

[[org.sink]]
to = "postgresql://audit@db.internal/audit"
schema = "raw"
"""


def test_the_issue_example_as_written() -> None:
    config = parse_config(ISSUE_EXAMPLE)
    [org] = config.orgs
    assert config.metrics_addr == "127.0.0.1:9464"
    assert (org.name, org.admin_key_env, org.interval, org.tenant) == ("acme", "ACME_OPENAI_ADMIN_KEY", 300.0, True)
    assert org.detect is not None and org.detect.min_level == "high"
    assert org.detect.notify == ("https://hooks.example.com/audit",)
    assert [(s.to, s.schema) for s in org.sinks] == [("postgresql://audit@db.internal/audit", "raw")]


def test_reprs_show_no_secret_a_url_may_hold() -> None:
    text = ISSUE_EXAMPLE.replace("https://hooks.example.com/audit", "https://hooks.example.com/T0/B0/tokenXYZ").replace(
        "postgresql://audit@db.internal/audit", "postgresql://audit:pw123@db.internal/audit")
    shown = repr(parse_config(text))
    assert "tokenXYZ" not in shown and "pw123" not in shown and "https://hooks.example.com/..." in shown


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "f.toml")
    return [p.describe("f.toml") for p in caught.value.problems]


def test_every_problem_names_its_key_and_line() -> None:
    text = ISSUE_EXAMPLE.replace('interval = "5m"', 'interval = "5 minutes"').replace(
        'min_level = "high"', 'min_level = "severe"') + """
[[org.sink]]
to = "ftp://x/y"

[[org]]
name = "beta"
archive = "/var/lib/openapiopenai/beta.sqlite"
admin_key = "sk-admin-PASTED-1234567890abcdef"
workers = true
"""
    assert problems(text) == [
        "f.toml:9: org[0].interval: '5 minutes' is not a duration (examples: 30s, 15m, 12h, 7d, 1h30m)",
        "f.toml:13: org[0].detect.min_level: 'severe' is not a level (informational, low, medium, high, critical)",
        "f.toml:21: org[0].sink[1].to: unknown sink scheme ftp:// (known: " + KNOWN + ")",
        "f.toml:23: org[1]: missing admin_key_env or admin_key_file (where the admin key comes from)",
        "f.toml:26: org[1].admin_key: secrets are never written in the config; give admin_key_env "
        "(an environment variable's name) or admin_key_file (a file's path)",
        "f.toml:27: org[1].workers: must be an integer, not a boolean",
    ]
    assert "PASTED" not in "\n".join(problems(text))


def test_syntax_errors_have_their_line() -> None:
    assert problems('[[org]]\nname = "a"\ninterval = 5m\n')[0].startswith("f.toml:3: (syntax): ")


def test_no_org_and_unknown_keys() -> None:
    assert problems("[service]\nmetrics_adr = '1:2'\n") == [
        "f.toml:1: org: no organisation: add at least one [[org]] table",
        "f.toml:2: service.metrics_adr: unknown key (known here: metrics_addr, concurrency)",
    ]


def test_run_with_a_bad_config_is_one_line_exit_2_and_starts_nothing(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    archive = tmp_path / "acme.sqlite"
    config = tmp_path / "bad.toml"
    config.write_text(ISSUE_EXAMPLE.replace("127.0.0.1:9464", f"127.0.0.1:{port}").replace(
        "/var/lib/openapiopenai/acme.sqlite", str(archive)).replace('interval = "5m"', 'interval = "soon"'))
    proc = subprocess.run([console_script(), "run", "--config", str(config)], capture_output=True, text=True,
                          timeout=30, env={"ACME_OPENAI_ADMIN_KEY": "sk-admin-x", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"error: {config}:9: org[0].interval: 'soon' is not a duration "
                                        "(examples: 30s, 15m, 12h, 7d, 1h30m)"]
    assert not archive.exists() and list(tmp_path.iterdir()) == [config]
    with socket.socket() as client, pytest.raises(ConnectionRefusedError):
        client.connect(("127.0.0.1", port))


def test_config_check_lists_every_problem_and_passes_a_good_file(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(ISSUE_EXAMPLE)
    proc = subprocess.run([console_script(), "config", "check", str(good)], capture_output=True, text=True,
                          timeout=30, env={"ACME_OPENAI_ADMIN_KEY": "sk-admin-x", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0 and proc.stderr.strip().endswith("ok (1 organisation, 1 sink, metrics on "
                                                                  "127.0.0.1:9464)")
    bad = tmp_path / "bad.toml"
    bad.write_text(ISSUE_EXAMPLE.replace('schema = "raw"', 'schema = "xml"').replace("tenant = true", "tenant = 1"))
    proc = subprocess.run([console_script(), "config", "check", str(bad)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"{bad}:10: org[0].tenant: must be a boolean, not an integer",
                                        f"{bad}:18: org[0].sink[0].schema: 'xml' is not a schema (raw, ocsf, ecs)"]
