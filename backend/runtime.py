"""What the web process holds: settings, config store, source cache, event log, counters."""
from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from configstore.db import make_engine, make_sessionmaker
from configstore.sources import SourceCache
from eventlog import EventLog, open_event_log
from liveboard.settings import Settings


class Metrics:
    """Process-local counters for the health view (events accepted, rejected, ...), with 10-second
    buckets over the last minute for rates."""

    BUCKET_S = 10
    WINDOW_S = 60

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._recent: Counter[tuple[str, int]] = Counter()
        self._lock = threading.Lock()

    def incr(self, name: str, by: int = 1) -> None:
        if by:
            bucket = int(time.time() // self.BUCKET_S)
            with self._lock:
                self._counts[name] += by
                self._recent[(name, bucket)] += by
                if len(self._recent) > 256:
                    oldest = bucket - self.WINDOW_S // self.BUCKET_S
                    for key in [k for k in self._recent if k[1] < oldest]:
                        del self._recent[key]

    def per_minute(self, name: str) -> int:
        """How many in the last minute (to a 10-second bucket)."""
        oldest = int(time.time() // self.BUCKET_S) - self.WINDOW_S // self.BUCKET_S
        with self._lock:
            return sum(n for (key, bucket), n in self._recent.items() if key == name and bucket > oldest)

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
    _store: object | None = None

    @property
    def store(self):
        """The analytics store, opened on first use (organizer views read the pre-aggregate)."""
        if self._store is None:
            from analytics import open_store

            self._store = open_store(self.settings)
        return self._store

    @classmethod
    def build(cls, settings: Settings, event_log: EventLog | None = None) -> "Runtime":
        settings = settings.with_secret_key()
        engine = make_engine(settings.config_db_url)
        sessions = make_sessionmaker(engine)
        return cls(settings=settings, engine=engine, sessions=sessions, sources=SourceCache(sessions),
                   event_log=event_log or open_event_log(settings, client_id="liveboard-api"))
