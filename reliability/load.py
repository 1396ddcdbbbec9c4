"""The sustained load run: minutes of signed webhooks near the benchmark's limit, with hosts reading
the boards at the same time, on the scale-out deployment (`liveboard serve` with 2 workers, two
`liveboard consume`, the ranking job).

Checks: no 5xx other than the documented 503 (event log unavailable), every accepted event stored
once, and memory that does not grow: the resident size of each process in the last third of the
run against the middle third (after warm-up) stays under `max_growth`.
"""
from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench import workload
from bench.infra import (
    Children,
    Services,
    create_pg_database,
    free_port,
    new_suffix,
    rss_mib,
    scale_settings,
    wait_http,
    worker_pids,
)
from configstore.db import make_engine, make_sessionmaker
from operations.migrations import migrate_all
from reliability.checks import held_refunds, stored_rows, wait_stored
from reliability.traffic import Batch, Ledger, PacedSenders


@dataclass
class LoadPlan:
    seconds: float = 300.0
    rate: float | None = None  # events/s offered; None: share_of_limit × the limit probed first
    share_of_limit: float = 0.9
    probe_seconds: float = 30.0  # offered probe_rate, to measure what the deployment carries
    probe_rate: float = 20_000.0
    batch_size: int = 100
    board_readers: int = 4  # hosts polling the boards, one request a second each... times 5
    max_growth: float = 1.10  # last-third RSS / middle-third RSS, per process
    seed: int = 11


@dataclass
class LoadReport:
    seconds: float = 0.0
    offered_rate: float = 0.0
    achieved_rate: float = 0.0
    limit_rate: float = 0.0  # carried end to end at saturation, measured in this run (0: not probed)
    accepted: int = 0
    stored: int = 0
    lost: int = 0
    duplicated: int = 0
    requests: dict = field(default_factory=dict)
    server_errors: dict = field(default_factory=dict)
    board_reads: int = 0
    board_errors: dict = field(default_factory=dict)
    rss_mib: dict = field(default_factory=dict)  # process -> (middle third median, last third median)
    max_growth: float = 1.10

    @property
    def growth(self) -> dict[str, float]:
        return {name: round(last / middle, 3) for name, (middle, last) in self.rss_mib.items() if middle}

    @property
    def ok(self) -> bool:
        return (self.lost == 0 and self.duplicated == 0 and self.stored == self.accepted and self.accepted > 0
                and not self.server_errors and not self.board_errors
                and all(g <= self.max_growth for g in self.growth.values()))

    def lines(self) -> list[str]:
        limit = (f"; {self.achieved_rate / self.limit_rate:.2f} of the {self.limit_rate:.0f} events/s "
                 f"carried at saturation in this run" if self.limit_rate else "")
        return [
            f"[load] {self.seconds:.0f} s at {self.achieved_rate:.0f} events/s (offered {self.offered_rate:.0f}{limit}); "
            f"accepted {self.accepted}, stored {self.stored}, lost {self.lost}, duplicated {self.duplicated}",
            f"[load] webhook attempts {dict(sorted(self.requests.items()))}; undocumented 5xx {self.server_errors or 0}",
            f"[load] board reads {self.board_reads}, errors {self.board_errors or 0}",
            "[load] RSS MiB middle→last third (growth, limit " + f"{self.max_growth:.2f}): " + ", ".join(
                f"{name} {m:.0f}→{l:.0f} ({self.growth.get(name, 0):.2f})" for name, (m, l) in self.rss_mib.items()),
        ]


