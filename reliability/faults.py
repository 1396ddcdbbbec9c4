"""The fault run: a steady stream of signed webhooks while the deployment is hurt on purpose.

Scale-out deployment on real services: `liveboard serve` (gunicorn, 2 workers) → Kafka →
two `liveboard consume` processes → ClickHouse; PostgreSQL config store. While the stream runs:
  - kill -9 a consumer `consumer_kills` times (a new one starts at once),
  - restart ClickHouse (the writers wait it out),
  - restart the Kafka broker (the API answers 503; senders retry),
  - kill -9 an API worker while requests are in flight (gunicorn starts another).
Then: every event that got a 202 is stored exactly once (counts and fen sums exact), nothing that
was refused is stored, raw rows equal the pre-aggregate, and the published boards equal an
independent calculation. The report prints sent / accepted / stored / lost / duplicated.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench import workload
from bench.infra import (
    REPO,
    Children,
    Services,
    create_pg_database,
    free_port,
    new_suffix,
    scale_settings,
    settings_env,
    wait_http,
    worker_pids,
)
from configstore.db import make_engine, make_sessionmaker
from operations.migrations import migrate_all
from reliability.checks import held_refunds, stored_count, stored_rows, wait_stored
from reliability.oracle import independent_board, net_fen, settle_refunds
from reliability.traffic import Batch, Ledger, PacedSenders


@dataclass
class FaultPlan:
    events: int = 100_000
    rate: float = 1500.0  # events/s offered
    batch_size: int = 50
    consumer_kills: int = 5
    invalid_every: int = 97  # one event in this many has a bad county (rejected as an item)
    forged_every: int = 151  # one batch in this many is signed with a wrong secret (refused whole)
    seed: int = 8


@dataclass
class FaultReport:
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    unresolved: int = 0
    stored: int = 0  # accepted and stored: as sales, or held (a refund waiting for its order)
    held: int = 0
    stored_rows: int = 0
    lost: int = 0
    duplicated: int = 0
    refused_but_stored: int = 0
    accepted_net_fen: int = 0
    stored_net_fen: int = 0
    preaggregate_matches_raw: bool = False
    boards_match: bool = False
    server_errors: dict = field(default_factory=dict)
    requests: dict = field(default_factory=dict)
    faults: list = field(default_factory=list)
    seconds: float = 0.0
    tag: str = "faults"  # the prefix of the printed lines

    @property
    def ok(self) -> bool:
        return (self.lost == 0 and self.duplicated == 0 and self.refused_but_stored == 0 and self.unresolved == 0
                and self.stored == self.accepted and self.accepted_net_fen == self.stored_net_fen
                and self.preaggregate_matches_raw and self.boards_match and not self.server_errors)

    def lines(self) -> list[str]:
        return [
            f"[{self.tag}] events sent {self.sent}, accepted {self.accepted}, rejected {self.rejected} (by design), "
            f"unresolved {self.unresolved}",
            f"[{self.tag}] stored {self.stored} (rows {self.stored_rows}; refunds held for their order {self.held}), "
            f"lost {self.lost}, duplicated {self.duplicated}, refused but stored {self.refused_but_stored}",
            f"[{self.tag}] net fen accepted {self.accepted_net_fen}, stored {self.stored_net_fen}; "
            f"pre-aggregate = raw: {self.preaggregate_matches_raw}; boards = independent: {self.boards_match}",
            f"[{self.tag}] HTTP attempts {dict(sorted(self.requests.items()))}; undocumented 5xx {self.server_errors or 0}",
            f"[{self.tag}] faults injected: {', '.join(self.faults)}; {self.seconds:.0f} s",
        ]


def run_faults(services: Services, work_dir: Path, plan: FaultPlan, echo=print) -> FaultReport:
    began = time.monotonic()
    suffix = new_suffix()
    config_url = create_pg_database(services, f"faults_{suffix}")
    settings = scale_settings(services, suffix=suffix, tag="faults", config_db_url=config_url,
                              data_dir=work_dir / "data", consumer_batch_rows=2000, consumer_batch_ms=300,
                              secret_key="faults-only", webhook_rate_limit="")
    migrate_all(settings)
    sessions = make_sessionmaker(make_engine(settings.config_db_url))
    slug = f"faults-{suffix}"
    described = workload.setup_campaign(sessions, slug)
    source = f"faults-{suffix}"
    secret = workload.ensure_source(sessions, source, settings)
    children = Children(work_dir / "logs")
    report = FaultReport()
    try:
        port = free_port()
        api = children.liveboard("api", settings, "serve", "--port", str(port), "--workers", "2", "--threads", "8")
        wait_http(f"http://127.0.0.1:{port}/livez", api, what="liveboard serve")
        consumers = [children.liveboard(f"consumer-{n}", settings, "consume") for n in range(2)]
        ledger = Ledger()
        senders = PacedSenders(f"http://127.0.0.1:{port}/v1/webhooks/{source}", secret, ledger,
                               rate=plan.rate).start()
        injector = _FaultInjector(plan, senders, services, children, settings, consumers, api, report.faults, echo,
                                  workload.EventFactory(slug, described["hosts"], described["enterprises"],
                                                        seed=plan.seed + 1, tag="inflight"))
        injector.start()
        feed(senders, plan, slug, described, echo)
        senders.finish()
        injector.join()
        echo(f"[faults] stream done after {time.monotonic() - began:.0f} s; waiting for the writers")
        wait_stored(services, settings, len(ledger.accepted), echo)
        for consumer in injector.consumers:
            children.stop(consumer)
        verify(report, ledger, services, settings, children, port, slug, described, echo)
        children.stop(api)
    finally:
        children.close()
    report.seconds = time.monotonic() - began
    for line in report.lines():
        echo(line)
    return report


def feed(senders: PacedSenders, plan, slug: str, described: dict, echo, tag: str = "faults") -> None:
    """Queue the plan's events (`events`, `batch_size`, `seed`): one in `invalid_every` invalid, one
    batch in `forged_every` signed with a wrong secret."""
    factory = workload.EventFactory(slug, described["hosts"], described["enterprises"], seed=plan.seed, tag="f")
    sent, batch_no, last_echo = 0, 0, time.monotonic()
    while sent < plan.events:
        events = factory.events(min(plan.batch_size, plan.events - sent))
        for n, event in enumerate(events):
            if (sent + n) % plan.invalid_every == plan.invalid_every - 1:
                event["county"] = "43310"  # five digits: fails the schema
        batch_no += 1
        senders.put(Batch(events, forge_signature=batch_no % plan.forged_every == 0))
        sent += len(events)
        if time.monotonic() - last_echo > 10:
            echo(f"[{tag}] {sent}/{plan.events} events queued, {senders.ledger.settled} settled")
            last_echo = time.monotonic()


def fire_when_due(schedule, senders: PacedSenders, events: int, log: list) -> BaseException | None:
    """Each (share, fault) of `schedule` once the senders have taken that share of `events`; a fault
    that fails ends the schedule, noted in `log` as FAILED (and returned)."""
    try:
        for share, fault in schedule:
            while senders.posted_events < share * events:
                time.sleep(0.05)
            fault()
    except BaseException as exc:  # surfaced by the report, never swallowed
        log.append(f"FAILED: {exc!r}")
        return exc
    return None


class _FaultInjector(threading.Thread):
    """Fires each fault when the stream reaches its share of the events."""

    def __init__(self, plan, senders, services, children, settings, consumers, api, log, echo, factory):
        super().__init__(daemon=True, name="faults")
        self.plan, self.senders, self.services, self.children = plan, senders, services, children
        self.settings, self.consumers, self.api, self.log, self.echo = settings, consumers, api, log, echo
        self.factory = factory  # for the batches in flight when an API worker dies
        self.rng = random.Random(plan.seed)
        self.error: BaseException | None = None
        self._stored_at_last_kill = 0
        kills = plan.consumer_kills
        self.schedule = [(0.08 + 0.07 * k, self.kill_consumer) for k in range(kills)]
        self.schedule += [(0.50, self.restart_clickhouse), (0.65, self.restart_kafka), (0.80, self.kill_api_worker)]

    def run(self) -> None:
        self.error = fire_when_due(self.schedule, self.senders, self.plan.events, self.log)

    def _note(self, text: str) -> None:
        self.log.append(text)
        self.echo(f"[faults] {text} at {self.senders.posted_events} events")

    def kill_consumer(self) -> None:
        # Each kill lands on a writer that has been writing since the last one (not on one still
        # joining its group), so every kill can cut an insert or a commit short.
        deadline = time.monotonic() + 30
        while stored_count(self.services, self.settings) <= self._stored_at_last_kill and time.monotonic() < deadline:
            time.sleep(0.1)
        n = self.rng.randrange(len(self.consumers))
        os.killpg(self.consumers[n].pid, signal.SIGKILL)
        self.consumers[n].wait()
        self._stored_at_last_kill = stored_count(self.services, self.settings)
        self.consumers[n] = self.children.liveboard(f"consumer-{n}", self.settings, "consume")
        self._note(f"kill -9 consumer {n} (stored {self._stored_at_last_kill})")

    def restart_clickhouse(self) -> None:
        self.services.clickhouse.restart()
        self._note("ClickHouse restarted")

    def restart_kafka(self) -> None:
        self.services.kafka.restart()
        self._note("Kafka broker restarted")

    def kill_api_worker(self) -> None:
        # Six large batches go out at once, so both workers have requests in flight at the kill;
        # their senders see the connection cut and retry, as a platform would.
        batches = [Batch(self.factory.events(500)) for _ in range(6)]
        for batch in batches:
            self.senders.register(batch)
        in_flight = [threading.Thread(target=self.senders.send_now, args=(batch,)) for batch in batches]
        for thread in in_flight:
            thread.start()
        time.sleep(0.03)
        workers = worker_pids(self.api)
        os.kill(self.rng.choice(workers), signal.SIGKILL)
        self._note(f"kill -9 API worker (of {len(workers)}) with 6 batches in flight")
        for thread in in_flight:
            thread.join()


def verify(report: FaultReport, ledger: Ledger, services, settings, children, port, slug, described, echo) -> None:
    """Account for every event the ledger sent against what the store holds, and compare the
    published boards (through the API on `port`) with the independent calculation."""
    rows = stored_rows(services, settings)
    stored_ids = [r[0] for r in rows]
    distinct = set(stored_ids)
    # a refund whose order was refused (or never sent) is held, not stored as a sale
    accepted_events, expected_held = settle_refunds(ledger.events[i] for i in ledger.accepted)
    held = held_refunds(services, settings)
    report.sent = len(ledger.events)
    report.accepted = len(ledger.accepted)
    report.rejected = len(ledger.rejected)
    report.unresolved = len(ledger.unresolved)
    report.held = len(held)
    report.stored = len((distinct | held) & ledger.accepted)
    report.stored_rows = len(stored_ids)
    report.lost = len(ledger.accepted - distinct - held) + len({e["event_id"] for e in expected_held} ^ held)
    report.duplicated = len(stored_ids) - len(distinct)
    report.refused_but_stored = len((distinct | held) & set(ledger.rejected))
    report.accepted_net_fen = net_fen(accepted_events)
    report.stored_net_fen = sum(fen if kind == "order.paid" else -fen for _, kind, fen in rows)
    report.requests = dict(ledger.requests)
    report.server_errors = ledger.server_errors()

    stats = json.loads(_cli(children, settings, "stats", "--json").strip().splitlines()[-1])
    aggregate = stats["aggregate"].get(slug, {})
    report.preaggregate_matches_raw = (stats["matches"] and aggregate.get("net_gmv_fen") == report.accepted_net_fen
                                       and aggregate.get("paid_orders", 0) + aggregate.get("refunds", 0)
                                       == len(accepted_events))
    _cli(children, settings, "rank")
    board = requests.get(f"http://127.0.0.1:{port}/v1/campaigns/{slug}/boards", params={"period": "campaign"},
                         timeout=30).json()
    by_account = {h.account_id: h.id for h in described["hosts"]}
    enterprise_ids = {e.id for e in described["enterprises"]}
    expected_hosts = independent_board(accepted_events, resolve=lambda e: by_account.get(e["host"]))
    expected_enterprises = independent_board(
        accepted_events, resolve=lambda e: e["enterprise"] if e["enterprise"] in enterprise_ids else None)
    got_hosts = [(e["rank"], e["id"], e["net_gmv_fen"]) for e in board["hosts"]]
    got_enterprises = [(e["rank"], e["id"], e["net_gmv_fen"]) for e in board["enterprises"]]
    report.boards_match = got_hosts == expected_hosts and got_enterprises == expected_enterprises
    if not report.boards_match:
        echo(f"[{report.tag}] boards differ:\n  hosts got {got_hosts}\n  expected  {expected_hosts}\n"
             f"  enterprises got {got_enterprises}\n  expected        {expected_enterprises}")


def _cli(children: Children, settings, *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "liveboard.cli", *args], env=settings_env(settings), cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"liveboard {' '.join(args)} failed: {out.stdout[-1000:]}{out.stderr[-2000:]}")
    return out.stdout
