"""Wiring: build the long-running pieces (API, writer, scheduler) from Settings.

The CLI and the tests both start the system through here, so they run the same code.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from analytics import AnalyticsStore, open_store
from configstore.db import make_engine, make_sessionmaker
from configstore.sources import SourceScopes
from consumers.sales_writer import SalesWriter
from domain.clock import SYSTEM_CLOCK
from eventlog import EventLog, open_event_log
from liveboard.supervisor import Component, Supervisor
from settings import Settings

if TYPE_CHECKING:  # a writer process loads neither the scheduler (APScheduler) nor the platform clients
    from connectors.worker import ConnectorWorker
    from scheduler.jobs import Schedule
    from services.runtime import Runtime

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
    """The writer, the connector worker and the scheduler beside the API, for the one-process
    embedded mode, supervised (restarted when they crash, reporting heartbeats); they share the API's
    runtime (one config store engine, one analytics store, one WeChat client)."""

    runtime: Runtime
    supervisor: Supervisor | None = None
    writer: SalesWriter | None = None
    connector_worker: ConnectorWorker | None = None
    schedule: Schedule | None = None

    def start(self, with_scheduler: bool = True, **supervisor_options: Any) -> "BackgroundWorkers":
        from connectors.worker import ConnectorWorker
        from scheduler.jobs import Schedule

        runtime = self.runtime
        self.supervisor = Supervisor(runtime.sessions, clock=runtime.clock,
                                     beat_seconds=runtime.settings.heartbeat_seconds, **supervisor_options)
        self.writer = build_writer(runtime.settings, store=runtime.store, sessions=runtime.sessions,
                                   clock=runtime.clock)
        self.supervisor.add(writer_component(self.writer))
        self.connector_worker = ConnectorWorker(runtime)  # platform pushes -> enriched sales events
        self.supervisor.add(connector_component(self.connector_worker))
        if with_scheduler:
            self.schedule = Schedule(runtime)
            self.supervisor.add(Component("scheduler", self.schedule.run, self.schedule.figures, Schedule.summary))
        self.supervisor.start()
        return self

    def shutdown(self) -> None:
        if self.supervisor is not None:
            self.supervisor.shutdown()


def writer_component(writer: SalesWriter) -> Component:
    return Component("writer", writer.run, writer.figures, SalesWriter.summary)


def connector_component(worker: ConnectorWorker) -> Component:
    return Component("connector", worker.run, worker.figures, worker.summary)
