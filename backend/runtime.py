"""What the web process holds: settings, config store, source cache, event log, counters."""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from configstore.db import make_engine, make_sessionmaker
from configstore.sources import SourceCache
from eventlog import EventLog, open_event_log
from liveboard.settings import Settings


class Metrics:
    """Process-local counters for the health view (events accepted, rejected, ...)."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def incr(self, name: str, by: int = 1) -> None:
        if by:
            with self._lock:
                self._counts[name] += by

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    sources: SourceCache
    event_log: EventLog
    metrics: Metrics = field(default_factory=Metrics)

    @classmethod
    def build(cls, settings: Settings, event_log: EventLog | None = None) -> "Runtime":
        engine = make_engine(settings.config_db_url)
        sessions = make_sessionmaker(engine)
        return cls(settings=settings, engine=engine, sessions=sessions, sources=SourceCache(sessions),
                   event_log=event_log or open_event_log(settings, client_id="liveboard-api"))
