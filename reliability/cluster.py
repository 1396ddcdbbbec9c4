"""The cluster run: a stream of signed webhooks into the scale-out topology while it loses a piece of
every kind.

Topology (all on loopback): 3 Kafka brokers (KRaft; topics RF 3, min.insync.replicas 2), 2
ClickHouse shards (Distributed over per-shard tables), PostgreSQL, and two of every process: two
`liveboard serve` nodes (the senders spread batches over both, and retry on the other when one
fails), two `liveboard consume` writers, two `liveboard schedule` schedulers (one leads by lease).
While the stream runs:
  - one Kafka broker is destroyed for good (killed, its data dir removed),
  - a writer is killed -9 while writing,
  - an API node is killed -9 (master and workers) with batches in flight,
  - the leading scheduler is killed -9; the other must publish within the failover bound.
Nothing is restarted. Then: every event that got a 202 is stored exactly once across both shards
(counts and fen sums exact; refunds held for a refused order accounted as the fault run does), the
pre-aggregate equals the raw events, and the published boards equal the independent calculation.
"""
from __future__ import annotations

import os
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import requests

from bench import workload
from bench.infra import Children, create_pg_database, free_port, new_suffix, wait_http
from configstore import leases, snapshots
from configstore.db import make_engine, make_sessionmaker
from operations.migrations import migrate_all
from reliability.checks import stored_count, wait_stored
from reliability.faults import FaultReport, feed, fire_when_due, verify
from reliability.traffic import Batch, Ledger, PacedSenders
from settings import Settings


@dataclass
class ClusterPlan:
    events: int = 100_000
    rate: float = 600.0  # events/s offered, over both API nodes
    batch_size: int = 50
    lease_seconds: float = 6.0  # the schedulers' lease: failover within 4/3 of it
    ranking_interval_seconds: float = 2.0
    invalid_every: int = 97
    forged_every: int = 151
    seed: int = 21


@dataclass
class ClusterServices:
    """A 3-broker KafkaCluster, a 2-shard ClickHouseCluster and PostgreSQL (devservices)."""

    kafka: object
    clickhouse: object
    postgres: object

    def ch_client(self, **kwargs):
        """Shard 1: its Distributed tables read every shard."""
        from clickhouse_driver import Client

        return Client("127.0.0.1", port=self.clickhouse.shard(1).port, send_receive_timeout=600, **kwargs)

    def pg_connect(self, database: str = "postgres"):
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.postgres.port, user="postgres", dbname=database)
        conn.autocommit = True
        return conn


@dataclass
class ClusterReport(FaultReport):
    tag: str = "cluster"
    rows_per_shard: list = field(default_factory=list)
    topic: dict = field(default_factory=dict)  # replicas and min.insync.replicas, alike on every topic
    failover_s: float | None = None  # the leader's death -> the survivor's first ranking run
    published_s: float | None = None  # the leader's death -> that run's summary saved
    failover_bound_s: float = 0.0
    epochs: tuple = ()
    healthz_leader: dict | None = None  # /healthz's scheduler leader once the survivor leads

    @property
    def ok(self) -> bool:
        return (super().ok and self.failover_s is not None and self.published_s is not None
                and self.failover_s <= self.failover_bound_s and len(self.rows_per_shard) == 2
                and bool(self.healthz_leader) and self.healthz_leader["epoch"] == self.epochs[1]
                and min(self.rows_per_shard) > 0 and sum(self.rows_per_shard) == self.stored_rows
                and self.topic == {"replicas": 3, "min.insync.replicas": "2"})

    def lines(self) -> list[str]:
        return super().lines() + [
            f"[cluster] rows per shard {self.rows_per_shard} (sum {sum(self.rows_per_shard)}); topics (sales, "
            f"dead letters, the connectors' raw and dead letters) {self.topic}",
            f"[cluster] scheduler failover: first run {_s(self.failover_s)} after the leader died (bound "
            f"{self.failover_bound_s:.1f} s), summary published {_s(self.published_s)}; lease epochs {self.epochs}; "
            f"/healthz leader {self.healthz_leader}",
        ]


