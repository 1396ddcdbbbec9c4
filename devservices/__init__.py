"""Real Kafka, ClickHouse and PostgreSQL run natively on loopback for tests and development.

    from devservices import KafkaService, make_base_dir
    kafka = KafkaService(make_base_dir()).start()
    ... kafka.bootstrap_servers ...
    kafka.stop()

`python -m devservices up` starts all three and prints LIVEBOARD_* settings for them;
`python -m devservices.kafka fetch` fills the Kafka jar cache.
"""
from __future__ import annotations

import importlib

# Imported lazily, so `python -m devservices.kafka` does not find its module half-imported.
_EXPORTS = {
    "ClickHouseService": "devservices.clickhouse",
    "KafkaService": "devservices.kafka",
    "PostgresService": "devservices.postgres",
    "make_base_dir": "devservices._process",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'devservices' has no attribute {name!r}")
