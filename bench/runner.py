"""One benchmark run: every section against the same real services, each figure beside the
limit measured in the same run. See bench/__main__.py for the command."""
from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import orjson
import requests

from bench import infra, loadgen, workload
from bench.cluster import bench_cluster
from bench.connectors import bench_connectors
from bench.report import Figure, figures_as_dicts, make_figure, write
from configstore.db import make_engine, make_sessionmaker
from configstore.migrate import upgrade as migrate_config
from liveboard.sender import sign_headers
from liveboard.wiring import build_writer
from operations.migrations import migrate_all
from settings import Settings

log = logging.getLogger("bench")

SECTIONS = ("http", "batch", "consumer", "freshness", "ranking", "peer", "memory", "connectors", "cluster")


@dataclass(frozen=True)
class Mode:
    name: str
    runs: int
    http_levels: tuple[int, ...]
    http_seconds: float
    batch_connections: int
    batch_seconds: float
    consumer_events: int
    fresh_rate: int  # events/s of background load
    fresh_probes: int  # probes per run
    ranking_sizes: tuple[int, ...]
    api_clients: int
    api_seconds: float
    peer_rows: int


MODES = {
    "smoke": Mode("smoke", runs=1, http_levels=(8,), http_seconds=1, batch_connections=2, batch_seconds=1,
                  consumer_events=3000, fresh_rate=500, fresh_probes=2, ranking_sizes=(20_000,), api_clients=200,
                  api_seconds=1, peer_rows=20_000),
    "default": Mode("default", runs=3, http_levels=(8, 32, 128), http_seconds=5, batch_connections=4,
                    batch_seconds=5, consumer_events=200_000, fresh_rate=5000, fresh_probes=15,
                    ranking_sizes=(1_000_000, 10_000_000), api_clients=200, api_seconds=5, peer_rows=10_000_000),
    "full": Mode("full", runs=3, http_levels=(8, 32, 128), http_seconds=10, batch_connections=4,
                 batch_seconds=10, consumer_events=500_000, fresh_rate=5000, fresh_probes=20,
                 ranking_sizes=(1_000_000, 10_000_000, 100_000_000), api_clients=200, api_seconds=10,
                 peer_rows=10_000_000),
}


def _say(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclass
class Run:
    mode: Mode
    services: infra.Services
    suffix: str = field(default_factory=infra.new_suffix)
    work_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="liveboard-bench-")))
    figures: list[Figure] = field(default_factory=list)
    details: dict = field(default_factory=dict)
    pg_databases: list[str] = field(default_factory=list)
    ch_databases: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.children = infra.Children(self.work_dir / "logs")

    # -- helpers --------------------------------------------------------------------------
    def add(self, *args, **kwargs) -> Figure:
        fig = make_figure(*args, **kwargs)
        self.figures.append(fig)
        _say(f"  {fig.section} {fig.name}: {fig.value:.4g} {fig.unit}"
             + (f" (limit {fig.limit_value:.4g}, ratio {fig.ratio_to_limit:.2f})" if fig.limit_value else ""))
        return fig

    def config_store(self, tag: str):
        name = f"bench_{self.suffix}_{tag}"
        url = infra.create_pg_database(self.services, name)
        self.pg_databases.append(name)
        migrate_config(url)
        return url, make_sessionmaker(make_engine(url))

    def settings(self, tag: str, config_url: str, **overrides):
        settings = infra.scale_settings(self.services, suffix=self.suffix, tag=tag, config_db_url=config_url,
                                        data_dir=self.work_dir / tag, **overrides)
        self.ch_databases.append(settings.clickhouse_url.rsplit("/", 1)[1])
        self.topics += [settings.sales_topic, settings.dead_letter_topic]
        return settings

    def start_api(self, name: str, settings) -> tuple[object, int]:
        port = infra.free_port()
        proc = self.children.liveboard(name, settings, "serve", "--port", str(port))
        infra.wait_http(f"http://127.0.0.1:{port}/livez", proc, what=f"liveboard serve ({name})")
        return proc, port

    def start_trivial(self, name: str = "trivial", server: str = "gunicorn") -> tuple[object, int]:
        port = infra.free_port()
        proc = self.children.spawn(name, [sys.executable, "-m", "bench.trivial_app", "--port", str(port),
                                          "--server", server])
        infra.wait_http(f"http://127.0.0.1:{port}/healthz", proc, what="trivial gunicorn app")
        return proc, port

    def close(self) -> None:
        self.children.close()
        client = self.services.ch_client()
        try:
            for db in self.ch_databases + [f"bench_{self.suffix}_consraw{r}" for r in range(self.mode.runs)]:
                client.execute(f"DROP DATABASE IF EXISTS {db}")
        except Exception as exc:  # cleanup is best effort; the services are throwaway
            _say(f"cleanup (clickhouse): {exc}")
        finally:
            client.disconnect()
        for name in self.pg_databases:
            try:
                infra.drop_pg_database(self.services, name)
            except Exception as exc:
                _say(f"cleanup (postgres): {exc}")
        self._drop_topics()
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def _drop_topics(self) -> None:
        from kafka import KafkaAdminClient

        try:
            admin = KafkaAdminClient(bootstrap_servers=self.services.kafka.bootstrap_servers,
                                     request_timeout_ms=15000)
            try:
                existing = set(admin.list_topics())
                doomed = [t for t in set(self.topics) if t in existing]
                if doomed:
                    admin.delete_topics(doomed, timeout_ms=15000)
            finally:
                admin.close()
        except Exception as exc:
            _say(f"cleanup (kafka): {exc}")


# ============================================================================================
# 1 + 2: webhooks over HTTP

def _check_errors(results, what: str) -> None:
    """A load run whose answers were errors measured nothing: fail loudly instead."""
    requests_, errors = sum(r.requests for r in results), sum(r.errors for r in results)
    if requests_ == 0 or errors > 0.01 * requests_:
        raise RuntimeError(f"{what}: {errors} of {requests_} requests failed")

