"""APScheduler wiring: the ranking job every `ranking_interval_seconds` (default 5 s), and with WeChat
configured the push jobs (rank changes -> outbox, outbox -> WeChat) every `push_interval_seconds`, and
the host-milestone job (scheduler/milestone_job.py) at the ranking interval.

Jobs read the runtime they are given (stores, WeChat client, clock), so a test can run the same
jobs against its own stack and clock."""
from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from configstore.ratelimit import ConfigStoreRateLimitStorage
from scheduler.milestone_job import add_milestone_job
from scheduler.push_job import add_push_jobs
from scheduler.ranking_job import publish_all
from services.runtime import Runtime

log = logging.getLogger(__name__)


def run_rankings(runtime: Runtime) -> list[dict]:
    """One ranking run now, by the runtime's clock."""
    return publish_all(runtime.sessions, runtime.store, runtime.clock.now())


def start_scheduler(runtime: Runtime, background: bool = True) -> BaseScheduler:
    settings = runtime.settings
    scheduler = (BackgroundScheduler if background else BlockingScheduler)(timezone="Asia/Shanghai")
    # max_instances=1 + coalesce: a slow run is never overlapped, missed runs collapse into one
    scheduler.add_job(run_rankings, "interval", seconds=settings.ranking_interval_seconds, args=(runtime,),
                      id="rankings", max_instances=1, coalesce=True, next_run_time=runtime.clock.now())
    add_push_jobs(scheduler, runtime)
    add_milestone_job(scheduler, runtime)  # host sales milestones -> one message each
    # finished rate-limit windows (configstore/ratelimit.py) are dropped so the table stays small
    purge = ConfigStoreRateLimitStorage(context=lambda: (runtime.engine, runtime.clock)).purge_expired
    scheduler.add_job(purge, "interval", minutes=10, id="rate-limit-purge", max_instances=1, coalesce=True)
    log.info("scheduler started: rankings every %.1fs", settings.ranking_interval_seconds)
    scheduler.start()
    return scheduler
