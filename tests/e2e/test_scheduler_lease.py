"""Two schedulers, one leader: the lease in the config store (PostgreSQL, and SQLite alike), the
takeover within 4/3 of the lease after the leader dies, slots that never run twice, a stale leader
fenced off by the epoch, and the leader in /healthz. Time moves by the test's clock."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from backend.ui import FILTERS
from configstore import leases
from configstore.db import make_engine, make_sessionmaker
from configstore.heartbeats import Beat
from configstore.migrate import upgrade
from scheduler.jobs import SKIPPED, TRIES_PER_LEASE, Schedule
from services.health import leader, lease_stalled
from settings import Settings
from tests.clocks import ManualClock
from tests.e2e.conftest import REPO

pytestmark = pytest.mark.e2e

LEASE_S = 15.0


@dataclass
class _Runtime:
    settings: Settings
    sessions: Any
    clock: ManualClock


class _Scheduler:
    """Stands in for the leader's APScheduler: records whether it runs."""

    def __init__(self) -> None:
        self.running = True

    def add_listener(self, *_args) -> None:
        return None

    def shutdown(self, wait: bool = True) -> None:
        self.running = False


@pytest.fixture(params=["postgresql", "sqlite"])
def runtime(request, tmp_path) -> _Runtime:
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_service").create_database("lease")
    else:
        url = f"sqlite:///{tmp_path / 'config.sqlite3'}"
    upgrade(url)
    return _Runtime(Settings(data_dir=tmp_path, scheduler_lease_seconds=LEASE_S),
                    make_sessionmaker(make_engine(url)), ManualClock())


def _schedule(runtime: _Runtime, holder: str) -> tuple[Schedule, list[_Scheduler]]:
    started: list[_Scheduler] = []

    def start(_runtime, background=True, fence=None, job=None):
        started.append(_Scheduler())
        return started[-1]
    return Schedule(runtime, holder=holder, start=start), started  # type: ignore[arg-type]


