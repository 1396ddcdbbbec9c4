"""APScheduler wiring: the ranking job when there is new data (and at least every
`ranking_interval_seconds`, default 5 s, for day changes and freezes), and with WeChat configured the
push jobs (rank changes -> outbox, outbox -> WeChat) every `push_interval_seconds`, and the
host-milestone job (scheduler/milestone_job.py) at the ranking interval.

New data: the leading `Schedule` watches the writers' committed position on the sales topic every
`ranking_poll_seconds` (one cheap read: Kafka's group offsets, or the SQLite log's). Writers commit
only after their insert, so a moved position means stored events the boards do not show yet: the
ranking job is run at once (never two at a time; a run started while data kept arriving is followed
by another as soon as it ends). Its slots are `ranking_poll_seconds` long, so such a run is not
refused as its interval's second.

Jobs read the runtime they are given (stores, WeChat client, clock), so a test can run the same
jobs against its own stack and clock. `Schedule` is the supervised component (liveboard/supervisor.py):
it runs the scheduler until stopped and keeps the figures its heartbeat reports.

Several `Schedule`s may run (one per `liveboard schedule` process): they elect one leader through
the "scheduler" lease in the config store (configstore/leases.py). Only the leader's APScheduler
runs; the leader renews every third of `scheduler_lease_seconds`, a standby tries every sixth and
starts its own when the leader's lapses: a dead leader's jobs resume within lease + lease/6, which
leaves the first run room inside the documented bound of 4/3 of the lease. Every job run claims its slot (job, floor(now / interval)) under the lease's
epoch first, so a slot runs at most once, and never on a leader that lost its lease."""
from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import uuid
from datetime import timedelta
from typing import Any, Callable

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from configstore import leases
from configstore.leases import Held
from configstore.ratelimit import ConfigStoreRateLimitStorage
from scheduler.connector_jobs import add_connector_jobs
from scheduler.milestone_job import add_milestone_job
from scheduler.push_job import add_push_jobs
from scheduler.ranking_job import publish_all
from services.runtime import Runtime

log = logging.getLogger(__name__)
RANKINGS = "rankings"
LEASE = leases.SCHEDULER
SKIPPED = object()  # a job run that did not happen: its slot ran already, or the lease was lost
KEEP_RUNS = timedelta(days=2)
RENEWALS_PER_LEASE = 3  # the leader renews every third of the lease
TRIES_PER_LEASE = 6  # a standby tries for it every sixth
Fence = Callable[[str, float, Callable[[], Any]], Callable[[], Any]]  # (job id, interval s, run) -> fenced run


class FencedJobs:
    """What the job registrations see of the scheduler: every interval job's function is run
    through `fence` (the slot claim), whoever registers it."""

    def __init__(self, scheduler: BaseScheduler, fence: Fence) -> None:
        self.scheduler, self.fence = scheduler, fence

    def add_job(self, func: Callable[..., Any], trigger: str, *, id: str, args: tuple = (),
                slot_seconds: float | None = None, **options: Any) -> Any:
        """`slot_seconds`: the slot a run claims, when shorter than the interval (a job also run on demand)."""
        interval = slot_seconds or (float(options.get("seconds", 0)) + 60.0 * float(options.get("minutes", 0))
                                    + 3600.0 * float(options.get("hours", 0)))
        if trigger != "interval" or interval <= 0:
            raise ValueError(f"job {id}: only interval jobs can be fenced by slot")
        return self.scheduler.add_job(self.fence(id, interval, functools.partial(func, *args)), trigger, id=id,
                                      **options)


def run_rankings(runtime: Runtime) -> list[dict]:
    """One ranking run now, by the runtime's clock."""
    return publish_all(runtime.sessions, runtime.store, runtime.clock.now())


def _unfenced(_job: str, _interval: float, run: Callable[[], Any]) -> Callable[[], Any]:
    return run


