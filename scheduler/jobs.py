"""APScheduler wiring: the ranking job every `ranking_interval_seconds` (default 5 s), and with WeChat
configured the push jobs (rank changes -> outbox, outbox -> WeChat) every `push_interval_seconds`, and
the host-milestone job (scheduler/milestone_job.py) at the ranking interval.

Jobs read the runtime they are given (stores, WeChat client, clock), so a test can run the same
jobs against its own stack and clock. `Schedule` is the supervised component (liveboard/supervisor.py):
it runs the scheduler until stopped and keeps the figures its heartbeat reports."""
from __future__ import annotations

import logging
import threading
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from configstore.ratelimit import ConfigStoreRateLimitStorage
from scheduler.connector_jobs import add_connector_jobs
from scheduler.milestone_job import add_milestone_job
from scheduler.push_job import add_push_jobs
from scheduler.ranking_job import publish_all
from services.runtime import Runtime

log = logging.getLogger(__name__)
RANKINGS = "rankings"


def run_rankings(runtime: Runtime) -> list[dict]:
    """One ranking run now, by the runtime's clock."""
    return publish_all(runtime.sessions, runtime.store, runtime.clock.now())


def start_scheduler(runtime: Runtime, background: bool = True) -> BaseScheduler:
    settings = runtime.settings
    scheduler = (BackgroundScheduler if background else BlockingScheduler)(timezone="Asia/Shanghai")
    # max_instances=1 + coalesce: a slow run is never overlapped, missed runs collapse into one
    scheduler.add_job(run_rankings, "interval", seconds=settings.ranking_interval_seconds, args=(runtime,),
                      id=RANKINGS, max_instances=1, coalesce=True, next_run_time=runtime.clock.now())
    add_push_jobs(scheduler, runtime)
    add_milestone_job(scheduler, runtime)  # host sales milestones -> one message each
    add_connector_jobs(scheduler, runtime)  # platform connections: the pull backstop, pending-table purge
    # finished rate-limit windows (configstore/ratelimit.py) are dropped so the table stays small
    purge = ConfigStoreRateLimitStorage(context=lambda: (runtime.engine, runtime.clock)).purge_expired
    scheduler.add_job(purge, "interval", minutes=10, id="rate-limit-purge", max_instances=1, coalesce=True)
    log.info("scheduler started: rankings every %.1fs", settings.ranking_interval_seconds)
    scheduler.start()
    return scheduler


class Schedule:
    """The scheduler as a supervised component, with what its jobs did lately."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._lock = threading.Lock()
        self._figures: dict[str, Any] = {"ranking_runs": 0, "job_errors": 0, "last_ranking_at": None,
                                         "last_ranking_seconds": None, "last_job_error": "", "last_error_at": None}
        self._started: dict[str, float] = {}
        self.scheduler: BaseScheduler | None = None  # while running

    def run(self, stop: threading.Event) -> None:
        self.scheduler = scheduler = start_scheduler(self.runtime, background=True)
        scheduler.add_listener(self._on_job, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        try:
            while not stop.wait(1.0):
                if not scheduler.running:
                    raise RuntimeError("the scheduler stopped on its own")
        finally:
            if scheduler.running:
                scheduler.shutdown(wait=False)

    def _on_job(self, event: JobExecutionEvent) -> None:
        with self._lock:
            if event.exception is not None:
                self._figures["job_errors"] += 1
                self._figures["last_job_error"] = f"{event.job_id}: {type(event.exception).__name__}: {event.exception}"
                self._figures["last_error_at"] = self.runtime.clock.time()
            elif event.job_id == RANKINGS:
                results = event.retval or []
                failed = [r for r in results if "error" in r]
                if failed:  # publish_all carries on past a broken campaign; it still counts as an error
                    self._figures["job_errors"] += len(failed)
                    self._figures["last_job_error"] = f"{failed[-1]['campaign']}: {failed[-1]['error']}"
                    self._figures["last_error_at"] = self.runtime.clock.time()
                self._figures["ranking_runs"] += 1
                self._figures["last_ranking_at"] = self.runtime.clock.now().isoformat()
                self._figures["last_ranking_seconds"] = round(sum(r.get("seconds", 0) for r in results), 3)

    def figures(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._figures)

    @staticmethod
    def summary(before: dict[str, Any], now: dict[str, Any]) -> str:
        runs = now.get("ranking_runs", 0) - before.get("ranking_runs", 0)
        seconds = now.get("last_ranking_seconds")
        errors = now.get("job_errors", 0) - before.get("job_errors", 0)
        text = f"排名计算 {runs} 次" + (f"（最近一次 {seconds:.2f} 秒）" if seconds is not None else "")
        return text + (f"，任务出错 {errors} 次" if errors else "")


