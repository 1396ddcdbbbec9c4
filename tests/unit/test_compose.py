"""docker-compose.yml is valid and describes the topology the cluster run proves (3 brokers, 2
ClickHouse shards with the cluster config, two of every process); the Dockerfile ships every
package the product needs and the certificate fonts."""
from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
KEYS = {"LIVEBOARD_SECRET_KEY": "test-only", "LIVEBOARD_SECRETS_KEY": "dGVzdC1vbmx5LXRlc3Qtb25seS10ZXN0LW9ubHktMzI="}


def _compose() -> dict:
    result = subprocess.run(["docker-compose", "-f", str(REPO / "docker-compose.yml"), "config"],
                            env={**os.environ, **KEYS}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)  # anchors and merges resolved, as compose sees them


def test_compose_config_accepts_the_file():
    result = subprocess.run(["docker-compose", "-f", str(REPO / "docker-compose.yml"), "config", "-q"],
                            env={**os.environ, **KEYS}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_compose_runs_the_clustered_topology():
    services = _compose()["services"]
    assert set(services) == {"kafka-1", "kafka-2", "kafka-3", "clickhouse-1", "clickhouse-2", "postgres", "redis",
                             "migrate", "api-1", "api-2", "writer-1", "writer-2", "connector-1", "connector-2",
                             "scheduler-1", "scheduler-2"}
    for name, service in services.items():
        assert "healthcheck" in service or name == "migrate", name
    brokers = [services[f"kafka-{n}"]["environment"] for n in (1, 2, 3)]
    assert {b["KAFKA_NODE_ID"] for b in brokers} == {"1", "2", "3"}
    assert {b["KAFKA_CONTROLLER_QUORUM_VOTERS"] for b in brokers} == {"1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"}
    assert all(b["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3" and b["KAFKA_MIN_INSYNC_REPLICAS"] == "2" for b in brokers)
    assert all(services[f"kafka-{n}"]["image"] == "apache/kafka:3.9.1" for n in (1, 2, 3))  # devservices' version
    for shard in ("clickhouse-1", "clickhouse-2"):
        assert any("deploy/clickhouse/cluster.xml" in str(v) for v in services[shard]["volumes"])
    env = services["writer-1"]["environment"]
    assert env["LIVEBOARD_KAFKA_BOOTSTRAP"] == "kafka-1:9092,kafka-2:9092,kafka-3:9092"
    assert (env["LIVEBOARD_TOPIC_REPLICATION_FACTOR"], env["LIVEBOARD_TOPIC_MIN_INSYNC_REPLICAS"]) == ("3", "2")
    assert env["LIVEBOARD_CLICKHOUSE_CLUSTER"] == "liveboard"
    assert env["LIVEBOARD_CLICKHOUSE_SHARDS"] == "clickhouse-1:9000,clickhouse-2:9000"
    # every process counts rate limits in the one Redis (backend/ratelimits.py)
    assert {services[f"api-{n}"]["environment"]["LIVEBOARD_REDIS_URL"] for n in (1, 2)} == {"redis://redis:6379/0"}
    assert [services[f"writer-{n}"]["command"] for n in (1, 2)] == [["liveboard", "consume"]] * 2
    assert [services[f"connector-{n}"]["command"] for n in (1, 2)] == [["liveboard", "connect"]] * 2
    assert [services[f"scheduler-{n}"]["command"] for n in (1, 2)] == [["liveboard", "schedule"]] * 2
    assert all(services[f"api-{n}"]["command"][:2] == ["liveboard", "serve"] for n in (1, 2))
    every_setting = set(_settings_fields())
    for name in ("api-1", "writer-1", "connector-1", "scheduler-1", "migrate"):
        unknown = {k for k in services[name]["environment"] if k.startswith("LIVEBOARD_")} - every_setting
        assert not unknown, f"{name}: no such setting {unknown}"


def test_the_cluster_config_names_both_shards():
    xml = (REPO / "deploy/clickhouse/cluster.xml").read_text()
    assert re.findall(r"<host>([^<]+)</host>", xml) == ["clickhouse-1", "clickhouse-2"]
    assert "<liveboard>" in xml


def _settings_fields() -> list[str]:
    from dataclasses import fields

    from settings import Settings

    return [f"LIVEBOARD_{f.name.upper()}" for f in fields(Settings)]


def test_the_image_has_every_package_and_the_certificate_fonts():
    dockerfile = (REPO / "Dockerfile").read_text()
    ignored = {line.strip().rstrip("/") for line in (REPO / ".dockerignore").read_text().splitlines() if line.strip()}
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    assert "COPY . ." in dockerfile
    for pattern in packages:
        package = pattern.rstrip("*")
        assert (REPO / package / "__init__.py").exists() and package not in ignored, package
    assert "fonts-arphic-ukai" in dockerfile and "fonts-wqy-microhei" in dockerfile
