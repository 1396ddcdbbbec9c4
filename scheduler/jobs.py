"""APScheduler wiring: the ranking job every `ranking_interval_seconds` (default 5 s), and with WeChat
configured the push jobs (rank changes -> outbox, outbox -> WeChat) every `push_interval_seconds`, and
the host-milestone job (scheduler/milestone_job.py) at the ranking interval."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from analytics import open_store
from configstore.db import make_engine, make_sessionmaker
from configstore.ratelimit import ConfigStoreRateLimitStorage
from scheduler.milestone_job import add_milestone_job
from scheduler.push_job import add_push_jobs
from scheduler.ranking_job import publish_all
from settings import Settings

log = logging.getLogger(__name__)


def start_scheduler(settings: Settings, background: bool = True):
    sessions = make_sessionmaker(make_engine(settings.config_db_url))
    store = open_store(settings)
    scheduler = (BackgroundScheduler if background else BlockingScheduler)(timezone="Asia/Shanghai")
    # max_instances=1 + coalesce: a slow run is never overlapped, missed runs collapse into one
    scheduler.add_job(publish_all, "interval", seconds=settings.ranking_interval_seconds, args=(sessions, store),
                      id="rankings", max_instances=1, coalesce=True, next_run_time=datetime.now(timezone.utc))
    add_push_jobs(scheduler, settings, sessions)
    add_milestone_job(scheduler, settings, sessions)  # host sales milestones -> one message each
    # finished rate-limit windows (configstore/ratelimit.py) are dropped so the table stays small
    scheduler.add_job(ConfigStoreRateLimitStorage(url=settings.config_db_url).purge_expired, "interval",
                      minutes=10, id="rate-limit-purge", max_instances=1, coalesce=True)
    log.info("scheduler started: rankings every %.1fs", settings.ranking_interval_seconds)
    scheduler.start()
    return scheduler
