"""The cluster set-ups of devservices really scale out: 3 Kafka brokers that lose one for good
without losing or repeating an acknowledged record, 2 ClickHouse 18.16 shards behind Distributed
tables (with the same SQL running on chDB), and Redis."""
from __future__ import annotations

import threading
import time
import uuid
from collections import Counter, defaultdict

import pytest
from clickhouse_driver import Client
from clickhouse_driver.errors import ServerException
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import KafkaError

from analytics.chdb_store import ChdbStore

pytestmark = pytest.mark.e2e


# -- Kafka -------------------------------------------------------------------------------------

def _describe(bootstrap: str, topic: str) -> dict[int, dict]:
    """The topic's partitions by index; {} from a broker whose metadata lacks the topic so far
    (each broker learns of a new topic on its own, a moment after the create returns)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    try:
        [described] = admin.describe_topics([topic])
    finally:
        admin.close()
    return {p["partition_index"]: p for p in described["partitions"]} if described["error_code"] == 0 else {}


def _wait_for_isr(bootstrap: str, topic: str, isr: set[int], timeout: float = 30) -> dict[int, dict]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            partitions = _describe(bootstrap, topic)
        except KafkaError:  # a client may still pick a broker just killed: not yet
            partitions = {}
        if partitions and all(set(p["isr_nodes"]) == isr for p in partitions.values()):
            return partitions
        assert time.monotonic() < deadline, f"ISR never became {isr}: {partitions}"
        time.sleep(0.5)


def _topic_config(admin: KafkaAdminClient, topic: str, timeout: float = 15) -> dict[str, str]:
    # A broker that has not yet seen the new topic in its metadata answers with no configs at all.
    deadline = time.monotonic() + timeout
    while True:
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic, None)],
                                           config_filter="all")["topic"][topic]
        if described or time.monotonic() > deadline:
            return {key: entry["value"] for key, entry in described.items()}
        time.sleep(0.2)


def test_kafka_cluster_node_killed_and_restarted_rejoins(kafka_cluster):
    topic = f"cluster-restart-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_cluster.bootstrap_servers, request_timeout_ms=30000)
    try:
        admin.create_topics({topic: {"num_partitions": 1}}, timeout_ms=30000, wait_for_metadata=True)
    finally:
        admin.close()
    live = kafka_cluster.live_node_ids
    leader = _wait_for_isr(kafka_cluster.bootstrap_servers, topic, live)[0]["leader_id"]
    kafka_cluster.kill(leader)
    kafka_cluster.wait_ready()  # the killed broker is fenced...
    _wait_for_isr(kafka_cluster.bootstrap_servers, topic, live - {leader})  # ...and out of the ISR
    kafka_cluster.restart(leader)
    assert kafka_cluster.live_node_ids == live
    _wait_for_isr(kafka_cluster.bootstrap_servers, topic, live)  # caught up again


def test_kafka_cluster_loses_a_broker_for_good_without_losing_acknowledged_records(kafka_cluster):
    assert kafka_cluster.live_node_ids == {1, 2, 3}, "this test needs the whole 3-node cluster"
    bootstrap = kafka_cluster.bootstrap_servers
    assert bootstrap == ",".join(f"127.0.0.1:{kafka_cluster.nodes[i].port}" for i in (1, 2, 3))
    topic = f"cluster-{uuid.uuid4().hex[:8]}"

    # Replication factor and min ISR come from the cluster's defaults.
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    try:
        admin.create_topics({topic: {"num_partitions": 3}}, timeout_ms=30000, wait_for_metadata=True)
        assert _topic_config(admin, topic)["min.insync.replicas"] == "2"
    finally:
        admin.close()
    partitions = _wait_for_isr(bootstrap, topic, {1, 2, 3})
    assert sorted(partitions) == [0, 1, 2]
    assert all(sorted(p["replica_nodes"]) == [1, 2, 3] for p in partitions.values())

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5,
                             request_timeout_ms=10000, delivery_timeout_ms=60000)
    acked: list[tuple[int, int]] = []  # (sequence number, partition), in acknowledgement order
    failed: list[tuple[int, BaseException]] = []
    stop = threading.Event()

    def produce() -> None:
        seq = 0
        while not stop.is_set():
            future = producer.send(topic, key=f"k{seq % 12}".encode(), value=str(seq).encode())
            future.add_callback(lambda meta, seq=seq: acked.append((seq, meta.partition)))
            future.add_errback(lambda exc, seq=seq: failed.append((seq, exc)))
            seq += 1
            time.sleep(0.002)

    def wait_for_acks(count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(acked) < count:
            assert time.monotonic() < deadline, f"only {len(acked)}/{count} records acknowledged; failed: {failed[:3]}"
            time.sleep(0.05)

    producer_thread = threading.Thread(target=produce, name="cluster-test-producer")
    producer_thread.start()
    try:
        wait_for_acks(300)
        victim = partitions[0]["leader_id"]  # a partition leader: its partitions must fail over
        kafka_cluster.destroy(victim)
        before = len(acked)
        wait_for_acks(before + 300)  # the cluster goes on with 2 of 3 nodes
    finally:
        stop.set()
        producer_thread.join(timeout=30)
        producer.flush(timeout=60)
        producer.close(timeout=10)
    assert not failed, f"{len(failed)} sends failed, first: {failed[:3]}"
    assert kafka_cluster.live_node_ids == {1, 2, 3} - {victim}
    assert f"127.0.0.1:{kafka_cluster.nodes[victim].port}" not in kafka_cluster.bootstrap_servers.split(",")
    kafka_cluster.wait_ready(timeout=30)
    for p in _wait_for_isr(kafka_cluster.bootstrap_servers, topic, {1, 2, 3} - {victim}).values():
        assert p["leader_id"] != victim

    consumer = KafkaConsumer(topic, bootstrap_servers=kafka_cluster.bootstrap_servers, group_id=f"{topic}-group",
                             auto_offset_reset="earliest", enable_auto_commit=False)
    received: list[tuple[int, int]] = []  # (partition, sequence number), in log order per partition
    try:
        deadline = time.monotonic() + 60
        wanted = {seq for seq, _ in acked}
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                received.extend((r.partition, int(r.value)) for r in records)
            if wanted <= {seq for _, seq in received}:
                break
        for records in consumer.poll(timeout_ms=1000).values():  # anything beyond (a duplicate) shows up
            received.extend((r.partition, int(r.value)) for r in records)
    finally:
        consumer.close()

    counts = Counter(seq for _, seq in received)
    assert {seq for seq, _ in acked} - set(counts) == set(), "acknowledged records are missing"
    assert [seq for seq, n in counts.items() if n > 1] == [], "records were stored twice"
    assert dict(acked) == {seq: partition for partition, seq in received if seq in dict(acked)}
    # Idempotence keeps each partition in send order across the fail-over.
    per_partition = defaultdict(list)
    for partition, seq in received:
        per_partition[partition].append(seq)
    assert all(seqs == sorted(seqs) for seqs in per_partition.values())
    assert len(acked) >= 600


# -- ClickHouse --------------------------------------------------------------------------------

# One dialect for ClickHouse 18.16 and chDB 26: only the ENGINE of the tables that span the
# shards differs (chDB has no cluster: a read-only Merge table over the one local table).
LOCAL_DDL = [
    """CREATE TABLE {db}.events_local
       (event_id String, campaign String, amount_fen Int64, occurred_at DateTime('UTC'))
       ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(occurred_at) ORDER BY event_id""",
    """CREATE TABLE {db}.totals_local (campaign String, paid_fen Int64, orders Int64)
       ENGINE = SummingMergeTree() ORDER BY campaign""",
    """CREATE MATERIALIZED VIEW {db}.totals_mv TO {db}.totals_local AS
       SELECT campaign, sum(amount_fen) AS paid_fen, toInt64(count()) AS orders
       FROM {db}.events_local GROUP BY campaign""",
]
SPANNING_DDL = ["CREATE TABLE {db}.events AS {db}.events_local ENGINE = {events_engine}",
                "CREATE TABLE {db}.totals AS {db}.totals_local ENGINE = {totals_engine}"]
DISTRIBUTED = {"events_engine": "Distributed({cluster}, {db}, events_local, cityHash64(event_id))",
               "totals_engine": "Distributed({cluster}, {db}, totals_local)"}
CHDB_MERGE = {"events_engine": "Merge({db}, '^events_local$')", "totals_engine": "Merge({db}, '^totals_local$')"}
TOTALS_SQL = "SELECT campaign, sum(paid_fen), sum(orders) FROM {db}.totals GROUP BY campaign ORDER BY campaign"
EVENTS_SQL = "SELECT count(), sum(amount_fen), uniqExact(event_id) FROM {db}.events"


def _schema(engines: dict[str, str]) -> list[str]:
    statements = LOCAL_DDL + SPANNING_DDL
    for name, engine in engines.items():
        statements = [s.replace("{" + name + "}", engine) for s in statements]
    return statements


def _events(n: int, prefix: str) -> list[tuple]:
    from datetime import datetime, timezone
    when = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    return [(f"{prefix}-{i}", f"c{i % 4}", 100 + i * 7 % 991, when) for i in range(n)]


def _expected_totals(events: list[tuple]) -> list[tuple]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for _, campaign, amount, _ in events:
        totals[campaign][0] += amount
        totals[campaign][1] += 1
    return [(campaign, paid, orders) for campaign, (paid, orders) in sorted(totals.items())]


def _client(server) -> Client:
    return Client(server.host, port=server.port, connect_timeout=5, send_receive_timeout=60)


def _create_sharded_schema(cluster, db: str) -> None:
    cluster.execute_on_all(f"CREATE DATABASE {db}")
    engines = {k: v.replace("{cluster}", cluster.cluster_name) for k, v in DISTRIBUTED.items()}
    for statement in _schema(engines):
        cluster.execute_on_all(statement.replace("{db}", db))


def _insert_through(server, db: str, rows: list[tuple]) -> None:
    client = _client(server)
    try:
        # Synchronous: the INSERT returns once every shard has its rows (the default queues them
        # in the Distributed table's directory and sends them in the background).
        client.execute(f"INSERT INTO {db}.events (event_id, campaign, amount_fen, occurred_at) VALUES", rows,
                       settings={"insert_distributed_sync": 1})
    finally:
        client.disconnect()


def _query(server, sql: str, **kwargs) -> list[tuple]:
    client = _client(server)
    try:
        return client.execute(sql, **kwargs)
    finally:
        client.disconnect()


def test_clickhouse_two_shards_distributed_tables_shard_and_sum(clickhouse_cluster):
    cluster = clickhouse_cluster
    db = f"sharded_{uuid.uuid4().hex[:8]}"
    assert [row[:2] for row in _query(cluster.shard(1), "SELECT cluster, shard_num FROM system.clusters")] == [
        (cluster.cluster_name, 1), (cluster.cluster_name, 2)]
    for i in (1, 2):
        assert dict(_query(cluster.shard(i), "SELECT * FROM system.macros"))["shard"] == str(i)
        assert cluster.url(i) == f"clickhouse://127.0.0.1:{cluster.shard(i).port}/default"
    # 18.16 runs ON CLUSTER DDL through ZooKeeper only: without it the harness runs DDL per shard.
    with pytest.raises(ServerException, match="DDL background thread is not initialized"):
        _query(cluster.shard(1), f"CREATE DATABASE {db} ON CLUSTER {cluster.cluster_name}")
    _create_sharded_schema(cluster, db)

    first, second = _events(700, "a"), _events(500, "b")
    _insert_through(cluster.shard(1), db, first)
    _insert_through(cluster.shard(2), db, second)
    events = first + second

    # Every row sits on the shard its key picks: cityHash64(event_id) % 2 = shard number - 1.
    local_counts = []
    for i in (1, 2):
        [(count, misplaced)] = _query(cluster.shard(i), f"SELECT count(), countIf(cityHash64(event_id) % 2 != {i - 1}) "
                                                        f"FROM {db}.events_local")
        assert misplaced == 0 and count > 0
        local_counts.append(count)
    assert sum(local_counts) == len(events)

    # The materialized view ran on each shard for its own rows; Distributed reads sum across shards.
    partial = [_query(cluster.shard(i), f"SELECT sum(orders) FROM {db}.totals_local") for i in (1, 2)]
    assert [p[0][0] for p in partial] == local_counts
    expected = _expected_totals(events)
    for i in (1, 2):
        assert _query(cluster.shard(i), TOTALS_SQL.replace("{db}", db)) == expected
        assert _query(cluster.shard(i), EVENTS_SQL.replace("{db}", db)) == [
            (len(events), sum(e[2] for e in events), len(events))]

    # A repeated event_id goes to the shard that has it, so FINAL deduplicates across the cluster.
    _insert_through(cluster.shard(2), db, first[:50])
    assert _query(cluster.shard(1), f"SELECT count() FROM {db}.events FINAL") == [(len(events),)]


def test_clickhouse_shard_killed_and_restarted(clickhouse_cluster):
    cluster = clickhouse_cluster
    db = f"sharded_{uuid.uuid4().hex[:8]}"
    _create_sharded_schema(cluster, db)
    events = _events(200, "k")
    _insert_through(cluster.shard(1), db, events)
    ports = (cluster.shard(2).port, cluster.shard(2).http_port)

    cluster.kill(2)
    with pytest.raises(ServerException):  # a read needs every shard...
        _query(cluster.shard(1), EVENTS_SQL.replace("{db}", db))
    [(partial, _, _)] = _query(cluster.shard(1), EVENTS_SQL.replace("{db}", db),
                               settings={"skip_unavailable_shards": 1})  # ...unless told to skip
    assert 0 < partial < len(events)
    with pytest.raises(ServerException):  # a synchronous insert fails rather than lose rows
        _insert_through(cluster.shard(1), db, _events(20, "lost"))

    cluster.restart(2)
    assert (cluster.shard(2).port, cluster.shard(2).http_port) == ports
    assert _query(cluster.shard(1), TOTALS_SQL.replace("{db}", db)) == _expected_totals(events)


def test_same_sql_runs_on_chdb(shared_chdb_dir):
    """The sharded schema's SQL, but for the ENGINE of the spanning tables, runs on chDB 26."""
    store = ChdbStore(shared_chdb_dir, database=f"t_{uuid.uuid4().hex[:10]}")
    store.command("CREATE DATABASE {db}")
    for statement in _schema(CHDB_MERGE):
        store.command(statement)
    events = _events(700, "a")
    store.insert("{db}.events_local", ["event_id", "campaign", "amount_fen", "occurred_at"], events)
    assert store.query(TOTALS_SQL) == _expected_totals(events)
    assert store.query(EVENTS_SQL) == [(len(events), sum(e[2] for e in events), len(events))]
    # The setting the cluster's inserts use is known to chDB too (an alias since 23.x).
    assert store.query("SELECT value FROM system.settings WHERE name = 'insert_distributed_sync'") == [("0",)]


# -- Redis -------------------------------------------------------------------------------------

def test_redis_ping_and_incr(redis_service):
    assert redis_service.url == f"redis://127.0.0.1:{redis_service.port}/0"
    key = f"counter-{uuid.uuid4().hex[:8]}"
    assert redis_service.command("PING") == "PONG"
    assert [redis_service.command("INCR", key) for _ in range(3)] == [1, 2, 3]
    assert redis_service.command("GET", key) == b"3"