def bench_http(run: Run) -> None:
    mode = run.mode
    config_url, sessions = run.config_store("http")
    settings = run.settings("http", config_url)
    migrate_all(settings)
    slug = f"http-{run.suffix}"
    setup = workload.setup_campaign(sessions, slug)
    source = "bench-http"
    secret = workload.ensure_source(sessions, source, settings)
    factory = workload.EventFactory(slug, setup["hosts"], setup["enterprises"], tag="h")
    api, api_port = run.start_api("api-http", settings)
    trivial, trivial_port = run.start_trivial("trivial-http")
    host = "127.0.0.1"
    singles = factory.single_bodies(1000 if mode.name == "smoke" else 3000)
    batches = factory.batch_bodies(4 if mode.name == "smoke" else 20, 500)

    def pool(bodies):
        return loadgen.signed_pool(host, api_port, source, secret, bodies)

    def trivial_pool(bodies):
        return loadgen.signed_pool(host, trivial_port, source, secret, bodies)

    # warm-up: each worker connects its Kafka producer, imports, fills caches
    loadgen.load(host, api_port, pool(singles[:200]), connections=8, seconds=1)
    loadgen.load(host, trivial_port, trivial_pool(singles[:200]), connections=8, seconds=1)

    levels = []
    best = None
    for connections in mode.http_levels:
        ours, base = [], []
        for _ in range(mode.runs):
            ours.append(loadgen.load(host, api_port, pool(singles), connections=connections,
                                     seconds=mode.http_seconds))
            base.append(loadgen.load(host, trivial_port, trivial_pool(singles), connections=connections,
                                     seconds=mode.http_seconds))
        _check_errors(ours + base, f"single webhooks, {connections} connections")
        level = {"connections": connections, "ours": [r.as_dict() for r in ours],
                 "trivial": [r.as_dict() for r in base]}
        levels.append(level)
        rps = loadgen.median([r.rps for r in ours])
        _say(f"  single webhooks c={connections}: {rps:.0f} req/s, p99 {loadgen.median([r.p99_ms for r in ours]):.1f} ms;"
             f" trivial {loadgen.median([r.rps for r in base]):.0f} req/s; errors {sum(r.errors for r in ours)}/"
             f"{sum(r.requests for r in ours)}")
        run.add("1", f"single webhook req/s, {connections} connections", "req/s", [r.rps for r in ours],
                limit=[r.rps for r in base], limit_name="trivial Flask on the same gunicorn",
                target=2000, target_op=">=")
        run.add("1", f"single webhook p50, {connections} connections", "ms", [r.p50_ms for r in ours],
                limit=[r.p50_ms for r in base], limit_name="trivial Flask p50")
        run.add("1", f"single webhook p99, {connections} connections", "ms", [r.p99_ms for r in ours],
                limit=[r.p99_ms for r in base], limit_name="trivial Flask p99", target=50, target_op="<=")
        if best is None or rps > best[0]:
            best = (rps, connections, ours, base)
    rps, connections, ours, base = best
    ratios = [o.rps / b.rps for o, b in zip(ours, base, strict=True) if b.rps]
    run.add("1", f"single webhook share of trivial (best level, {connections} connections)", "×", ratios,
            limit=1.0, limit_name="trivial = 1", target=0.6, target_op=">=")
    errors = sum(r["errors"] for lv in levels for r in lv["ours"])
    run.details["http_single"] = {"levels": levels, "errors_ours": errors,
                                  "server": "liveboard serve: gunicorn gthread, 2 workers × 8 threads"}

    # 2: batches of 500
    ours_b, base_b = [], []
    for _ in range(mode.runs):
        ours_b.append(loadgen.load(host, api_port, pool(batches), connections=mode.batch_connections,
                                   seconds=mode.batch_seconds))
        base_b.append(loadgen.load(host, trivial_port, trivial_pool(batches), connections=mode.batch_connections,
                                   seconds=mode.batch_seconds))
    _check_errors(ours_b + base_b, "batch webhooks")
    run.add("2", f"batch webhook events/s (500 a request, {mode.batch_connections} connections)", "events/s",
            [r.rps * 500 for r in ours_b], limit=[r.rps * 500 for r in base_b],
            limit_name="trivial Flask reading the same bodies", target=20000, target_op=">=")
    run.add("2", "batch webhook p99", "ms", [r.p99_ms for r in ours_b], limit=[r.p99_ms for r in base_b],
            limit_name="trivial Flask p99")
    run.details["http_batch"] = {"ours": [r.as_dict() for r in ours_b], "trivial": [r.as_dict() for r in base_b]}

    run.details["memory_http"] = {
        "api_workers_peak_mib": [infra.peak_rss_mib(p) for p in infra.worker_pids(api)],
        "trivial_workers_peak_mib": [infra.peak_rss_mib(p) for p in infra.worker_pids(trivial)],
    }
    run.children.stop(api)
    run.children.stop(trivial)
    bench_embedded(run, singles, batches)


