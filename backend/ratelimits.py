"""Rate-limit counters of one app (login attempts, webhooks), counted where it costs least.

Where they count (`Settings.rate_limit_storage()`; an explicit LIVEBOARD_RATELIMIT_STORAGE_URI wins):
- in process, on the embedded default: `liveboard run` is the one process that serves, so a dict
  under a lock is exact and costs about a microsecond (`InProcessStorage`, on the runtime's clock);
- Redis at scale-out (LIVEBOARD_REDIS_URL): one atomic INCR+EXPIRE round trip per hit, shared by
  every API process — the Redis storage of `limits`, the counting library Flask-Limiter is built on;
- the config store where a multi-process deployment has no Redis (one upsert per hit: exact, not
  fast; configstore/ratelimit.py).

Fixed windows, as before. A counter store that cannot be reached lets requests through: limits
lapse, sales are never turned away (logged at most once a minute).
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable, cast

from limits import RateLimitItem
from limits import parse as parse_limit
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy.engine import Engine

from configstore.ratelimit import SCHEME as CONFIGSTORE_SCHEME
from configstore.ratelimit import ConfigStoreRateLimitStorage
from domain.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)
IN_PROCESS = "memory://"
_WARN_EVERY_S = 60.0


class InProcessStorage(Storage):
    """Fixed-window counters in this process's memory, timed by `clock`. Finished windows are
    dropped as new keys come in, so what is kept is bounded by the keys live in one window."""

    STORAGE_SCHEME = ["liveboard+memory"]
    PURGE_EVERY = 1024  # new keys between sweeps of finished windows

    def __init__(self, uri: str = "liveboard+memory://", wrap_exceptions: bool = False, *,
                 clock: Clock = SYSTEM_CLOCK, **options: Any) -> None:
        self._clock = clock
        self._counters: dict[str, list[float]] = {}  # key -> [hits, window ends at]
        self._lock = threading.Lock()
        self._new_keys = 0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception]:
        return RuntimeError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self._clock.time()
        with self._lock:
            counter = self._counters.get(key)
            if counter is None or counter[1] <= now:
                if counter is None:
                    self._new_keys += 1
                    if self._new_keys >= self.PURGE_EVERY:
                        self._purge(now)
                self._counters[key] = counter = [0, now + expiry]
            counter[0] += amount
            return int(counter[0])

    def _purge(self, now: float) -> None:
        self._new_keys = 0
        for key in [k for k, (_, ends) in self._counters.items() if ends <= now]:
            del self._counters[key]

    def _live(self, key: str) -> list[float] | None:
        counter = self._counters.get(key)
        return counter if counter is not None and counter[1] > self._clock.time() else None

    def get(self, key: str) -> int:
        with self._lock:
            counter = self._live(key)
            return int(counter[0]) if counter else 0

    def get_expiry(self, key: str) -> float:
        with self._lock:
            counter = self._live(key)
            return counter[1] if counter else self._clock.time()

    def keys(self) -> list[str]:
        """The keys with a live window (tests and the abuse checks look at what is kept)."""
        with self._lock:
            now = self._clock.time()
            return [k for k, (_, ends) in self._counters.items() if ends > now]

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with self._lock:
            count = len(self._counters)
            self._counters.clear()
            return count

    def clear(self, key: str) -> None:
        with self._lock:
            self._counters.pop(key, None)


class RateLimits:
    """The counters one app counts in, and the fixed-window strategy over them."""

    def __init__(self, uri: str, *, clock: Clock = SYSTEM_CLOCK,
                 context: Callable[[], tuple[Engine, Clock]] | None = None) -> None:
        self.uri = uri
        self.clock = clock
        self.storage: Storage
        if uri in (IN_PROCESS, "liveboard+memory://"):
            self.storage = InProcessStorage(clock=clock)
        elif uri.startswith(CONFIGSTORE_SCHEME):
            if context is None:
                raise ValueError("the config-store rate-limit storage needs the runtime's (engine, clock)")
            self.storage = ConfigStoreRateLimitStorage(context=context)
        else:  # redis://, rediss://, redis+sentinel://, … as `limits` (Flask-Limiter's storage layer) reads them
            self.storage = cast(Storage, storage_from_string(uri))
        self.strategy = FixedWindowRateLimiter(self.storage)
        self._items: dict[str, RateLimitItem] = {}
        self._warned_at = float("-inf")

    def item(self, limit: str) -> RateLimitItem:
        """A parsed limit ("6000 per minute"), parsed once per process."""
        item = self._items.get(limit)
        if item is None:
            item = self._items[limit] = parse_limit(limit)
        return item

    def hit(self, limit: str | RateLimitItem, *identifiers: str) -> tuple[bool, int]:
        """Count one hit: (allowed, seconds until the window resets when not). A store that cannot be
        reached allows it (counted nowhere)."""
        item = self.item(limit) if isinstance(limit, str) else limit
        try:
            if self.strategy.hit(item, *identifiers):
                return True, 0
            reset_at = self.storage.get_expiry(item.key_for(*identifiers))
        except Exception:
            self.unavailable()
            return True, 0
        return False, max(1, int(reset_at - self.clock.time()))

    def unavailable(self) -> None:
        now = self.clock.monotonic()
        if now - self._warned_at >= _WARN_EVERY_S:
            self._warned_at = now
            log.warning("rate-limit counters unavailable (%s); requests pass uncounted", self.uri.split("@")[-1],
                        exc_info=True)

    def keys(self) -> list[str] | None:
        """Live counter keys where the store can list them cheaply (in process), else None."""
        return self.storage.keys() if isinstance(self.storage, InProcessStorage) else None
