"""docker-compose.yml is valid and mirrors what the tests start natively."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_compose_config_accepts_the_file():
    result = subprocess.run(["docker-compose", "-f", str(REPO / "docker-compose.yml"), "config", "-q"],
                            env={**os.environ, "LIVEBOARD_SECRET_KEY": "test-only",
                                 "LIVEBOARD_SECRETS_KEY": "dGVzdC1vbmx5LXRlc3Qtb25seS10ZXN0LW9ubHktMzI="}, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_compose_runs_the_same_pieces_as_the_native_services():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"kafka", "clickhouse", "postgres", "redis", "migrate", "api", "consumer", "connector",
                             "scheduler"}
    assert services["kafka"]["image"] == "apache/kafka:3.9.1"  # the version devservices runs
    for name in ("kafka", "clickhouse", "postgres", "redis", "api"):
        assert "healthcheck" in services[name], name
    # every process counts rate limits in the one Redis (backend/ratelimits.py)
    assert services["api"]["environment"]["LIVEBOARD_REDIS_URL"] == "redis://redis:6379/0"
    assert services["consumer"]["command"] == ["liveboard", "consume"]
    assert services["scheduler"]["command"] == ["liveboard", "schedule"]
    assert services["connector"]["command"] == ["liveboard", "connect"]
