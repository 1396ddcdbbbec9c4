"""APScheduler wiring: the ranking job when there is new data (and at least every
`ranking_interval_seconds`, default 5 s, for day changes and freezes), and with WeChat configured the
push jobs (rank changes -> outbox, outbox -> WeChat) every `push_interval_seconds`.

New data: `Schedule` watches the writers' committed position on the sales topic every
`ranking_poll_seconds` (one cheap read: Kafka's group offsets, or the SQLite log's). Writers commit
only after their insert, so a moved position means stored events the boards do not show yet: the
ranking job is run at once (never two at a time; a run started while data kept arriving is followed
by another as soon as it ends).

Jobs read the runtime they are given (stores, WeChat client, clock), so a test can run the same
jobs against its own stack and clock. `Schedule` is the supervised component (liveboard/supervisor.py):
it runs the scheduler until stopped and keeps the figures its heartbeat reports."""
from __future__ import annotations

import logging
import threading
from functools import partial
from typing import Any, Callable

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from configstore.ratelimit import ConfigStoreRateLimitStorage
from scheduler.connector_jobs import add_connector_jobs
from scheduler.push_job import add_push_jobs
from scheduler.ranking_job import publish_all
from services.runtime import Runtime

log = logging.getLogger(__name__)
RANKINGS = "rankings"


def run_rankings(runtime: Runtime) -> list[dict]:
    """One ranking run now, by the runtime's clock."""
    return publish_all(runtime.sessions, runtime.store, runtime.clock.now())


def start_scheduler(runtime: Runtime, background: bool = True,
                    job: Callable[[], list[dict]] | None = None) -> BaseScheduler:
    """`job`: what the ranking job runs (default: run_rankings on this runtime)."""
    settings = runtime.settings
    scheduler = (BackgroundScheduler if background else BlockingScheduler)(timezone="Asia/Shanghai")
    # max_instances=1 + coalesce: a slow run is never overlapped, missed runs collapse into one
    scheduler.add_job(job or partial(run_rankings, runtime), "interval", seconds=settings.ranking_interval_seconds,
                      id=RANKINGS, max_instances=1, coalesce=True, next_run_time=runtime.clock.now())
    add_push_jobs(scheduler, runtime)
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
                                         "last_ranking_seconds": None, "last_job_error": "", "last_error_at": None,
                                         "data_triggered_runs": 0}
        self._started: dict[str, float] = {}
        self.scheduler: BaseScheduler | None = None  # while running
        self._ranked_position: int | None = None  # the writers' position the last ranking run started at
        self._ranking = threading.Event()  # set while a ranking run is under way

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

    def run(self, stop: threading.Event) -> None:
        settings = self.runtime.settings
        self.scheduler = scheduler = start_scheduler(self.runtime, background=True, job=self.rank)
        scheduler.add_listener(self._on_job, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        try:
            while not stop.wait(settings.ranking_poll_seconds):
                if not scheduler.running:
                    raise RuntimeError("the scheduler stopped on its own")
                if self._ranking.is_set() or settings.ranking_poll_seconds <= 0:
                    continue
                position = self._position()
                if position is not None and position != self._ranked_position:
                    with self._lock:
                        self._figures["data_triggered_runs"] += 1
                    self._ranking.set()  # until the run starts: one trigger per change
                    scheduler.modify_job(RANKINGS, next_run_time=self.runtime.clock.now())
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