def _s(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.1f} s"


def cluster_settings(services: ClusterServices, *, suffix: str, config_db_url: str, data_dir: Path,
                     plan: ClusterPlan) -> Settings:
    name = f"cluster_{suffix}"
    return Settings(data_dir=data_dir, event_log="kafka", store="clickhouse",
                    kafka_bootstrap=services.kafka.bootstrap_servers, sales_topic=f"{name}-sales",
                    dead_letter_topic=f"{name}-dlq", topic_partitions=6,
                    clickhouse_url=services.clickhouse.url(1, name),
                    clickhouse_cluster=services.clickhouse.cluster_name, database_url=config_db_url,
                    consumer_group=f"{name}-writer", consumer_batch_rows=2000, consumer_batch_ms=300,
                    connector_raw_topic=f"{name}-raw", connector_dead_letter_topic=f"{name}-cdlq",
                    connector_group=f"{name}-connector",
                    scheduler_lease_seconds=plan.lease_seconds,
                    ranking_interval_seconds=plan.ranking_interval_seconds, secret_key="cluster-only",
                    webhook_rate_limit="")


def run_cluster(services: ClusterServices, work_dir: Path, plan: ClusterPlan, echo=print) -> ClusterReport:
    began = time.monotonic()
    suffix = new_suffix()
    settings = cluster_settings(services, suffix=suffix, plan=plan, data_dir=work_dir / "data",
                                config_db_url=create_pg_database(services, f"cluster_{suffix}"))
    migrate_all(settings)
    engine = make_engine(settings.config_db_url)
    sessions = make_sessionmaker(engine)
    slug = f"cluster-{suffix}"
    described = workload.setup_campaign(sessions, slug)
    source = f"cluster-{suffix}"
    secret = workload.ensure_source(sessions, source, settings)
    children = Children(work_dir / "logs")
    report = ClusterReport(failover_bound_s=plan.lease_seconds * 4 / 3)
    report.topic = _topic(services, settings)
    try:
        ports = [free_port(), free_port()]
        apis = [children.liveboard(f"api-{n}", settings, "serve", "--port", str(port), "--workers", "1",
                                   "--threads", "8") for n, port in enumerate(ports)]
        for api, port in zip(apis, ports, strict=True):
            wait_http(f"http://127.0.0.1:{port}/livez", api, what="liveboard serve")
        writers = [children.liveboard(f"writer-{n}", settings, "consume") for n in range(2)]
        schedulers = [children.liveboard(f"scheduler-{n}", settings, "schedule") for n in range(2)]
        ledger = Ledger()
        senders = PacedSenders([f"http://127.0.0.1:{port}/v1/webhooks/{source}" for port in ports], secret, ledger,
                               rate=plan.rate).start()
        injector = _Injector(plan, senders, services, children, settings, sessions, writers, apis, schedulers,
                             report, echo, workload.EventFactory(slug, described["hosts"], described["enterprises"],
                                                                 seed=plan.seed + 1, tag="inflight"))
        injector.start()
        feed(senders, plan, slug, described, echo, tag="cluster")
        senders.finish()
        injector.join()
        echo(f"[cluster] stream done after {time.monotonic() - began:.0f} s; waiting for the writers")
        wait_stored(services, settings, len(ledger.accepted), echo)
        for proc in writers + schedulers:
            children.stop(proc)
        survivor = next(port for api, port in zip(apis, ports, strict=True) if api.poll() is None)
        verify(report, ledger, services, settings, children, survivor, slug, described, echo)
        report.rows_per_shard = _rows_per_shard(services, settings)
    finally:
        children.close()
        engine.dispose()
    report.seconds = time.monotonic() - began
    for line in report.lines():
        echo(line)
    return report


