"""The runtime: what a running process holds, typed, in one object.

Settings, the config store (engine + sessions), the webhook source cache, the event log, the
analytics store, the WeChat client, counters and the clock. `Runtime.build(settings)` wires them
from settings; delivery code reaches the one serving the current request through
`current_runtime()`, and everything below takes what it needs as arguments."""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter as PromCounter
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from analytics.base import AnalyticsStore
from configstore.db import make_engine, make_sessionmaker
from configstore.secretbox import SecretBox
from configstore.sources import SourceCache
from domain.clock import SYSTEM_CLOCK, Clock
from domain.ttl_cache import TtlCache
from eventlog import EventLog, open_event_log
from settings import Settings

if TYPE_CHECKING:
    from wechat.adapter import WeChatClient

REPLAY_CACHE_SIZE = 20_000  # about 4 MB at most


# The API's counters for Prometheus (GET /metrics). Under gunicorn every worker writes its own
# files in PROMETHEUS_MULTIPROC_DIR (set by `liveboard serve`) and a scrape sums them all.
API_EVENTS = PromCounter("liveboard_api_events", "Intake events and requests, by what happened", ["what"])


class Metrics:
    """Process-local counters for the health view (events accepted, rejected, ...), with 10-second
    buckets over the last minute for rates; each also counts in Prometheus' liveboard_api_events."""

    BUCKET_S = 10
    WINDOW_S = 60

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self._counts: Counter[str] = Counter()
        self._recent: Counter[tuple[str, int]] = Counter()
        self._lock = threading.Lock()
        self._children: dict[str, Any] = {}  # the labelled Prometheus counter per name, looked up once

    def incr(self, name: str, by: int = 1) -> None:
        if by:
            child = self._children.get(name)
            if child is None:
                child = self._children.setdefault(name, API_EVENTS.labels(name))
            child.inc(by)
            bucket = int(self.clock.time() // self.BUCKET_S)
            with self._lock:
                self._counts[name] += by
                self._recent[(name, bucket)] += by
                if len(self._recent) > 256:
                    oldest = bucket - self.WINDOW_S // self.BUCKET_S
                    for key in [k for k in self._recent if k[1] < oldest]:
                        del self._recent[key]

    def per_minute(self, name: str) -> int:
        """How many in the last minute (to a 10-second bucket)."""
        oldest = int(self.clock.time() // self.BUCKET_S) - self.WINDOW_S // self.BUCKET_S
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
    clock: Clock = SYSTEM_CLOCK
    # webhook-ids of requests answered 202 lately (backend.webhooks): a replay is answered, not appended
    webhook_replays: TtlCache[bytes, bytes] = field(default_factory=lambda: TtlCache(REPLAY_CACHE_SIZE))
    _store: AnalyticsStore | None = None
    _wechat: WeChatClient | None = None
    _wechat_built: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def store(self) -> AnalyticsStore:
        """The analytics store, opened on first use (ClickHouse keeps one connection per thread)."""
        if self._store is None:
            from analytics import open_store

            with self._lock:
                if self._store is None:
                    self._store = open_store(self.settings)
        return self._store

    @property
    def secrets(self) -> SecretBox:
        """Encrypts and decrypts the secrets the config store keeps (configstore/secretbox.py)."""
        return self.sources.box

    @property
    def wechat(self) -> WeChatClient | None:
        """The WeChat client, built once; None when WeChat is not configured."""
        if not self._wechat_built:
            from wechat.service import build_client

            with self._lock:
                if not self._wechat_built:
                    self._wechat = build_client(self.settings, self.sessions)
                    self._wechat_built = True
        return self._wechat

    def use_wechat(self, client: WeChatClient | None) -> None:
        """Serve with this client (tests point it at a fake WeChat server)."""
        with self._lock:
            self._wechat, self._wechat_built = client, True

    @classmethod
    def build(cls, settings: Settings, event_log: EventLog | None = None, clock: Clock = SYSTEM_CLOCK) -> "Runtime":
        settings.secure_data_dir()  # owner-only, before anything in it is opened or created
        settings = settings.with_secret_key()
        engine = make_engine(settings.config_db_url)
        sessions = make_sessionmaker(engine)
        sources = SourceCache(sessions, SecretBox(settings.secrets_key), clock=clock)
        return cls(settings=settings, engine=engine, sessions=sessions, sources=sources,
                   event_log=event_log or open_event_log(settings, client_id="liveboard-api"),
                   metrics=Metrics(clock), clock=clock)

    def close(self) -> None:
        self.event_log.close()
        self.engine.dispose()


EXTENSION_KEY = "liveboard"


def current_runtime() -> Runtime:
    """The runtime of the Flask app serving this request (delivery code only)."""
    from flask import current_app

    return current_app.extensions[EXTENSION_KEY]
