"""Scheduled work of the native platform connections: the pull backstop of every active
connection every `connector_pull_interval_seconds` (default 10 minutes), and an hourly purge of
finished pending-table rows older than a week (platforms stop retrying long before that)."""
from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.base import BaseScheduler

from configstore.connections import purge_done
from connectors.access import PlatformAccess
from connectors.pull import PullReport, pull_all
from services.runtime import Runtime

log = logging.getLogger(__name__)

KEEP_DONE_S = 7 * 24 * 3600.0


def run_pulls(access: PlatformAccess) -> list[PullReport]:
    reports = pull_all(access)
    for report in reports:
        if report.error:
            log.warning("pull %s: %s", report.connection, report.error)
    return reports


def purge(runtime: Runtime) -> int:
    return purge_done(runtime.sessions, runtime.clock.time() - KEEP_DONE_S)


def add_connector_jobs(scheduler: BaseScheduler, runtime: Runtime) -> None:
    interval = runtime.settings.connector_pull_interval_seconds
    scheduler.add_job(run_pulls, "interval", seconds=interval, args=(PlatformAccess(runtime),), id="connector-pulls",
                      max_instances=1, coalesce=True,
                      next_run_time=runtime.clock.now() + timedelta(seconds=min(60.0, interval)))
    scheduler.add_job(purge, "interval", hours=1, args=(runtime,), id="connector-purge", max_instances=1,
                      coalesce=True)