def _topic(services: ClusterServices, settings: Settings) -> dict:
    """Replicas per partition and min.insync.replicas, when every topic has the same (else per topic)."""
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource, ConfigResourceType

    names = [settings.sales_topic, settings.dead_letter_topic, settings.connector_raw_topic,
             settings.connector_dead_letter_topic]
    deadline = time.monotonic() + 30
    while True:
        try:
            admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=10000)
            try:
                described = {t["name"]: t for t in admin.describe_topics(names)}
                configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name, None) for name in names],
                                                 config_filter="all")["topic"]
            finally:
                admin.close()
            found = {}
            for name in names:
                replicas = {len(p["replica_nodes"]) for p in described[name]["partitions"]}
                if len(replicas) == 1 and configs.get(name):
                    found[name] = {"replicas": replicas.pop(),
                                   "min.insync.replicas": configs[name]["min.insync.replicas"]["value"]}
            if len(found) == len(names):
                alike = list({tuple(sorted(v.items())) for v in found.values()})
                return dict(alike[0]) if len(alike) == 1 else found
        except Exception:  # a broker that has not heard of a topic yet
            pass
        if time.monotonic() > deadline:
            return {}
        time.sleep(0.5)


def _rows_per_shard(services: ClusterServices, settings: Settings) -> list[int]:
    from clickhouse_driver import Client

    database = settings.clickhouse_url.rsplit("/", 1)[1]
    counts = []
    for number in (1, 2):
        client = Client("127.0.0.1", port=services.clickhouse.shard(number).port)
        try:
            counts.append(int(client.execute(f"SELECT count() FROM {database}.sales_events_local")[0][0]))
        finally:
            client.disconnect()
    return counts