def bench_embedded(run: Run, singles: list[bytes], batches: list[bytes]) -> None:
    """1e/2e: `liveboard run` (the embedded default: waitress, SQLite log, chDB, writer and scheduler in
    the one process) against the trivial endpoint on the same waitress set-up."""
    mode = run.mode
    work = run.work_dir / "embedded"
    settings = Settings(data_dir=work, chdb_dir=work / "chdb", webhook_rate_limit="100000000 per minute")
    work.mkdir(parents=True, exist_ok=True)
    migrate_config(settings.config_db_url)  # chDB is migrated by `liveboard run` itself: one process per data dir
    sessions = make_sessionmaker(make_engine(settings.config_db_url))
    slug = f"emb-{run.suffix}"
    workload.setup_campaign(sessions, slug)
    source = "bench-embedded"
    secret = workload.ensure_source(sessions, source, settings)
    port = infra.free_port()
    api = run.children.liveboard("embedded-run", settings, "run", "--port", str(port))
    infra.wait_http(f"http://127.0.0.1:{port}/livez", api, what="liveboard run")
    trivial, trivial_port = run.start_trivial("trivial-waitress", server="waitress")
    host = "127.0.0.1"
    bodies = [orjson.dumps({**orjson.loads(b), "campaign": slug}) for b in singles]
    batch_bodies = [orjson.dumps({"events": [{**e, "campaign": slug} for e in orjson.loads(b)["events"]]})
                    for b in batches]
    pool = loadgen.signed_pool(host, port, source, secret, bodies)
    loadgen.load(host, port, pool[:200], connections=8, seconds=1)  # warm-up
    loadgen.load(host, trivial_port, loadgen.signed_pool(host, trivial_port, source, secret, bodies[:200]),
                 connections=8, seconds=1)
    connections = 32
    ours, base, ours_b, base_b = [], [], [], []
    for _ in range(mode.runs):
        ours.append(loadgen.load(host, port, loadgen.signed_pool(host, port, source, secret, bodies),
                                 connections=connections, seconds=mode.http_seconds))
        base.append(loadgen.load(host, trivial_port, loadgen.signed_pool(host, trivial_port, source, secret, bodies),
                                 connections=connections, seconds=mode.http_seconds))
        ours_b.append(loadgen.load(host, port, loadgen.signed_pool(host, port, source, secret, batch_bodies),
                                   connections=mode.batch_connections, seconds=mode.batch_seconds))
        base_b.append(loadgen.load(host, trivial_port,
                                   loadgen.signed_pool(host, trivial_port, source, secret, batch_bodies),
                                   connections=mode.batch_connections, seconds=mode.batch_seconds))
    _check_errors(ours + base + ours_b + base_b, "embedded webhooks")
    run.add("1e", f"embedded single webhook req/s (liveboard run, waitress), {connections} connections", "req/s",
            [r.rps for r in ours], limit=[r.rps for r in base], limit_name="trivial Flask on the same waitress")
    run.add("1e", f"embedded single webhook p99, {connections} connections", "ms", [r.p99_ms for r in ours],
            limit=[r.p99_ms for r in base], limit_name="trivial Flask p99, same waitress")
    run.add("2e", f"embedded batch webhook events/s (500 a request, {mode.batch_connections} connections)",
            "events/s", [r.rps * 500 for r in ours_b], limit=[r.rps * 500 for r in base_b],
            limit_name="trivial Flask on the same waitress reading the same bodies")
    run.details["embedded"] = {"single": [r.as_dict() for r in ours], "single_trivial": [r.as_dict() for r in base],
                               "batch": [r.as_dict() for r in ours_b], "batch_trivial": [r.as_dict() for r in base_b],
                               "server": "liveboard run: waitress, 8 threads, SQLite log + chDB in process",
                               "peak_rss_mib": infra.peak_rss_mib(api.pid)}
    run.children.stop(api, timeout=20)
    run.children.stop(trivial)


# ============================================================================================
# 3: consumer Kafka -> ClickHouse against raw kafka-python and raw clickhouse-driver

def _preload(bootstrap: str, topic: str, values: list[tuple[bytes, bytes]]) -> float:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=512 * 1024,
                             max_request_size=4 * 1024 * 1024)
    started = time.perf_counter()
    try:
        for key, value in values:
            producer.send(topic, key=key, value=value)
        producer.flush(timeout=600)
    finally:
        producer.close(timeout=30)
    return time.perf_counter() - started


def bench_consumer(run: Run) -> None:
    from clickhouse_driver import Client
    from kafka import KafkaConsumer, TopicPartition

    from analytics import open_store
    from analytics.migrations import migrate as migrate_store
    from analytics.rows import COLUMNS
    from consumers.rows import row_from_record
    from schemas import envelope
    from settings import Settings

    mode = run.mode
    n = mode.consumer_events
    config_url, sessions = run.config_store("consumer")
    setup = workload.setup_campaign(sessions, f"cons-{run.suffix}")
    factory = workload.EventFactory(f"cons-{run.suffix}", setup["hosts"], setup["enterprises"], tag="c")
    received = datetime.now(timezone.utc)
    _say(f"  generating {n} events")
    messages = []
    for event in factory.events(n):  # as the API appends them: validated against the contract
        messages.append((envelope.partition_key(event), envelope.wrap(event, source="bench", received_at=received,
                                                                      webhook_id="msg_bench", validated=True)))
    writer_rates, kafka_rates, ch_rates, produce_rates, multi_rates = [], [], [], [], []
    processes = max(2, os.cpu_count() or 2)
    for r in range(mode.runs):
        settings = run.settings(f"cons{r}", config_url)
        migrate_all(settings)
        writer = build_writer(settings)
        # join the group on the empty topic first, so the timing below is consumption only
        deadline = time.monotonic() + 60
        while not writer.consumer.is_assigned():
            if time.monotonic() > deadline:
                raise RuntimeError("the writer's consumer was never assigned partitions")
            writer.consumer.poll(100, 200)
        produce_s = _preload(settings.kafka_bootstrap, settings.sales_topic, messages)
        produce_rates.append(n / produce_s)

        # the writer as `liveboard consume` runs it: the pipeline (fetch + decode overlapping the store)
        stop = threading.Event()
        watchdog = threading.Timer(900, stop.set)
        watchdog.start()
        started = time.perf_counter()
        writer.run(stop, until=lambda w=writer: w.stats.consumed >= n)
        writer_s = time.perf_counter() - started
        watchdog.cancel()
        stats = writer.stats
        if stop.is_set():
            raise RuntimeError(f"writer stalled at {stats.consumed}/{n}")
        writer.event_log.close()
        if stats.inserted != n:
            raise RuntimeError(f"writer inserted {stats.inserted} of {n} (dead {stats.dead_lettered}, dup {stats.duplicates})")
        writer_rates.append(n / writer_s)

        # raw kafka-python: the same messages, same poll size, no group (manual assignment)
        consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                                 auto_offset_reset="earliest", max_poll_records=5000)
        partitions = [TopicPartition(settings.sales_topic, p) for p in
                      sorted(consumer.partitions_for_topic(settings.sales_topic))]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        raw_values = []
        started = time.perf_counter()
        while len(raw_values) < n:
            for batch in consumer.poll(timeout_ms=500, max_records=5000).values():
                raw_values.extend(m.value for m in batch)
            if time.perf_counter() - started > 600:
                raise RuntimeError("raw consumer stalled")
        kafka_rates.append(n / (time.perf_counter() - started))
        consumer.close()

        # raw clickhouse-driver: the same rows, built outside the clock, bulk-inserted in the writer's
        # batch size into an identical fresh schema (the materialized view included)
        rows = []
        for value in raw_values:
            rows.append(row_from_record(value))
        raw_db = f"bench_{run.suffix}_consraw{r}"
        raw_settings = Settings(store="clickhouse", clickhouse_url=run.services.clickhouse.url_for(raw_db))
        migrate_store(open_store(raw_settings))
        client = Client("127.0.0.1", port=run.services.clickhouse.port, send_receive_timeout=600)
        cols = ", ".join(COLUMNS)
        batch = settings.consumer_batch_rows
        started = time.perf_counter()
        for i in range(0, len(rows), batch):
            columnar = [list(c) for c in zip(*rows[i:i + batch], strict=True)]
            client.execute(f"INSERT INTO {raw_db}.sales_events ({cols}) VALUES", columnar, columnar=True)
        ch_rates.append(n / (time.perf_counter() - started))
        client.disconnect()
        multi_rates.append(_consume_in_processes(run, f"consn{r}", config_url, messages, processes))
        _say(f"  consumer run {r + 1}: writer {writer_rates[-1]:.0f}/s ({processes} processes {multi_rates[-1]:.0f}/s), "
             f"raw kafka {kafka_rates[-1]:.0f}/s, raw clickhouse {ch_rates[-1]:.0f}/s")

    slower = [min(k, c) for k, c in zip(kafka_rates, ch_rates, strict=True)]
    run.add("3", f"consumer (SalesWriter) events/s, {n:,} events", "events/s", writer_rates, limit=slower,
            limit_name="slower raw leg (min of raw kafka-python, raw clickhouse-driver)")
    run.add("3", "raw kafka-python consumption", "events/s", kafka_rates, limit=produce_rates,
            limit_name="producer preload rate (kafka-python)")
    run.add("3", "raw clickhouse-driver bulk insert", "events/s", ch_rates)
    run.add("3", "consumer share of slower raw leg", "×", [w / s for w, s in zip(writer_rates, slower, strict=True)],
            limit=1.0, limit_name="raw = 1", target=0.5, target_op=">=")
    run.add("3", f"consumer, liveboard consume --processes {processes}, events/s", "events/s", multi_rates,
            limit=slower, limit_name="slower raw leg (one process each)",
            note="rate from the first 10 % stored to the last (process start-up and the group join left out)")
    run.details["consumer"] = {"events": n, "writer": writer_rates, "raw_kafka": kafka_rates, "raw_clickhouse": ch_rates,
                               "preload": produce_rates, "processes": processes, "writer_processes": multi_rates}


