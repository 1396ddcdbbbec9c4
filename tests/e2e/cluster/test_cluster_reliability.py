"""The short version of `python -m reliability cluster`: at least 20,000 signed events into 3 Kafka
brokers, 2 ClickHouse shards and two of every process, while a broker is destroyed for good and a
writer, an API node and the leading scheduler are killed -9; then every accepted event is stored
exactly once across the shards, the boards equal the independent calculation, and the surviving
scheduler published within its failover bound."""
from __future__ import annotations

import pytest

from devservices import KafkaCluster
from reliability.cluster import ClusterPlan, ClusterServices, run_cluster
from tests.e2e.accounting import assert_accepted_stored_once

pytestmark = pytest.mark.e2e


def test_every_accepted_event_is_stored_once_across_shards_while_every_kind_of_process_dies(
        clickhouse_cluster, postgres_service, tmp_path, capsys):
    plan = ClusterPlan(events=20_000, rate=500, batch_size=50, forged_every=97)
    # a Kafka cluster of its own: one of its brokers is destroyed for good
    with KafkaCluster(tmp_path / "kafka", brokers=3) as kafka:
        report = run_cluster(ClusterServices(kafka, clickhouse_cluster, postgres_service), tmp_path / "run", plan)
    with capsys.disabled():
        print("\n" + "\n".join(report.lines()))
    assert report.topic == {"replicas": 3, "min.insync.replicas": "2"}  # alike on all four topics
    assert_accepted_stored_once(report, sent=20_000 + 6 * 500)  # the stream, and the batches in flight when the API node died
    assert len(report.rows_per_shard) == 2 and min(report.rows_per_shard) > 0
    assert sum(report.rows_per_shard) == report.stored_rows
    assert len(report.faults) == 5 and not any(f.startswith("FAILED") for f in report.faults), report.faults
    assert report.requests.get("connection_error", 0) > 0  # requests really were cut mid-flight
    assert report.failover_s is not None and report.failover_s <= report.failover_bound_s
    assert report.published_s is not None and report.epochs[1] > report.epochs[0]
    assert report.healthz_leader is not None and report.healthz_leader["epoch"] == report.epochs[1]  # /healthz says who
    assert report.ok
