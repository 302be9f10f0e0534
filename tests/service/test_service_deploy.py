"""The deployment examples hold together: their configs pass `config check`, the YAML parses, the health
check and the stop budget agree with the service."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from openapiopenai.service.config import load_config, parse_config
from openapiopenai.service.scheduler import STOP_BUDGET_S

DEPLOY = Path(__file__).parents[2] / "deploy"


def test_the_example_config_is_valid() -> None:
    config = load_config(DEPLOY / "openapiopenai.toml")
    assert [o.name for o in config.orgs] == ["acme", "globex"] and config.metrics_addr == "0.0.0.0:9464"


def test_kubernetes_examples_parse_and_embed_a_valid_config() -> None:
    docs = [d for f in sorted((DEPLOY / "kubernetes").glob("*.yaml")) for d in yaml.safe_load_all(f.read_text())]
    kinds = {d["kind"] for d in docs}
    assert {"ConfigMap", "PersistentVolumeClaim", "Deployment", "CronJob"} <= kinds
    [config_map] = [d for d in docs if d["kind"] == "ConfigMap"]
    [org] = parse_config(config_map["data"]["openapiopenai.toml"]).orgs
    assert org.admin_key_file and org.admin_key_env is None
    [cron] = [d for d in docs if d["kind"] == "CronJob"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    for d in docs:
        if d["kind"] in ("Deployment", "CronJob"):
            pod = d["spec"]["template"]["spec"] if d["kind"] == "Deployment" else \
                d["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            assert pod["terminationGracePeriodSeconds"] > 10 > STOP_BUDGET_S


def test_compose_and_prometheus_agree_on_the_port() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert {"openapiopenai", "prometheus"} <= set(compose["services"])
    prometheus = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    assert prometheus["scrape_configs"][0]["static_configs"][0]["targets"] == ["openapiopenai:9464"]
    alerts = yaml.safe_load((DEPLOY / "alerts.yml").read_text())
    exprs = " ".join(r["expr"] for g in alerts["groups"] for r in g["rules"])
    for metric in ("openapiopenai_lag_seconds", "openapiopenai_sink_dead_letters", "openapiopenai_cycles_total"):
        assert metric in exprs
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "USER openapiopenai" in dockerfile and re.search(r"HEALTHCHECK .*\n.*/healthz", dockerfile)
    assert 'VOLUME ["/var/lib/openapiopenai"]' in dockerfile


def test_systemd_units_give_the_service_time_to_stop() -> None:
    for unit in ("openapiopenai.service", "openapiopenai-once.service"):
        text = (DEPLOY / unit).read_text()
        assert int(re.search(r"TimeoutStopSec=(\d+)", text).group(1)) > 10   # type: ignore[union-attr]
        assert "--once" in text or unit == "openapiopenai.service"
    assert "OnUnitInactiveSec=" in (DEPLOY / "openapiopenai-once.timer").read_text()
