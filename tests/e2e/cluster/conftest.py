"""Session fixtures for the cluster set-ups of devservices: a 3-broker Kafka cluster, 2 ClickHouse
shards (Redis is tests/conftest.py's `redis_service`). Like the single-node fixtures in tests/conftest.py they start lazily, once per
session, in the session's services_dir, and never skip: a cluster that cannot start fails the
test with its members' log tails.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from devservices import ClickHouseCluster, KafkaCluster
from tests.support import stop_in_background


@pytest.fixture(scope="session")
def kafka_cluster(services_dir: Path) -> Iterator[KafkaCluster]:
    """3 KRaft nodes (combined broker+controller, 3-voter quorum), RF 3 / min ISR 2 defaults."""
    # start() raises RuntimeError with the members' log tails when the cluster does not come up.
    cluster = KafkaCluster(services_dir, brokers=3).start()
    try:
        yield cluster
    finally:
        stop_in_background(cluster)


@pytest.fixture(scope="session")
def clickhouse_cluster(services_dir: Path) -> Iterator[ClickHouseCluster]:
    """2 ClickHouse 18.16 servers, each a shard of the cluster ``clickhouse_cluster.cluster_name``."""
    cluster = ClickHouseCluster(services_dir, shards=2).start()
    try:
        yield cluster
    finally:
        stop_in_background(cluster)