def run_load(services: Services, work_dir: Path, plan: LoadPlan, echo=print) -> LoadReport:
    suffix = new_suffix()
    config_url = create_pg_database(services, f"load_{suffix}")
    settings = scale_settings(services, suffix=suffix, tag="load", config_db_url=config_url,
                              data_dir=work_dir / "data", secret_key="load-only", ranking_interval_seconds=2.0)
    migrate_all(settings)
    sessions = make_sessionmaker(make_engine(settings.config_db_url))
    slug = f"load-{suffix}"
    described = workload.setup_campaign(sessions, slug)
    secret = workload.ensure_source(sessions, "load", settings)
    children = Children(work_dir / "logs")
    report = LoadReport(max_growth=plan.max_growth)
    try:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        api = children.liveboard("api", settings, "serve", "--port", str(port), "--workers", "2", "--threads", "8")
        wait_http(f"{base}/livez", api, what="liveboard serve")
        consumers = [children.liveboard(f"consumer-{n}", settings, "consume") for n in range(2)]
        children.liveboard("scheduler", settings, "schedule")
        ledger = Ledger()
        senders = PacedSenders(f"{base}/v1/webhooks/load", secret, ledger, rate=plan.rate or plan.probe_rate).start()
        stop = threading.Event()
        readers = _BoardReaders(f"{base}/v1/campaigns/{slug}/boards", plan.board_readers, stop)
        factory = workload.EventFactory(slug, described["hosts"], described["enterprises"], seed=plan.seed, tag="l")
        if plan.rate is None:  # the limit, measured on this deployment now: what saturation carries
            before, began = len(ledger.accepted), time.monotonic()
            _feed(senders, factory, plan, plan.probe_seconds)
            report.limit_rate = (len(ledger.accepted) - before) / (time.monotonic() - began)
            senders.set_rate(plan.share_of_limit * report.limit_rate)
            echo(f"[load] probe: {report.limit_rate:.0f} events/s carried at saturation; "
                 f"sustaining {senders.rate:.0f} events/s")
        report.offered_rate = senders.rate
        samples: dict[str, list[tuple[float, float]]] = {}
        before, began = len(ledger.accepted), time.monotonic()

        def observe(elapsed: float) -> None:
            _sample(samples, elapsed, api, consumers)

        _feed(senders, factory, plan, plan.seconds, observe=observe, echo=lambda elapsed: echo(
            f"[load] {elapsed:.0f}/{plan.seconds:.0f} s, {len(ledger.accepted)} accepted, "
            f"RSS api {sum(rss_mib(p) for p in [api.pid, *worker_pids(api)]):.0f} MiB"))
        senders.finish()
        report.seconds = time.monotonic() - began
        stop.set()
        readers.join()
        wait_stored(services, settings, len(ledger.accepted), echo)
        rows = stored_rows(services, settings)
        stored_ids = {r[0] for r in rows} | held_refunds(services, settings)  # refunds held for their order
        report.accepted = len(ledger.accepted)
        report.achieved_rate = (report.accepted - before) / report.seconds if report.seconds else 0.0
        report.stored = len(stored_ids & ledger.accepted)
        report.lost = len(ledger.accepted - stored_ids)
        report.duplicated = len(rows) - len({r[0] for r in rows})
        report.requests = dict(ledger.requests)
        report.server_errors = ledger.server_errors()
        report.board_reads, report.board_errors = readers.reads, dict(readers.errors)
        report.rss_mib = _thirds(samples)
    finally:
        children.close()
    for line in report.lines():
        echo(line)
    return report


def _feed(senders: PacedSenders, factory, plan: LoadPlan, seconds: float, observe=None, echo=None) -> None:
    """Keep the senders' queue full for `seconds`; `observe` every 2 s, `echo` every 30 s."""
    began = time.monotonic()
    next_sample, next_echo = began, began + 30
    while (elapsed := time.monotonic() - began) < seconds:
        senders.put(Batch(factory.events(plan.batch_size)))
        now = time.monotonic()
        if observe is not None and now >= next_sample:
            observe(elapsed)
            next_sample = now + 2.0
        if echo is not None and now >= next_echo:
            echo(elapsed)
            next_echo = now + 30


def _sample(samples: dict, elapsed: float, api, consumers) -> None:
    """RSS per role: the API (master and workers together, as workers are replaced) and each consumer."""
    values = {"api": sum(rss_mib(pid) for pid in [api.pid, *worker_pids(api)])}
    values.update({f"consumer-{n}": rss_mib(c.pid) for n, c in enumerate(consumers)})
    for name, value in values.items():
        if value:
            samples.setdefault(name, []).append((elapsed, value))


def _thirds(samples: dict) -> dict[str, tuple[float, float]]:
    out = {}
    for name, series in samples.items():
        n = len(series)
        if n < 6:
            continue
        middle = [v for _, v in series[n // 3: 2 * n // 3]]
        last = [v for _, v in series[2 * n // 3:]]
        out[name] = (statistics.median(middle), statistics.median(last))
    return out


class _BoardReaders:
    """Hosts polling the boards (5 requests a second each), counting anything but a 200/304."""

    def __init__(self, url: str, count: int, stop: threading.Event):
        self.url, self.stop = url, stop
        self.reads = 0
        self.errors: dict[str, int] = {}
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(count)]
        for thread in self._threads:
            thread.start()

    def _run(self) -> None:
        http = requests.Session()
        while not self.stop.wait(0.2):
            try:
                status = str(http.get(self.url, timeout=10).status_code)
            except requests.RequestException as exc:
                status = type(exc).__name__
            with self._lock:
                self.reads += 1
                if status not in ("200", "304"):
                    self.errors[status] = self.errors.get(status, 0) + 1

    def join(self) -> None:
        for thread in self._threads:
            thread.join()