def start_scheduler(runtime: Runtime, background: bool = True, fence: Fence = _unfenced,
                    job: Callable[[], list[dict]] | None = None) -> BaseScheduler:
    """`job`: what the ranking job runs (default: run_rankings on this runtime)."""
    settings = runtime.settings
    scheduler = (BackgroundScheduler if background else BlockingScheduler)(timezone="Asia/Shanghai")
    jobs = FencedJobs(scheduler, fence)
    # max_instances=1 + coalesce: a slow run is never overlapped, missed runs collapse into one
    jobs.add_job(job or functools.partial(run_rankings, runtime), "interval",
                 seconds=settings.ranking_interval_seconds, slot_seconds=settings.ranking_poll_seconds or None,
                 id=RANKINGS, max_instances=1, coalesce=True, next_run_time=runtime.clock.now())
    add_push_jobs(jobs, runtime)
    add_milestone_job(jobs, runtime)  # host sales milestones -> one message each
    add_connector_jobs(jobs, runtime)  # platform connections: the pull backstop, pending-table purge
    # finished rate-limit windows (configstore/ratelimit.py) and old slot claims are dropped so the
    # tables stay small
    purge = ConfigStoreRateLimitStorage(context=lambda: (runtime.engine, runtime.clock)).purge_expired
    jobs.add_job(purge, "interval", minutes=10, id="rate-limit-purge", max_instances=1, coalesce=True)
    jobs.add_job(lambda: leases.purge_runs(runtime.sessions, runtime.clock.now() - KEEP_RUNS), "interval",
                 minutes=60, id="job-runs-purge", max_instances=1, coalesce=True)
    log.info("scheduler started: rankings every %.1fs", settings.ranking_interval_seconds)
    scheduler.start()
    return scheduler


