"""Real Kafka, ClickHouse, PostgreSQL and Redis run natively on loopback for tests and development.

    from devservices import KafkaService, make_base_dir
    kafka = KafkaService(make_base_dir()).start()
    ... kafka.bootstrap_servers ...
    kafka.stop()

`python -m devservices up` starts Kafka, ClickHouse and PostgreSQL and prints LIVEBOARD_* settings
for them; `up --cluster` starts a 3-broker Kafka cluster, 2 ClickHouse shards, PostgreSQL and Redis
(see docs/devservices.md);
`python -m devservices.kafka fetch` fills the Kafka jar cache.
"""
from __future__ import annotations

import importlib

# Imported lazily, so `python -m devservices.kafka` does not find its module half-imported.
_EXPORTS = {
    "ClickHouseCluster": "devservices.clickhouse",
    "ClickHouseService": "devservices.clickhouse",
    "KafkaCluster": "devservices.kafka",
    "KafkaService": "devservices.kafka",
    "PostgresService": "devservices.postgres",
    "RedisService": "devservices.redis",
    "make_base_dir": "devservices._process",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'devservices' has no attribute {name!r}")
