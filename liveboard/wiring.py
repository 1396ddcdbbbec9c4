"""Wiring: build the long-running pieces (API, writer, scheduler) from Settings.

The CLI and the tests both start the system through here, so they run the same code.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from analytics import AnalyticsStore, open_store
from connectors.worker import ConnectorWorker
from consumers.sales_writer import SalesWriter
from eventlog import EventLog, open_event_log
from services.runtime import Runtime
from settings import Settings

log = logging.getLogger(__name__)
def build_writer(settings: Settings, event_log: EventLog | None = None, store: AnalyticsStore | None = None,
                 **options) -> SalesWriter:
    """The sales writer for these settings; `options` go to SalesWriter (clock, wait, after_insert)."""
    return SalesWriter(event_log or open_event_log(settings, client_id="liveboard-writer"),
                       store or open_store(settings), group=settings.consumer_group,
                       batch_rows=settings.consumer_batch_rows, batch_ms=settings.consumer_batch_ms, **options)


@dataclass
class BackgroundWorkers:
    """The writer and connector-worker threads and the scheduler beside the API, for the one-process embedded mode; they
    share the API's runtime (one config store engine, one analytics store, one WeChat client)."""

    runtime: Runtime
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    scheduler: Any = None
    writer: SalesWriter | None = None
    connector_worker: ConnectorWorker | None = None

    def start(self, with_scheduler: bool = True) -> "BackgroundWorkers":
        self.writer = build_writer(self.runtime.settings, store=self.runtime.store, clock=self.runtime.clock)
        thread = threading.Thread(target=self.writer.run, args=(self.stop,), name="sales-writer", daemon=True)
        thread.start()
        self.threads.append(thread)
        self.connector_worker = ConnectorWorker(self.runtime)  # platform pushes -> enriched sales events
        thread = threading.Thread(target=self.connector_worker.run, args=(self.stop,), name="connector-worker",
                                  daemon=True)
        thread.start()
        self.threads.append(thread)
        if with_scheduler:
            from scheduler.jobs import start_scheduler

            self.scheduler = start_scheduler(self.runtime, background=True)
        return self

    def shutdown(self) -> None:
        self.stop.set()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        for thread in self.threads:
            thread.join(timeout=10)