def default_holder() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Schedule:
    """The scheduler as a supervised component, leading or standing by, with what its jobs did lately."""

    def __init__(self, runtime: Runtime, holder: str | None = None,
                 start: Callable[..., BaseScheduler] = start_scheduler) -> None:
        """`start(runtime, background=True, fence=...)` makes the APScheduler the leader runs."""
        self.runtime = runtime
        self._start = start
        self.holder = holder or default_holder()
        self.lease_seconds = runtime.settings.scheduler_lease_seconds
        self._held: Held | None = None
        self.scheduler: BaseScheduler | None = None  # the APScheduler, while leading
        self._lock = threading.Lock()
        self._figures: dict[str, Any] = {"ranking_runs": 0, "job_errors": 0, "last_ranking_at": None,
                                         "last_ranking_seconds": None, "last_job_error": "", "last_error_at": None,
                                         "leader": False, "lease_epoch": None, "led_since": None,
                                         "skipped_slots": 0, "holder": self.holder, "lease_errors": 0,
                                         "last_error": "", "lease_checked_at": None, "data_triggered_runs": 0}
        self._ranked_position: int | None = None  # the writers' position the last ranking run started at
        self._ranking = threading.Event()  # set from a data trigger until its ranking run has ended

    @property
    def leading(self) -> bool:
        return self._held is not None

    def run(self, stop: threading.Event) -> None:
        clock = self.runtime.clock
        poll = self.runtime.settings.ranking_poll_seconds
        try:
            while True:
                began = clock.monotonic()
                leading = self.tick()
                pause = self.lease_seconds / (RENEWALS_PER_LEASE if leading else TRIES_PER_LEASE)
                # a steady rhythm: the time a tick took (a slow config store) comes off the pause; the
                # leader looks for new data every `poll` seconds in between
                remaining = max(0.0, pause - (clock.monotonic() - began))
                steps = max(1, round(remaining / poll)) if leading and poll > 0 else 1
                for _ in range(steps):
                    if stop.wait(remaining / steps):
                        return
                    if leading and poll > 0:
                        self.rank_if_new_data()
        finally:
            self.step_down(release=True)

    def _position(self) -> int | None:
        settings = self.runtime.settings
        try:
            return self.runtime.event_log.group_position(settings.consumer_group, settings.sales_topic)
        except Exception as exc:  # the interval runs still come; the next poll tries again
            log.debug("writers' position unknown: %s", exc)
            return None

    def rank(self) -> list[dict]:
        """One ranking run (the job APScheduler runs), noting the writers' position it started at."""
        self._ranking.set()
        try:
            self._ranked_position = self._position()
            return run_rankings(self.runtime)
        finally:
            self._ranking.clear()

    def rank_if_new_data(self) -> None:
        """Run the ranking job now when the writers stored events since the last run started."""
        scheduler = self.scheduler
        if scheduler is None or self._ranking.is_set() or not scheduler.running:
            return
        position = self._position()
        if position is not None and position != self._ranked_position:
            with self._lock:
                self._figures["data_triggered_runs"] += 1
            self._ranking.set()  # until the run ends: one trigger per change
            scheduler.modify_job(RANKINGS, next_run_time=self.runtime.clock.now())

    def tick(self) -> bool:
        """Renew or try for the lease, and start or stop the jobs to match; True while leading."""
        now = self.runtime.clock.now()
        try:
            held = leases.acquire(self.runtime.sessions, LEASE, self.holder, self.lease_seconds, now)
        except Exception as exc:  # the config store is away: lead on only while the lease surely lasts
            log.warning("scheduler lease not renewed (config store unavailable)", exc_info=True)
            held = self._held if self._held is not None and self._held.expires_at > now else None
            with self._lock:  # shown in /healthz and the console like any other error
                self._figures["lease_errors"] += 1
                self._error(f"scheduler lease: {type(exc).__name__}: {exc}")
        with self._lock:  # /healthz flags a lease loop that stopped ticking (services/health.py)
            self._figures["lease_checked_at"] = now.isoformat()
        if held is None:
            self.step_down(release=False)
            return False
        if self._held is None or held.epoch != self._held.epoch:
            log.info("scheduler %s leads (lease epoch %d)", self.holder, held.epoch)
            self.step_down(release=False)
            with self._lock:
                self._figures.update(leader=True, lease_epoch=held.epoch, led_since=now.isoformat())
        self._held = held
        if self.scheduler is None:
            self.scheduler = self._start(self.runtime, background=True, fence=self.fence, job=self.rank)
            self.scheduler.add_listener(self._on_job, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        elif not self.scheduler.running:
            raise RuntimeError("the scheduler stopped on its own")
        return True

    def step_down(self, release: bool) -> None:
        """Stop running jobs (and, on a clean stop, let the lease lapse now for a standby)."""
        scheduler, held = self.scheduler, self._held
        self.scheduler, self._held = None, None
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
        with self._lock:
            self._figures.update(leader=False)
        if held is not None:
            log.info("scheduler %s no longer leads (lease epoch %d)", self.holder, held.epoch)
            if release:
                try:
                    leases.release(self.runtime.sessions, held, self.runtime.clock.now())
                except Exception:  # it lapses by itself within the TTL
                    log.warning("scheduler lease not released", exc_info=True)

    def fence(self, job: str, interval: float, run: Callable[[], Any]) -> Callable[[], Any]:
        """`run` only when this scheduler holds the lease and claims the current slot of `job`."""
        def fenced() -> Any:
            held, now = self._held, self.runtime.clock.now()
            slot = int(now.timestamp() // interval)
            if held is None or not leases.claim_slot(self.runtime.sessions, held, job, slot, now):
                with self._lock:
                    self._figures["skipped_slots"] += 1
                return SKIPPED
            return run()
        return fenced

    def _on_job(self, event: JobExecutionEvent) -> None:
        if event.job_id == RANKINGS:
            self._ranking.clear()  # ended, failed or skipped: the next new data may trigger again
        if event.exception is None and event.retval is SKIPPED:
            return
        with self._lock:
            if event.exception is not None:
                self._figures["job_errors"] += 1
                self._figures["last_job_error"] = f"{event.job_id}: {type(event.exception).__name__}: {event.exception}"
                self._error(self._figures["last_job_error"])
            elif event.job_id == RANKINGS:
                results = event.retval or []
                failed = [r for r in results if "error" in r]
                if failed:  # publish_all carries on past a broken campaign; it still counts as an error
                    self._figures["job_errors"] += len(failed)
                    self._figures["last_job_error"] = f"{failed[-1]['campaign']}: {failed[-1]['error']}"
                    self._error(self._figures["last_job_error"])
                self._figures["ranking_runs"] += 1
                self._figures["last_ranking_at"] = self.runtime.clock.now().isoformat()
                self._figures["last_ranking_seconds"] = round(sum(r.get("seconds", 0) for r in results), 3)

    def _error(self, text: str) -> None:
        """The latest error this scheduler handled itself (a job's, or the lease's); under the lock."""
        self._figures["last_error"] = text[:500]
        self._figures["last_error_at"] = self.runtime.clock.time()

    def figures(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._figures)

    @staticmethod
    def summary(before: dict[str, Any], now: dict[str, Any]) -> str:
        runs = now.get("ranking_runs", 0) - before.get("ranking_runs", 0)
        seconds = now.get("last_ranking_seconds")
        errors = now.get("job_errors", 0) - before.get("job_errors", 0)
        text = ("主调度器" if now.get("leader") else "备用调度器（未持有租约）") + "，"
        text += f"排名计算 {runs} 次" + (f"（最近一次 {seconds:.2f} 秒）" if seconds is not None else "")
        return text + (f"，任务出错 {errors} 次" if errors else "")


