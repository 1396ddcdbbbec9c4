"""Wiring: build the long-running pieces (API, writer, scheduler) from Settings.

The CLI and the tests both start the system through here, so they run the same code.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from analytics import AnalyticsStore, open_store
from configstore.db import make_engine, make_sessionmaker
from configstore.sources import SourceScopes
from consumers.sales_writer import SalesWriter
from domain.clock import SYSTEM_CLOCK
from eventlog import EventLog, open_event_log
from services.runtime import Runtime
from settings import Settings

log = logging.getLogger(__name__)


def build_writer(settings: Settings, event_log: EventLog | None = None, store: AnalyticsStore | None = None,
                 sessions: sessionmaker[Session] | None = None, **options) -> SalesWriter:
    """The sales writer for these settings; `options` go to SalesWriter (clock, wait, after_lookup,
    after_insert). Source scopes come from the config store."""
    sessions = sessions or make_sessionmaker(make_engine(settings.config_db_url))
    return SalesWriter(event_log or open_event_log(settings, client_id="liveboard-writer"),
                       store or open_store(settings), group=settings.consumer_group,
                       batch_rows=settings.consumer_batch_rows, batch_ms=settings.consumer_batch_ms,
                       scope_of=SourceScopes(sessions, clock=options.get("clock", SYSTEM_CLOCK)), **options)


@dataclass
class BackgroundWorkers:
    """The writer thread and the scheduler beside the API, for the one-process embedded mode; they
    share the API's runtime (one config store engine, one analytics store, one WeChat client)."""

    runtime: Runtime
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    scheduler: Any = None
    writer: SalesWriter | None = None

    def start(self, with_scheduler: bool = True) -> "BackgroundWorkers":
        self.writer = build_writer(self.runtime.settings, store=self.runtime.store, sessions=self.runtime.sessions,
                                   clock=self.runtime.clock)
        thread = threading.Thread(target=self.writer.run, args=(self.stop,), name="sales-writer", daemon=True)
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