class _Injector(threading.Thread):
    """Fires each fault when the stream reaches its share of the events."""

    def __init__(self, plan, senders, services, children, settings, sessions, writers, apis, schedulers, report, echo,
                 factory):
        super().__init__(daemon=True, name="cluster-faults")
        self.plan, self.senders, self.services, self.children = plan, senders, services, children
        self.settings, self.sessions, self.report, self.echo = settings, sessions, report, echo
        self.writers, self.apis, self.schedulers = writers, apis, schedulers
        self.factory = factory
        self.rng = random.Random(plan.seed)
        self.leader_died_at: float | None = None  # wall clock
        self.old_epoch = 0
        self.schedule = [(0.15, self.destroy_broker), (0.35, self.kill_writer), (0.55, self.kill_api_node),
                         (0.70, self.kill_leading_scheduler)]

    def run(self) -> None:
        fire_when_due(self.schedule, self.senders, self.plan.events, self.report.faults)

    def _note(self, text: str) -> None:
        self.report.faults.append(text)
        self.echo(f"[cluster] {text} at {self.senders.posted_events} events")

    def destroy_broker(self) -> None:
        victim = self.rng.choice(sorted(self.services.kafka.live_node_ids))
        self.services.kafka.destroy(victim)
        self._note(f"Kafka broker {victim} destroyed (data dir removed)")

    def kill_writer(self) -> None:
        before = stored_count(self.services, self.settings)
        deadline = time.monotonic() + 30
        while stored_count(self.services, self.settings) <= before and time.monotonic() < deadline:
            time.sleep(0.05)  # it is writing now
        n = self.rng.randrange(len(self.writers))
        os.killpg(self.writers[n].pid, signal.SIGKILL)
        self.writers[n].wait()
        self._note(f"kill -9 writer {n} (stored {stored_count(self.services, self.settings)})")

    def kill_api_node(self) -> None:
        # Six large batches go to the victim at once, so it has requests in flight when it dies; their
        # senders see the connection cut and retry on the other node.
        n = self.rng.randrange(len(self.apis))
        batches = [Batch(self.factory.events(500)) for _ in range(6)]
        for batch in batches:
            self.senders.register(batch)
        victim = PacedSenders(self.senders.urls[n], self.senders.secret, self.senders.ledger)
        victim.urls = [self.senders.urls[n], self.senders.urls[1 - n]]  # its retries go to the other node
        in_flight = [threading.Thread(target=victim.send_now, args=(batch,)) for batch in batches]
        for thread in in_flight:
            thread.start()
        time.sleep(0.03)
        os.killpg(self.apis[n].pid, signal.SIGKILL)  # the gunicorn master and its workers
        self.apis[n].wait()
        self.senders.urls = [self.senders.urls[1 - n]]  # as a balancer's health check would, soon after
        self._note(f"kill -9 API node {n} with 6 batches in flight")
        for thread in in_flight:
            thread.join()

    def kill_leading_scheduler(self) -> None:
        deadline = time.monotonic() + 60
        lease = None
        while time.monotonic() < deadline:
            lease = leases.current(self.sessions, leases.SCHEDULER)
            if lease is not None and lease.expires_at > datetime.now(timezone.utc) and leases.runs(
                    self.sessions, "rankings"):
                break
            time.sleep(0.1)
        if lease is None:
            raise RuntimeError("no scheduler leads")
        by_pid = {proc.pid: n for n, proc in enumerate(self.schedulers)}
        pid = int(lease.holder.rsplit("-", 2)[1])  # holders are host-pid-token
        n = by_pid[pid]
        self.old_epoch = lease.epoch
        os.killpg(self.schedulers[n].pid, signal.SIGKILL)
        self.leader_died_at = time.time()
        self.schedulers[n].wait()
        self._note(f"kill -9 leading scheduler {n} (lease epoch {lease.epoch})")
        self._wait_for_publication()

    def _wait_for_publication(self, timeout: float = 60) -> None:
        """The survivor's first ranking run (its slot claim) and the moment its summary is seen
        published, timed from the leader's death."""
        assert self.leader_died_at is not None
        died = datetime.fromtimestamp(self.leader_died_at, timezone.utc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = [r for r in leases.runs(self.sessions, "rankings", since=died) if r[1] > self.old_epoch]
            summary = snapshots.load_summary(self.sessions, self.factory.campaign)
            if runs and summary is not None and summary[0] >= runs[0][3]:
                self.report.failover_s = (runs[0][3] - died).total_seconds()
                self.report.published_s = time.time() - self.leader_died_at
                current = leases.current(self.sessions, leases.SCHEDULER)
                self.report.epochs = (self.old_epoch, current.epoch if current else None)
                self._note(f"scheduler {runs[0][2]} took over (epoch {runs[0][1]})")
                self._healthz_leader(deadline)
                return
            time.sleep(0.1)

    def _healthz_leader(self, deadline: float) -> None:
        """What a surviving API node's /healthz says leads: the new epoch, and (from the survivor's
        next heartbeat) its instance."""
        base = self.senders.urls[0].split("/v1/")[0]
        while time.monotonic() < deadline:
            try:
                body = requests.get(f"{base}/healthz", timeout=10).json()  # 200 or 503: the same body
                leader = body["components"]["scheduler"]["leader"]
            except (requests.RequestException, ValueError, KeyError):
                leader = None
            if leader and leader["epoch"] > self.old_epoch and leader["instance"]:
                self.report.healthz_leader = {k: leader[k] for k in ("holder", "epoch", "instance")}
                return
            time.sleep(0.2)


def cluster_main(events: int, rate: float | None, echo=print) -> int:
    """`python -m reliability cluster`: its own clusters on loopback, the run, PASS or FAIL."""
    import shutil
    import tempfile

    from devservices import ClickHouseCluster, KafkaCluster, PostgresService, make_base_dir

    base = make_base_dir(prefix="liveboard-reliability-cluster-")
    work = Path(tempfile.mkdtemp(prefix="liveboard-reliability-cluster-"))
    echo("[reliability] starting 3 Kafka brokers, 2 ClickHouse shards and PostgreSQL on loopback")
    try:
        with KafkaCluster(base, brokers=3) as kafka, ClickHouseCluster(base, shards=2) as clickhouse, \
                PostgresService(base) as postgres:
            report = run_cluster(ClusterServices(kafka, clickhouse, postgres), work,
                                 ClusterPlan(events=events, rate=rate or ClusterPlan.rate), echo=echo)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)
    return 0 if report.ok else 1


