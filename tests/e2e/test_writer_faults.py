"""Issue 11: a writer that dies is restarted and /healthz says so meanwhile; a writer that stalls past
its poll interval and loses its partitions to another writer stores nothing twice (real Kafka and
ClickHouse, the interleaving forced); every background worker of `liveboard run` reports, and the errors
they wait out are shown."""
from __future__ import annotations

import threading
import time

import pytest
import requests

from consumers.sales_writer import SalesWriter
from liveboard.supervisor import Component, Supervisor
from liveboard.wiring import BackgroundWorkers, build_writer
from tests.e2e.conftest import build_stack
from tests.e2e.organizer.conftest import make_org
from tests.support import order_event

pytestmark = pytest.mark.e2e


def _healthz(stack) -> tuple[int, dict]:
    response = requests.get(f"{stack.base_url}/healthz", timeout=10)
    return response.status_code, response.json()


def test_a_crashed_writer_is_restarted_and_healthz_says_so_in_between(tmp_path, request):
    stack = build_stack("embedded", tmp_path, request, heartbeat_seconds=0.2)
    try:
        assert _healthz(stack)[0] == 503  # no writer has ever run here
        writer = build_writer(stack.settings)
        runs = {"count": 0}
        crashed, restart = threading.Event(), threading.Event()

        def run_dies_once(stop: threading.Event) -> None:
            runs["count"] += 1
            if runs["count"] == 1:
                raise RuntimeError("injected: the writer thread dies")
            writer.run(stop)

        def held_backoff(stop: threading.Event, seconds: float) -> bool:  # the test decides when it restarts
            crashed.set()
            restart.wait(60)
            return stop.is_set()

        supervisor = Supervisor(stack.sessions, beat_seconds=0.2, wait=held_backoff)
        supervisor.add(Component("writer", run_dies_once, writer.figures, SalesWriter.summary))
        supervisor.start()
        try:
            assert crashed.wait(30)
            status, body = _healthz(stack)
            writer_health = body["components"]["writer"]
            assert (status, body["problems"], writer_health["status"], writer_health["restarts"]) == (
                503, ["writer_down"], "restarting", 1)
            assert writer_health["last_error"] == "RuntimeError: injected: the writer thread dies"
            restart.set()
            deadline = time.monotonic() + 30
            while _healthz(stack)[0] != 200:
                assert time.monotonic() < deadline, _healthz(stack)
                time.sleep(0.1)
            status, body = _healthz(stack)
            assert body["components"]["writer"]["status"] == "running" and body["components"]["writer"]["restarts"] == 1
            # and it works: an event posted now is stored by the restarted writer
            assert stack.sender.post(order_event(campaign="restart", host="H1", enterprise="E1",
                                                 amount_fen=4_321)).status_code == 202
            deadline = time.monotonic() + 30
            while stack.stored_events() < 1:
                assert time.monotonic() < deadline
                time.sleep(0.1)
            metrics = requests.get(f"{stack.base_url}/metrics", timeout=10).text
            assert 'liveboard_component_restarts{component="writer"} 1.0' in metrics
            assert 'liveboard_component_up{component="writer"} 1.0' in metrics
        finally:
            supervisor.shutdown()
    finally:
        stack.close()


def test_a_stalled_writer_that_lost_its_partitions_stores_nothing_twice(tmp_path, request):
    """Writer A looks its batch up, then stalls past its poll interval; writer B takes the partitions,
    stores everything and commits; A wakes up: it must drop its batch, not insert it a second time."""
    stack = build_stack("scale", tmp_path, request, consumer_max_poll_interval_ms=8_000,
                        consumer_session_timeout_ms=6_000)
    try:
        events = [order_event(campaign="rebalance", host=f"H{n % 7}", enterprise="E1", amount_fen=100 + n,
                              order_id=f"R{n}") for n in range(300)]
        assert {r.status_code for r in stack.sender.post_batches(events, batch_size=100)} == {202}
        stalled, wake = threading.Event(), threading.Event()

        def stall_once(_records) -> None:
            if not stalled.is_set():
                stalled.set()
                wake.wait(120)

        a = build_writer(stack.settings, after_lookup=stall_once)
        a_outcome = {}

        def a_first_batch() -> None:  # until A has joined the group and fetched something
            deadline = time.monotonic() + 120
            while "first" not in a_outcome and time.monotonic() < deadline:
                outcome = a.run_once()
                if outcome.consumed:
                    a_outcome["first"] = outcome

        a_thread = threading.Thread(target=a_first_batch, daemon=True)
        a_thread.start()
        assert stalled.wait(60)

        b = build_writer(stack.settings)
        deadline = time.monotonic() + 120
        while stack.stored_events() < 300:  # B gets the partitions once A's poll interval has run out
            assert time.monotonic() < deadline, f"B stored {stack.stored_events()}"
            b.run_once()
        b.run_once()  # commits what it stored

        wake.set()
        a_thread.join(60)
        assert a_outcome["first"].abandoned and a_outcome["first"].inserted == 0
        assert a.stats.abandoned_batches == 1
        for _ in range(3):  # A goes on normally: nothing left to store
            assert a.run_once().inserted == 0
        (rows,) = stack.store.query("SELECT count() FROM {db}.sales_events")[0]  # physical rows, not merged
        assert rows == 300
        totals = stack.reconcile()
        assert totals["matches"] and totals["aggregate"]["rebalance"]["paid_fen"] == sum(e["amount_fen"] for e in events)
        a.close()
        b.close()
    finally:
        stack.close()


