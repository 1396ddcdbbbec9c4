"""Section 10: the sales writer over two ClickHouse shards (Distributed tables, inserts synchronous on
every shard), with one and with two writer processes, beside one writer on one ClickHouse server.

Each configuration gets the same events: its writers (`liveboard consume` processes) join their
group on the empty topic first, then the events are produced at once (far faster than any writer
stores them) and the clock runs until the store holds every one. Kafka is the run's one broker in
every configuration, so the ratios are the store's and the writers' doing. On this 2-core machine the
two writers, two shards, Kafka and the producer share the cores: the figure says what a second writer
buys here, not what it buys on machines of their own.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone

from bench import workload


def _wait_for_members(bootstrap: str, group: str, members: int, timeout: float = 90) -> None:
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                described = admin.describe_groups([group]).get(group) or {}
            except KafkaError as exc:  # no coordinator yet (a new broker makes its offsets topic first)
                described = {"error": repr(exc)}
            if described.get("group_state") == "Stable" and len(described.get("members") or []) == members:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{members} writer(s) never formed group {group}: {described}")
            time.sleep(0.2)
    finally:
        admin.close()


def _writers_rate(run, settings, messages: list[tuple[bytes, bytes]], writers: int, tag: str) -> float:
    """Events/s stored by `writers` writer processes, from the first produced event to the last stored."""
    from analytics import open_store
    from bench.runner import _preload
    from operations.migrations import migrate_all

    migrate_all(settings)
    procs = [run.children.liveboard(f"{tag}-writer-{k}", settings, "consume") for k in range(writers)]
    store = open_store(settings)
    try:
        _wait_for_members(settings.kafka_bootstrap, settings.consumer_group, writers)
        started = time.perf_counter()
        _preload(settings.kafka_bootstrap, settings.sales_topic, messages)
        while int(store.query("SELECT count() FROM {db}.sales_events")[0][0]) < len(messages):
            if time.perf_counter() - started > 900:
                raise RuntimeError(f"{tag}: the writers stalled")
            if any(proc.poll() is not None for proc in procs):
                raise RuntimeError(f"{tag}: a writer exited: {run.children.log_tail(f'{tag}-writer-0')}")
            time.sleep(0.05)
        return len(messages) / (time.perf_counter() - started)
    finally:
        store.close()
        for proc in procs:
            run.children.stop(proc)


def bench_cluster(run) -> None:
    from devservices import ClickHouseCluster
    from schemas import envelope

    n = run.mode.consumer_events
    config_url, sessions = run.config_store("cluster")
    slug = f"clus-{run.suffix}"
    setup = workload.setup_campaign(sessions, slug)
    factory = workload.EventFactory(slug, setup["hosts"], setup["enterprises"], tag="k")
    received = datetime.now(timezone.utc)
    messages = [(envelope.partition_key(event), envelope.wrap(event, source="bench", received_at=received,
                                                              webhook_id="msg_bench")) for event in factory.events(n)]
    single, one, two = [], [], []
    with ClickHouseCluster(run.work_dir / "clickhouse-cluster", shards=2) as cluster:
        for r in range(run.mode.runs):
            for name, writers, rates in (("single", 1, single), ("shards1w", 1, one), ("shards2w", 2, two)):
                tag = f"{name}{r}"
                settings = run.settings(tag, config_url)
                if name != "single":
                    database = settings.clickhouse_url.rsplit("/", 1)[1]
                    settings = settings.with_(clickhouse_url=cluster.url(1, database),
                                              clickhouse_cluster=cluster.cluster_name)
                rates.append(_writers_rate(run, settings, messages, writers, tag))
    limit = "1 writer, one ClickHouse server"
    run.add("10", "clustered writer events/s, 1 writer over 2 shards", "events/s", one, limit=single,
            limit_name=limit, note=f"{n} events per run; Distributed tables, insert_distributed_sync=1")
    run.add("10", "clustered writer events/s, 2 writers over 2 shards", "events/s", two, limit=single,
            limit_name=limit, note="two `liveboard consume` processes in one group; 2 cores shared by everything")
