"""Wiring: build the long-running pieces (API, writer, scheduler) from Settings.

The CLI and the tests both start the system through here, so they run the same code.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from analytics import AnalyticsStore, open_store
from analytics.migrations import migrate as migrate_store
from configstore.migrate import upgrade as migrate_config
from consumers.sales_writer import SalesWriter
from eventlog import EventLog, open_event_log
from settings import Settings

log = logging.getLogger(__name__)


def migrate_all(settings: Settings, echo=lambda msg: None) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    echo(f"配置库迁移 (config store): {settings.config_db_url.split('@')[-1]}")
    migrate_config(settings.config_db_url)
    store = open_store(settings)
    applied = migrate_store(store)
    echo(f"分析库迁移 (analytics store, {settings.store}): {', '.join(applied) if applied else '已是最新'}")
    event_log = open_event_log(settings, client_id="liveboard-migrate")
    event_log.ensure_topics()
    event_log.close()


def build_writer(settings: Settings, event_log: EventLog | None = None, store: AnalyticsStore | None = None) -> SalesWriter:
    return SalesWriter(event_log or open_event_log(settings, client_id="liveboard-writer"),
                       store or open_store(settings), group=settings.consumer_group,
                       batch_rows=settings.consumer_batch_rows, batch_ms=settings.consumer_batch_ms,
                       fault_kill_after_insert=settings.fault_kill_after_insert)


@dataclass
class BackgroundWorkers:
    """The writer thread and the scheduler, for the one-process embedded mode."""

    settings: Settings
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    scheduler: object | None = None
    writer: SalesWriter | None = None

    def start(self, with_scheduler: bool = True) -> "BackgroundWorkers":
        self.writer = build_writer(self.settings)
        thread = threading.Thread(target=self.writer.run, args=(self.stop,), name="sales-writer", daemon=True)
        thread.start()
        self.threads.append(thread)
        if with_scheduler:
            from scheduler.jobs import start_scheduler

            self.scheduler = start_scheduler(self.settings, background=True)
        return self

    def shutdown(self) -> None:
        self.stop.set()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        for thread in self.threads:
            thread.join(timeout=10)
