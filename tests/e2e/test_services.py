"""The native services behind the e2e tests really work: Kafka, ClickHouse, PostgreSQL."""
from __future__ import annotations

import time
import uuid

import pytest
import sqlalchemy as sa
from clickhouse_driver import Client
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

pytestmark = pytest.mark.e2e


# -- Kafka -------------------------------------------------------------------------------------

def test_kafka_topic_idempotent_produce_and_group_consume(kafka_service):
    bootstrap = kafka_service.bootstrap_servers
    assert bootstrap == f"127.0.0.1:{kafka_service.port}"
    topic = f"e2e-services-{uuid.uuid4().hex[:8]}"
    group = f"{topic}-group"

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    try:
        admin.create_topics({topic: {"num_partitions": 3, "replication_factor": 1}},
                            timeout_ms=30000, wait_for_metadata=True)
        [described] = admin.describe_topics([topic])
        assert (described["name"], described["error_code"]) == (topic, 0)
        assert sorted((p["partition_index"], p["leader_id"], p["error_code"])
                      for p in described["partitions"]) == [(0, 1, 0), (1, 1, 0), (2, 1, 0)]
    finally:
        admin.close()

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    try:
        futures = [producer.send(topic, key=f"key-{i % 4}".encode(), value=f"value-{i}".encode())
                   for i in range(10)]
        producer.flush(timeout=30)
        metadata = [f.get(timeout=30) for f in futures]
    finally:
        producer.close(timeout=10)
    assert all(m.topic == topic for m in metadata)
    # One key -> one partition; per partition the offsets are 0..n-1 in send order.
    partition_of = {}
    for i, m in enumerate(metadata):
        assert partition_of.setdefault(f"key-{i % 4}", m.partition) == m.partition
    per_partition: dict[int, list[int]] = {}
    for m in metadata:
        per_partition.setdefault(m.partition, []).append(m.offset)
    for offsets in per_partition.values():
        assert offsets == list(range(len(offsets)))

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                             auto_offset_reset="earliest")
    received = []  # (partition, key, value)
    try:
        deadline = time.monotonic() + 60
        while len(received) < 10 and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=1000).values():
                received.extend((r.partition, r.key.decode(), r.value.decode()) for r in records)
        consumer.commit()
        committed = {p: consumer.committed(TopicPartition(topic, p)) for p in range(3)}
    finally:
        consumer.close()

    assert sorted((key, value) for _, key, value in received) == sorted(
        (f"key-{i % 4}", f"value-{i}") for i in range(10))
    assert all(partition == partition_of[key] for partition, key, _ in received)
    # In-partition order is send order.
    for key in partition_of:
        values = [value for _, k, value in received if k == key]
        assert values == [f"value-{i}" for i in range(10) if f"key-{i % 4}" == key]
    expected_ends = {p: len(per_partition.get(p, [])) for p in range(3)}
    assert {p: (c or 0) for p, c in committed.items()} == expected_ends

    # The group's committed offsets, seen by a fresh admin client, match the log ends.
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    try:
        offsets = admin.list_group_offsets(group)[group]
    finally:
        admin.close()
    assert {tp.partition: om.offset for tp, om in offsets.items() if tp.topic == topic} == {
        p: n for p, n in expected_ends.items() if n}


# -- ClickHouse --------------------------------------------------------------------------------

def _ch_rows(service):
    client = Client(service.host, port=service.port, connect_timeout=5, send_receive_timeout=30)
    try:
        count = client.execute("SELECT count() FROM e2e_services.replacing FINAL")[0][0]
        rows = client.execute("SELECT id, name, version FROM e2e_services.replacing FINAL ORDER BY id")
        return count, rows
    finally:
        client.disconnect()


def test_clickhouse_replacing_merge_tree_survives_kill_and_restart(clickhouse_service):
    ch = clickhouse_service
    assert ch.url == f"clickhouse://127.0.0.1:{ch.port}/default"
    ports = (ch.port, ch.http_port)
    client = Client(ch.host, port=ch.port, connect_timeout=5, send_receive_timeout=30)
    try:
        client.execute("CREATE DATABASE IF NOT EXISTS e2e_services")
        client.execute("DROP TABLE IF EXISTS e2e_services.replacing")
        client.execute("CREATE TABLE e2e_services.replacing (id UInt32, name String, version UInt32) "
                       "ENGINE = ReplacingMergeTree(version) ORDER BY id")
        # Rows go as data, never inlined into the query text (that hangs against 18.16).
        client.execute("INSERT INTO e2e_services.replacing (id, name, version) VALUES",
                       [(1, "first", 1), (2, "second", 1), (1, "first-updated", 2)])
        assert client.execute("SELECT count() FROM e2e_services.replacing")[0][0] == 3
    finally:
        client.disconnect()

    expected = (2, [(1, "first-updated", 2), (2, "second", 1)])
    assert _ch_rows(ch) == expected

    ch.kill()
    assert not ch.running
    ch.restart()
    assert ch.running and (ch.port, ch.http_port) == ports
    assert _ch_rows(ch) == expected


# -- PostgreSQL --------------------------------------------------------------------------------

def test_postgres_sqlalchemy_roundtrip(postgres_service):
    pg = postgres_service
    assert pg.url == f"postgresql+psycopg2://postgres@127.0.0.1:{pg.port}/postgres"
    metadata = sa.MetaData()
    table = sa.Table("e2e_services_items", metadata,
                     sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("name", sa.String(50), nullable=False),
                     sa.Column("amount_cents", sa.BigInteger, nullable=False))
    engine = sa.create_engine(pg.url)
    try:
        metadata.drop_all(engine)
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(table.insert(), [{"id": 1, "name": "alpha", "amount_cents": 1999},
                                          {"id": 2, "name": "beta", "amount_cents": 5_000_000_000}])
        with engine.connect() as conn:
            rows = conn.execute(sa.select(table.c.id, table.c.name, table.c.amount_cents)
                                .order_by(table.c.id)).all()
            version = conn.execute(sa.text("SHOW server_version_num")).scalar_one()
        assert [tuple(r) for r in rows] == [(1, "alpha", 1999), (2, "beta", 5_000_000_000)]
        assert version.startswith("15")
    finally:
        metadata.drop_all(engine)
        engine.dispose()