def _consume_in_processes(run: Run, tag: str, config_url: str, messages: list[tuple[bytes, bytes]],
                          processes: int) -> float:
    """`liveboard consume --processes N` over the same preloaded messages: events/s from the first
    10 % stored to the last (start-up and the consumer group's join are left out)."""
    from operations.migrations import migrate_all as migrate

    n = len(messages)
    settings = run.settings(tag, config_url)
    migrate(settings)
    _preload(settings.kafka_bootstrap, settings.sales_topic, messages)
    db = settings.clickhouse_url.rsplit("/", 1)[1]
    client = run.services.ch_client()
    proc = run.children.liveboard(f"writers-{tag}", settings, "consume", "--processes", str(processes))
    spawned = time.perf_counter()
    try:
        first = None
        deadline = time.monotonic() + 900
        while True:
            stored = client.execute(f"SELECT count() FROM {db}.sales_events")[0][0]
            now = time.perf_counter()
            if first is None and stored >= n // 10:
                first = (now, stored)
            if stored >= n:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"consume --processes {processes} stalled at {stored}/{n}:\n"
                                   f"{run.children.log_tail(f'writers-{tag}')}")
            time.sleep(0.1)
        assert first is not None
        if first[1] >= n:  # (tiny runs) everything landed between two samples: count from the start
            first = (spawned, 0)
        return (n - first[1]) / max(1e-6, now - first[0])
    finally:
        client.disconnect()
        run.children.stop(proc, timeout=30)


# ============================================================================================
# 4 + 7: freshness under steady load; memory of API worker, consumer, scheduler