def test_a_writer_left_between_generations_by_kafka_python_finishes_joining_and_stores(tmp_path, request):
    """kafka-python 3.0.12 once left the writer's consumer mid-rebalance with nothing to finish it
    (state REBALANCING, need_rejoin() False) while poll() went on handing out records: every batch was
    dropped as not owned, for good (the bench's freshness probe in CI). That state is set here on a
    real consumer; the writer must put such records back, finish the join, and store each once."""
    from kafka.coordinator.base import MemberState

    stack = build_stack("scale", tmp_path, request)
    try:
        first = [order_event(campaign="limbo", host="H1", enterprise="E1", amount_fen=100 + n, order_id=f"L{n}")
                 for n in range(5)]
        assert {r.status_code for r in stack.sender.post_batches(first, batch_size=5)} == {202}
        writer = build_writer(stack.settings)
        for _ in range(200):  # joins the group and stores the first five
            writer.run_once()
            if stack.stored_events() == 5:
                break
        assert stack.stored_events() == 5
        coordinator = writer.consumer._inner._consumer._coordinator
        for _ in range(200):  # the group settled: joined, no rejoin asked for (a busy broker may ask again)
            if coordinator.generation_if_stable() is not None and not coordinator.need_rejoin():
                break
            writer.run_once()
        joined = coordinator.generation_if_stable().generation_id
        with coordinator._lock:  # the state seen: a join begun, none pending
            coordinator.state = MemberState.REBALANCING
            coordinator.rejoining = True
            coordinator.rejoin_needed = False
        assert not coordinator.need_rejoin()

        rest = [order_event(campaign="limbo", host="H2", enterprise="E1", amount_fen=200 + n, order_id=f"M{n}")
                for n in range(7)]
        assert {r.status_code for r in stack.sender.post_batches(rest, batch_size=7)} == {202}
        for _ in range(200):
            writer.run_once()
            if stack.stored_events() == 12:
                break
        assert stack.stored_events() == 12
        assert writer.stats.abandoned_batches == 0  # put back before any look-up, not fetched and dropped
        assert coordinator.generation_if_stable().generation_id > joined  # it joined again
        totals = stack.reconcile()
        assert totals["matches"]
        assert totals["aggregate"]["limbo"]["paid_fen"] == sum(e["amount_fen"] for e in first + rest)
        writer.close()
    finally:
        stack.close()


def test_liveboard_run_reports_every_background_worker_and_the_errors_they_wait_out(tmp_path, request):
    """The writer, the scheduler and the connector worker of `liveboard run` each report; an error
    a worker handles itself (here the connector worker's raw topic failing once) is not a crash, but
    it is shown with its time in /healthz and on the console's overview, never only in a log."""
    stack = build_stack("embedded", tmp_path, request, heartbeat_seconds=0.2)
    runtime = stack.app.extensions["liveboard"]
    workers = BackgroundWorkers(runtime).start()
    try:
        deadline = time.monotonic() + 60
        while True:
            status, body = _healthz(stack)
            states = {name: c["status"] for name, c in body["components"].items()}
            if states == {"writer": "running", "scheduler": "running", "connector": "running"}:
                break
            assert time.monotonic() < deadline, body
            time.sleep(0.1)
        assert status == 200

        worker = workers.connector_worker
        assert worker is not None
        step, failed = worker._step, threading.Event()

        def fails_once(*args, **kwargs):
            if not failed.is_set():
                failed.set()
                raise RuntimeError("injected: the raw topic is unreachable")
            return step(*args, **kwargs)

        worker._step = fails_once  # type: ignore[method-assign]
        assert failed.wait(30)
        deadline = time.monotonic() + 30
        while not _healthz(stack)[1]["components"]["connector"]["last_error"]:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        connector = _healthz(stack)[1]["components"]["connector"]
        assert (connector["status"], connector["restarts"], connector["last_error"]) == (
            "running", 0, "RuntimeError: injected: the raw topic is unreachable")
        assert connector["last_error_at"] is not None

        page = make_org(stack).console("viewer-user").get(f"{stack.base_url}/console/", timeout=30).text
        assert "平台对接" in page and "injected: the raw topic is unreachable" in page
    finally:
        workers.shutdown()
        stack.close()