def test_one_leads_the_other_takes_over_within_the_bound_and_no_slot_runs_twice(runtime):
    a, a_started = _schedule(runtime, "a")
    b, b_started = _schedule(runtime, "b")
    ran: list[tuple[str, int]] = []

    def job(name: str):
        return lambda: ran.append((name, int(runtime.clock.time() // 5))) or "done"

    assert a.tick() and not b.tick()
    assert a.figures()["leader"] and a.figures()["lease_epoch"] == 1 and not b.figures()["leader"]
    assert len(a_started) == 1 and a_started[0].running and b_started == []
    a_rank, b_rank = a.fence("rankings", 5, job("a")), b.fence("rankings", 5, job("b"))
    assert a_rank() == "done" and a_rank() is SKIPPED  # the same 5-second slot again
    assert b_rank() is SKIPPED  # not the leader

    runtime.clock.advance(LEASE_S / 3)
    assert a.tick() and not b.tick()  # renewed, same epoch, the same scheduler keeps running
    assert len(a_started) == 1 and a.figures()["lease_epoch"] == 1
    assert a_rank() == "done"
    died_at = runtime.clock.time()  # a's last renewal: it dies right after (no more ticks)

    took_over_at = None
    while took_over_at is None:
        runtime.clock.advance(LEASE_S / TRIES_PER_LEASE)  # b's own rhythm as a standby
        if b.tick():
            took_over_at = runtime.clock.time()
    assert LEASE_S <= took_over_at - died_at <= LEASE_S * 7 / 6  # room for the first run within 4/3
    assert b.figures()["lease_epoch"] == 2 and len(b_started) == 1
    health = leader(runtime, [Beat("scheduler", "host-b-scheduler", runtime.clock.now(), runtime.clock.now(),
                                   "running", figures=b.figures())])
    assert health is not None and (health["holder"], health["epoch"], health["instance"]) == (
        "b", 2, "host-b-scheduler")

    assert b_rank() == "done"
    # a wakes up late, still believing it leads: its runs are fenced off by the epoch
    assert a.leading and a_rank() is SKIPPED
    assert not a.tick() and not a.leading and not a_started[0].running  # it steps down at its next tick
    runtime.clock.advance(5)
    assert a_rank() is SKIPPED and b_rank() == "done"

    slots = [slot for _, slot in ran]
    assert len(slots) == len(set(slots)) == 4
    assert [(epoch, holder) for _, epoch, holder, _ in leases.runs(runtime.sessions, "rankings")] == [
        (1, "a"), (1, "a"), (2, "b"), (2, "b")]


def test_a_clean_stop_hands_the_lease_over_at_once(runtime):
    a, _ = _schedule(runtime, "a")
    b, _ = _schedule(runtime, "b")
    stop = threading.Event()
    stop.set()
    a.run(stop)  # one tick (leads), then stops and lets the lease lapse now
    assert leases.runs(runtime.sessions, "rankings") == []
    assert b.tick() and b.figures()["lease_epoch"] == 2


def test_a_slot_is_claimed_once_whoever_races_for_it(runtime):
    held = leases.acquire(runtime.sessions, leases.SCHEDULER, "a", LEASE_S, runtime.clock.now())
    assert held is not None
    results: list[bool] = []
    barrier = threading.Barrier(6)

    def claim() -> None:
        barrier.wait()
        results.append(leases.claim_slot(runtime.sessions, held, "rankings", 42, runtime.clock.now()))
    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True]


def test_a_store_outage_keeps_the_leader_only_while_its_lease_surely_lasts(runtime):
    a, started = _schedule(runtime, "a")
    assert a.tick()
    broken = runtime.sessions
    runtime.sessions = _failing_sessions
    try:
        runtime.clock.advance(LEASE_S / 3)
        assert a.tick() and started[0].running  # the lease it holds has not lapsed yet
        runtime.clock.advance(LEASE_S)
        assert not a.tick() and not started[0].running  # it might have: stop running jobs
    finally:
        runtime.sessions = broken
    figures = a.figures()  # never silent: the heartbeat carries these to /healthz and the console
    assert figures["lease_errors"] == 2
    assert figures["last_error"] == "scheduler lease: OSError: config store unavailable"
    assert figures["last_error_at"] == runtime.clock.time()
    assert figures["lease_checked_at"] == runtime.clock.now().isoformat()


def _failing_sessions():
    raise OSError("config store unavailable")


def test_purge_forgets_old_slot_claims(runtime):
    held = leases.acquire(runtime.sessions, leases.SCHEDULER, "a", LEASE_S, runtime.clock.now())
    assert held is not None
    assert leases.claim_slot(runtime.sessions, held, "rankings", 1, runtime.clock.now())
    runtime.clock.advance(10)
    assert leases.claim_slot(runtime.sessions, held, "rankings", 3, runtime.clock.now())
    assert leases.purge_runs(runtime.sessions, runtime.clock.now() - timedelta(seconds=5)) == 1
    assert [slot for slot, *_ in leases.runs(runtime.sessions, "rankings")] == [3]
    assert leases.current(runtime.sessions, leases.SCHEDULER).expires_at == (
        datetime.fromtimestamp(runtime.clock.time() - 10 + LEASE_S, timezone.utc))


def test_healthz_and_the_console_name_the_leader_and_a_stalled_lease_loop(runtime):
    a, _ = _schedule(runtime, "a")
    b, _ = _schedule(runtime, "b")
    assert a.tick() and not b.tick()
    html = _components(_scheduler_health(runtime, a, b))
    assert "主实例 host-a-scheduler（租约第 1 任）" in html and "租约线程停滞" not in html

    runtime.clock.advance(LEASE_S / 3)
    assert b.tick() is False  # b's loop goes on; a's hangs (its process still beats)
    runtime.clock.advance(LEASE_S * 2 / 3 + 1)  # a's last tick is more than a lease ago: so is its lease
    found = _scheduler_health(runtime, a, b)
    assert found["scheduler"]["lease_stalled"] == ["host-a-scheduler"] and found["scheduler"]["leader"] is None
    html = _components(found)
    assert "<b>暂无主实例</b>（等待备用实例接管）" in html and "租约线程停滞：host-a-scheduler" in html

    assert b.tick()  # b takes over
    html = _components(_scheduler_health(runtime, a, b))
    assert "主实例 host-b-scheduler（租约第 2 任）" in html


def _scheduler_health(runtime: _Runtime, *schedules: Schedule) -> dict:
    beats = [Beat("scheduler", f"host-{s.holder}-scheduler", runtime.clock.now(), runtime.clock.now(), "running",
                  figures=s.figures()) for s in schedules]
    return {"scheduler": {"status": "running", "instances": [], "restarts": 0, "last_error": "",
                          "last_error_at": None, "last_ranking_at": None, "last_ranking_seconds": None,
                          "leader": leader(runtime, beats), "lease_stalled": lease_stalled(runtime, beats)}}


def _components(found: dict) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(REPO / "backend" / "templates"), autoescape=True)
    env.filters.update(FILTERS)
    return " ".join(env.get_template("console/_components.html").render(health={"components": found}).split())