class _SteadyLoad(threading.Thread):
    """Posts `rate` events/s as signed batches, paced to the wall clock."""

    def __init__(self, url: str, secret: str, factory: workload.EventFactory, rate: int):
        super().__init__(daemon=True, name="steady-load")
        self.url, self.secret, self.factory, self.rate = url, secret, factory, rate
        self.size = max(1, min(500, rate // 10))
        self.stop = threading.Event()
        self.sent = 0
        self.failed = 0
        self.started_at = 0.0
        self.stopped_at = 0.0

    def run(self) -> None:
        http = requests.Session()
        interval = self.size / self.rate
        self.started_at = due = time.perf_counter()
        while not self.stop.is_set():
            body = orjson.dumps({"events": self.factory.events(self.size)})
            try:
                resp = http.post(self.url, data=body, headers=sign_headers(self.secret, body), timeout=30)
                if resp.status_code == 202:
                    self.sent += self.size
                else:
                    self.failed += self.size
            except requests.RequestException:
                self.failed += self.size
            due += interval
            delay = due - time.perf_counter()
            if delay > 0:
                self.stop.wait(delay)
        self.stopped_at = time.perf_counter()

    @property
    def achieved(self) -> float:
        end = self.stopped_at or time.perf_counter()
        return self.sent / (end - self.started_at) if end > self.started_at else 0.0


def _probe(http: requests.Session, base: str, slug: str, source: str, secret: str, k: int, tag: str,
           timeout_s: float = 60) -> float:
    body = orjson.dumps(workload.probe_event(slug, k, tag))
    resp = http.post(f"{base}/v1/webhooks/{source}", data=body, headers=sign_headers(secret, body), timeout=30)
    accepted_at = time.perf_counter()
    if resp.status_code != 202:
        raise RuntimeError(f"probe {k} answered {resp.status_code}: {resp.text[:200]}")
    deadline = accepted_at + timeout_s
    while time.perf_counter() < deadline:
        board = http.get(f"{base}/v1/campaigns/{slug}/boards", timeout=30).json()
        top = board.get("hosts") or []
        if any(e["id"] == workload.PROBE_HOST_ID and e["order_count"] >= k for e in top):
            return time.perf_counter() - accepted_at
        time.sleep(0.02)
    raise RuntimeError(f"probe {k} not on the board after {timeout_s:.0f}s")


def _with_logs(run: Run, exc: Exception, idle: list[float]) -> RuntimeError:
    """A probe that never reached the board, with what the writer, scheduler and API were doing."""
    tails = "\n".join(f"--- {name} ---\n{run.children.log_tail(name, 80)}"
                      for name in ("writer-fresh", "scheduler-fresh", "api-fresh"))
    return RuntimeError(f"{exc} (idle probes: {idle})\n{tails}")


def bench_freshness(run: Run) -> None:
    mode = run.mode
    config_url, sessions = run.config_store("fresh")
    settings = run.settings("fresh", config_url)  # product defaults: ranking on new data, 5 s at the latest
    migrate_all(settings)
    slug = f"fresh-{run.suffix}"
    setup = workload.setup_campaign(sessions, slug, probe=True)
    source = "bench-fresh"
    secret = workload.ensure_source(sessions, source, settings)
    api, port = run.start_api("api-fresh", settings)
    writer = run.children.liveboard("writer-fresh", settings, "consume")
    scheduler = run.children.liveboard("scheduler-fresh", settings, "schedule")
    base = f"http://127.0.0.1:{port}"
    http = requests.Session()
    tag = run.suffix
    k = 0
    # the limit: the same probe through an idle pipeline (same batch window, same ranking interval)
    idle = []
    try:
        for _ in range(max(2, mode.runs)):
            k += 1
            idle.append(_probe(http, base, slug, source, secret, k, tag, timeout_s=120 if k == 1 else 60))
    except RuntimeError as exc:
        raise _with_logs(run, exc, idle) from exc
    idle = idle[1:]  # the first also waits for the writer's group join
    # two senders: one blocking client posting 500-event batches tops out near 4,500 events/s here
    senders = 2 if mode.fresh_rate > 1000 else 1
    loads = [_SteadyLoad(f"{base}/v1/webhooks/{source}", secret,
                         workload.EventFactory(slug, setup["hosts"], setup["enterprises"], seed=7 + i, tag="f"),
                         mode.fresh_rate // senders) for i in range(senders)]
    for load in loads:
        load.start()
    p50s, p99s, maxes, per_run = [], [], [], []
    try:
        time.sleep(3 if mode.name != "smoke" else 1)
        for _ in range(mode.runs):
            latencies = []
            for _ in range(mode.fresh_probes):
                k += 1
                latencies.append(_probe(http, base, slug, source, secret, k, tag))
            summary = loadgen.summarize(latencies, 1.0, 0, "probe")
            p50s.append(summary.p50_ms / 1000)
            p99s.append(summary.p99_ms / 1000)
            maxes.append(summary.max_ms / 1000)
            per_run.append(latencies)
    except RuntimeError as exc:
        raise _with_logs(run, exc, idle) from exc
    finally:
        for load in loads:
            load.stop.set()
        for load in loads:
            load.join(timeout=60)
    achieved = sum(load.achieved for load in loads)
    failed = sum(load.failed for load in loads)
    idle_summary = loadgen.summarize(idle, 1.0, 0, "probe")
    note = (f"background load achieved {achieved:.0f} events/s of {mode.fresh_rate} asked "
            f"({failed} events refused); {mode.fresh_probes} probes per run; writer batch 500 ms; ranking when the "
            f"writers' committed position moves (polled every {settings.ranking_poll_seconds:g} s)")
    run.add("4", f"freshness p50 under {mode.fresh_rate:,} events/s", "s", p50s, limit=idle_summary.p50_ms / 1000,
            limit_name="same probe, idle pipeline p50", note=note)
    run.add("4", f"freshness p99 under {mode.fresh_rate:,} events/s", "s", p99s, limit=idle_summary.p99_ms / 1000,
            limit_name="same probe, idle pipeline p99", target=2.0, target_op="<=")
    run.add("4", "background load achieved", "events/s", [achieved], limit=float(mode.fresh_rate),
            limit_name="asked")
    run.details["freshness"] = {"idle": idle, "loaded": per_run, "achieved_rate": achieved,
                                "failed_events": failed}

    api_workers = [infra.peak_rss_mib(p) for p in infra.worker_pids(api)]
    run.details["memory_fresh"] = {"api_workers_peak_mib": api_workers,
                                   "writer_peak_mib": infra.peak_rss_mib(writer.pid),
                                   "scheduler_peak_mib": infra.peak_rss_mib(scheduler.pid)}
    for proc, name in ((writer, "writer-fresh"), (scheduler, "scheduler-fresh")):
        if proc.poll() is not None:
            raise RuntimeError(f"{name} died:\n{run.children.log_tail(name)}")
    for proc in (writer, scheduler, api):
        run.children.stop(proc)


def bench_memory(run: Run) -> None:
    http = run.details.get("memory_http", {})
    fresh = run.details.get("memory_fresh", {})
    trivial = max(http.get("trivial_workers_peak_mib") or [0.0]) or None
    api_peak = max((http.get("api_workers_peak_mib") or []) + (fresh.get("api_workers_peak_mib") or []) or [0.0])
    run.add("7", "API worker peak RSS (gunicorn worker, under load)", "MiB", [api_peak], limit=trivial,
            limit_name="trivial Flask worker on the same gunicorn")
    run.add("7", "consumer peak RSS (liveboard consume, under load)", "MiB", [fresh.get("writer_peak_mib", 0.0)],
            limit=trivial, limit_name="trivial Flask worker")
    run.add("7", "scheduler peak RSS (liveboard schedule, 1 s interval)", "MiB",
            [fresh.get("scheduler_peak_mib", 0.0)], limit=trivial, limit_name="trivial Flask worker")


# ============================================================================================
# 5 + 6: ranking at scale, the leaderboard API, and the PostgreSQL peer baseline

def _generate_sql(db: str, slug: str, hosts, enterprises, offset: int, count: int, start_epoch: int,
                  span_s: int) -> str:
    """INSERT ... SELECT FROM numbers(): realistic columns, generated inside ClickHouse (18.16 SQL)."""
    from liveboard.demo_data import COUNTIES, PRODUCTS

    codes = list(COUNTIES)
    def arr(values):
        return "[" + ", ".join("'" + str(v).replace("'", "\\'") + "'" for v in values) + "]"
    def iarr(values):
        return "[" + ", ".join(str(int(v)) for v in values) + "]"
    host_accounts = arr(h.account_id for h in hosts)
    host_platforms = arr(h.platform for h in hosts)
    host_county = iarr(codes.index(h.county) for h in hosts)
    ent_by_county = [[e.id for e in enterprises if e.county == c] for c in codes]
    per_county = min(len(x) for x in ent_by_county)
    ent_flat = arr(e for group in ent_by_county for e in group[:per_county])
    skus = arr(p[0] for c in codes for p in PRODUCTS[c])
    names = arr(p[1] for c in codes for p in PRODUCTS[c])
    cats = arr(p[2] for c in codes for p in PRODUCTS[c])
    prices = iarr(p[3] for c in codes for p in PRODUCTS[c])
    counties = arr(codes)
    nh = len(hosts)
    return f"""
INSERT INTO {db}.sales_events (event_id, type, occurred_at, received_at, source, platform, campaign, host,
    enterprise, order_id, refund_id, live_id, sku, product_name, category, county, buyer, quantity, amount_fen,
    peak_viewers, total_viewers, raw)
SELECT event_id, type, occurred_at, occurred_at, 'bench-load', platform, '{slug}', host, enterprise,
       concat('o-', toString(n)), if(type = 'order.refunded', concat('rf-', toString(n)), ''), '', sku, pname, cat,
       county, buyer, qty, amount, 0, 0,
       concat('{{"event_id":"', event_id, '","type":"', type, '","host":"', host, '","amount_fen":', toString(amount), '}}')
FROM (
    SELECT n, concat('{slug}-', toString(n)) AS event_id,
           if(intHash32(n + 4) % 100 < 6, 'order.refunded', 'order.paid') AS type,
           toDateTime({start_epoch} + intHash32(n + 1) % {span_s}) AS occurred_at,
           arrayElement({host_accounts}, h + 1) AS host, arrayElement({host_platforms}, h + 1) AS platform,
           arrayElement({host_county}, h + 1) AS ci,
           arrayElement({counties}, ci + 1) AS county,
           arrayElement({ent_flat}, ci * {per_county} + intHash32(n + 5) % {per_county} + 1) AS enterprise,
           ci * 2 + intHash32(n + 6) % 2 + 1 AS pi,
           arrayElement({skus}, pi) AS sku, arrayElement({names}, pi) AS pname, arrayElement({cats}, pi) AS cat,
           arrayElement([1, 1, 1, 1, 1, 1, 1, 2, 2, 3], intHash32(n + 2) % 10 + 1) AS qty,
           arrayElement({prices}, pi) * qty AS amount,
           concat('b', toString(intHash32(n + 3) % {max(1, (offset + count) // 2)})) AS buyer
    FROM (
        SELECT number + {offset} AS n, intHash32(number + {offset}) % 10000 AS u,
               toUInt32(intDiv(u * u, {10000 * 10000 // nh})) AS h
        FROM numbers({count})
    )
)
"""


class _RecordingStore:
    """Wraps the store the job uses: records each SQL it sends and the time it takes."""

    def __init__(self, inner):
        self.inner = inner
        self.database = inner.database
        self.calls: list[tuple[str, dict | None, float]] = []

    def query(self, sql, params=None):
        started = time.perf_counter()
        try:
            return self.inner.query(sql, params)
        finally:
            self.calls.append((sql, params, time.perf_counter() - started))

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _replay_raw(client, calls, database: str) -> float:
    """The job's ClickHouse queries, straight through clickhouse-driver (no product code)."""
    from analytics.clickhouse_store import _bind_server

    started = time.perf_counter()
    for sql, params, _ in calls:
        text, bound = _bind_server(sql, params, database)
        client.execute(text, bound)
    return time.perf_counter() - started


def bench_ranking(run: Run) -> None:
    from analytics import open_store
    from analytics.boards import participant_totals
    from configstore import registry
    from scheduler.ranking_job import publish_campaign

    mode = run.mode
    config_url, sessions = run.config_store("rank")
    settings = run.settings("rank", config_url)
    migrate_all(settings)
    slug = f"rank-{run.suffix}"
    setup = workload.setup_campaign(sessions, slug, days_back=29, days_ahead=1)
    campaign = setup["campaign"]
    db = settings.clickhouse_url.rsplit("/", 1)[1]
    client = run.services.ch_client(settings={"max_insert_block_size": 1_048_576})
    store = open_store(settings)
    api, api_port = run.start_api("api-rank", settings)
    trivial, trivial_port = run.start_trivial("trivial-rank")
    start_epoch = int(campaign.starts_at.timestamp())
    span_s = max(3600, int(time.time()) - 120 - start_epoch)
    loaded = 0
    chunk = 10_000_000
    for size in mode.ranking_sizes:
        started = time.perf_counter()
        while loaded < size:
            count = min(chunk, size - loaded)
            client.execute(_generate_sql(db, slug, setup["hosts"], setup["enterprises"], loaded, count,
                                         start_epoch, span_s))
            loaded += count
        load_s = time.perf_counter() - started
        client.execute(f"OPTIMIZE TABLE {db}.sales_daily FINAL")
        client.execute(f"OPTIMIZE TABLE {db}.sales_campaign FINAL")
        daily_rows = client.execute(f"SELECT count() FROM {db}.sales_daily")[0][0]
        _say(f"  ranking: {size:,} events stored ({load_s:.0f}s to load); sales_daily {daily_rows:,} rows")
        label = _size_label(size)

        # the ranking job, as the scheduler runs it, per campaign
        publish_campaign(sessions, store, campaign, datetime.now(timezone.utc))  # warm-up
        job_s, ch_s, raw_s = [], [], []
        for _ in range(mode.runs):
            recording = _RecordingStore(store)
            started = time.perf_counter()
            publish_campaign(sessions, recording, campaign, datetime.now(timezone.utc))
            job_s.append(time.perf_counter() - started)
            ch_s.append(sum(c[2] for c in recording.calls))
            raw_s.append(_replay_raw(client, recording.calls, db))
        run.add("5", f"ranking job per campaign, {label} events", "s", job_s, limit=raw_s,
                limit_name="its ClickHouse queries alone, raw clickhouse-driver", target=1.0, target_op="<=",
                note=f"sales_daily {daily_rows:,} rows after OPTIMIZE FINAL" if size == mode.ranking_sizes[-1] else "")

        # the top-ten computation alone (what the peer baseline computes)
        attribution = registry.attribution(sessions, "hosts")
        top_s = []
        for _ in range(mode.runs):
            started = time.perf_counter()
            participant_totals(store, campaign=slug, board="hosts", first_day=campaign.first_day,
                               last_day=campaign.last_day, attribution=attribution, whole_campaign=True)
            top_s.append(time.perf_counter() - started)
        run.details.setdefault("ranking", {})[label] = {"job_s": job_s, "clickhouse_in_job_s": ch_s,
                                                        "raw_replay_s": raw_s, "top10_query_s": top_s,
                                                        "load_s": load_s, "sales_daily_rows": daily_rows}

        # the leaderboard API: 200 clients polling once a second (open loop), and saturated (closed loop)
        path = f"/v1/campaigns/{slug}/boards"
        for warm_port in (api_port, trivial_port):  # connections, imports, the first cache fill
            loadgen.load("127.0.0.1", warm_port, [loadgen.raw_request("GET", "127.0.0.1", warm_port, path)],
                         connections=16, seconds=1)
        paced, paced_trivial, sat, sat_trivial = [], [], [], []
        for _ in range(mode.runs):
            paced.append(loadgen.paced_get("127.0.0.1", api_port, path, clients=mode.api_clients, interval_s=1.0,
                                           seconds=mode.api_seconds))
            paced_trivial.append(loadgen.paced_get("127.0.0.1", trivial_port, path, clients=mode.api_clients,
                                                   interval_s=1.0, seconds=mode.api_seconds))
            get = [loadgen.raw_request("GET", "127.0.0.1", api_port, path)]
            sat.append(loadgen.load("127.0.0.1", api_port, get, connections=mode.api_clients,
                                    seconds=mode.api_seconds))
            get_t = [loadgen.raw_request("GET", "127.0.0.1", trivial_port, path)]
            sat_trivial.append(loadgen.load("127.0.0.1", trivial_port, get_t, connections=mode.api_clients,
                                            seconds=mode.api_seconds))
        run.add("5", f"leaderboard API p99, {mode.api_clients} clients polling 1/s, {label} events", "ms",
                [r.p99_ms for r in paced], limit=[r.p99_ms for r in paced_trivial],
                limit_name="trivial Flask GET, same clients", target=20, target_op="<=")
        run.add("5", f"leaderboard API p99, {mode.api_clients} connections closed loop, {label} events", "ms",
                [r.p99_ms for r in sat], limit=[r.p99_ms for r in sat_trivial], limit_name="trivial Flask GET p99")
        run.add("5", f"leaderboard API req/s, {mode.api_clients} connections closed loop, {label} events", "req/s",
                [r.rps for r in sat], limit=[r.rps for r in sat_trivial], limit_name="trivial Flask GET")
        run.details["ranking"][label]["api"] = {"paced": [r.as_dict() for r in paced],
                                                "paced_trivial": [r.as_dict() for r in paced_trivial],
                                                "closed": [r.as_dict() for r in sat],
                                                "closed_trivial": [r.as_dict() for r in sat_trivial]}
        if size == mode.peer_rows and "peer" in run.selected:
            bench_peer(run, size, top_s, job_s, setup, campaign)
    client.disconnect()
    run.children.stop(api)
    run.children.stop(trivial)


def _size_label(size: int) -> str:
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    if size >= 1000 and size % 1000 == 0:
        return f"{size // 1000}k"
    return str(size)


def bench_peer(run: Run, rows: int, ours_top_s: list[float], ours_job_s: list[float], setup, campaign) -> None:
    """A typical vendor's design: one PostgreSQL row per order, top ten by GROUP BY at read time."""
    from liveboard.demo_data import COUNTIES, PRODUCTS

    name = f"bench_{run.suffix}_peer"
    infra.create_pg_database(run.services, name)
    run.pg_databases.append(name)
    conn = run.services.pg_connect(name)
    hosts, enterprises = setup["hosts"], setup["enterprises"]
    codes = list(COUNTIES)
    def arr(values):
        return "ARRAY[" + ", ".join("'" + v + "'" for v in values) + "]"
    ent_by_county = [[e.id for e in enterprises if e.county == c] for c in codes]
    per_county = min(len(x) for x in ent_by_county)
    prices = "ARRAY[" + ", ".join(str(p[3]) for c in codes for p in PRODUCTS[c]) + "]"
    start_epoch = int(campaign.starts_at.timestamp())
    span_s = max(3600, int(time.time()) - 120 - start_epoch)
    nh = len(hosts)
    started = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute("""
            CREATE TABLE orders (
                id bigint PRIMARY KEY, event_id text NOT NULL, type text NOT NULL, occurred_at timestamptz NOT NULL,
                platform text NOT NULL, campaign text NOT NULL, host text NOT NULL, enterprise text NOT NULL,
                county text NOT NULL, sku text NOT NULL, quantity int NOT NULL, amount_fen bigint NOT NULL,
                buyer text NOT NULL)""")
        cur.execute(f"""
            INSERT INTO orders
            SELECT n, %(slug)s || '-' || n,
                   CASE WHEN (hashint8(n + 4)::bigint & 2147483647) %% 100 < 6 THEN 'order.refunded' ELSE 'order.paid' END,
                   to_timestamp({start_epoch} + (hashint8(n + 1)::bigint & 2147483647) %% {span_s}),
                   ({arr(h.platform for h in hosts)})[h + 1], %(slug)s, ({arr(h.account_id for h in hosts)})[h + 1],
                   ({arr(e for g in ent_by_county for e in g[:per_county])})[ci * {per_county} + (hashint8(n + 5)::bigint & 2147483647) %% {per_county} + 1],
                   ({arr(codes)})[ci + 1], 'sku-' || pi, qty, ({prices})[pi] * qty,
                   'b' || ((hashint8(n + 3)::bigint & 2147483647) %% {max(1, rows // 2)})
            FROM (
                SELECT n, h, ci, ci * 2 + (hashint8(n + 6)::bigint & 2147483647) %% 2 + 1 AS pi,
                       (ARRAY[1,1,1,1,1,1,1,2,2,3])[(hashint8(n + 2)::bigint & 2147483647) %% 10 + 1] AS qty
                FROM (
                    SELECT n, h, (ARRAY[{", ".join(str(codes.index(x.county)) for x in hosts)}])[h + 1] AS ci
                    FROM (SELECT n, (((hashint8(n)::bigint & 2147483647) %% 10000) * ((hashint8(n)::bigint & 2147483647) %% 10000)) / {10000 * 10000 // nh} AS h
                          FROM generate_series(0, %(last)s) AS n) a
                ) b
            ) c""", {"slug": campaign.slug, "last": rows - 1})
        cur.execute("CREATE UNIQUE INDEX ON orders (event_id)")
        cur.execute("CREATE INDEX ON orders (campaign, occurred_at)")
        cur.execute("VACUUM ANALYZE orders")
    load_s = time.perf_counter() - started
    full_sql = """
        SELECT host, sum(CASE WHEN type = 'order.paid' THEN amount_fen ELSE -amount_fen END) AS net,
               sum(amount_fen) FILTER (WHERE type = 'order.paid'), sum(amount_fen) FILTER (WHERE type = 'order.refunded'),
               count(*) FILTER (WHERE type = 'order.paid'), count(*) FILTER (WHERE type = 'order.refunded'),
               sum(CASE WHEN type = 'order.paid' THEN quantity ELSE -quantity END),
               count(DISTINCT buyer) FILTER (WHERE type = 'order.paid'), max(occurred_at)
        FROM orders WHERE campaign = %(slug)s AND occurred_at >= %(start)s AND occurred_at < %(end)s
        GROUP BY host ORDER BY net DESC LIMIT 10"""
    sums_sql = """
        SELECT host, sum(CASE WHEN type = 'order.paid' THEN amount_fen ELSE -amount_fen END) AS net,
               count(*) FILTER (WHERE type = 'order.paid')
        FROM orders WHERE campaign = %(slug)s AND occurred_at >= %(start)s AND occurred_at < %(end)s
        GROUP BY host ORDER BY net DESC LIMIT 10"""
    params = {"slug": campaign.slug, "start": campaign.starts_at, "end": campaign.ends_at}
    full_s, sums_s = [], []
    with conn.cursor() as cur:
        cur.execute(sums_sql, params)  # warm the cache
        cur.fetchall()
        for _ in range(run.mode.runs):
            started = time.perf_counter()
            cur.execute(full_sql, params)
            cur.fetchall()
            full_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            cur.execute(sums_sql, params)
            cur.fetchall()
            sums_s.append(time.perf_counter() - started)
    conn.close()
    label = _size_label(rows)
    run.add("6", f"top ten, ours (sales_daily pre-aggregate), {label} events", "s", ours_top_s, limit=full_s,
            limit_name="peer: PostgreSQL row per order + GROUP BY, same columns")
    run.add("6", f"top ten, peer PostgreSQL same columns (incl. distinct buyers), {label} orders", "s", full_s,
            limit=ours_top_s, limit_name="ours")
    run.add("6", f"top ten, peer PostgreSQL sums only (net GMV, orders), {label} orders", "s", sums_s,
            limit=ours_top_s, limit_name="ours")
    run.details["peer"] = {"rows": rows, "load_s": load_s, "full_s": full_s, "sums_s": sums_s,
                           "ours_top10_s": ours_top_s, "ours_job_s": ours_job_s}


# ============================================================================================

def execute(mode_name: str = "default", *, services: infra.Services | None = None, out_dir: Path | None = None,
            sections: tuple[str, ...] = SECTIONS, runs: int | None = None) -> tuple[dict, Path, Path]:
    """Run the benchmark; returns (report, json_path, markdown_path)."""
    logging.getLogger("kafka").setLevel(logging.ERROR)
    mode = MODES[mode_name]
    if runs:
        from dataclasses import replace

        mode = replace(mode, runs=runs)
    started = time.perf_counter()
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    owned = services is None
    if owned:
        _say("starting Kafka, ClickHouse and PostgreSQL")
        services = infra.Services.start()
    run = Run(mode, services)
    run.selected = set(sections)  # type: ignore[attr-defined]
    try:
        machine = infra.machine_info(services)
        _say(f"mode {mode.name}, run {run.suffix}, sections {', '.join(sections)}")
        for name, fn in (("http", bench_http), ("consumer", bench_consumer), ("freshness", bench_freshness),
                         ("ranking", bench_ranking), ("memory", bench_memory), ("connectors", bench_connectors),
                         ("cluster", bench_cluster)):
            wanted = name in sections or (name == "http" and "batch" in sections) or \
                (name == "ranking" and "peer" in sections)
            if wanted:
                _say(f"section {name}")
                section_started = time.perf_counter()
                fn(run)
                run.details.setdefault("section_seconds", {})[name] = round(time.perf_counter() - section_started, 1)
    finally:
        run.close()
        if owned:
            services.close()
    report = {
        "mode": mode.name, "runs": mode.runs, "started_at": started_at,
        "duration_s": round(time.perf_counter() - started, 1), "machine": machine,
        "sizes": {k: v for k, v in mode.__dict__.items() if k not in ("name", "runs")},
        "figures": figures_as_dicts(run.figures), "details": run.details,
    }
    json_path, md_path = write(report, out_dir or Path(__file__).resolve().parent / "results")
    return report, json_path, md_path
