"""APScheduler wiring: the ranking job every `ranking_interval_seconds` (default 5 s), and with WeChat
configured the push jobs (rank changes -> outbox, outbox -> WeChat) every `push_interval_seconds`.

Jobs read the runtime they are given (stores, WeChat client, clock), so a test can run the same
jobs against its own stack and clock."""
from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from configstore.ratelimit import ConfigStoreRateLimitStorage
from scheduler.connector_jobs import add_connector_jobs
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
    add_connector_jobs(scheduler, runtime)  # platform connections: the pull backstop, pending-table purge
    # finished rate-limit windows (configstore/ratelimit.py) are dropped so the table stays small
    purge = ConfigStoreRateLimitStorage(context=lambda: (runtime.engine, runtime.clock)).purge_expired
    scheduler.add_job(purge, "interval", minutes=10, id="rate-limit-purge", max_instances=1, coalesce=True)
    log.info("scheduler started: rankings every %.1fs", settings.ranking_interval_seconds)
    scheduler.start()
    return scheduler
