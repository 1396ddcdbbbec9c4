"""Each connection's calls to its platform's open API stay within the rate configured for it.

Two layers: in this process calls are spaced ``1 / rate`` apart (no bursts); across processes
(``liveboard connect`` scaled out, the scheduler's pull) a fixed-window counter in the config store
(``configstore.ratelimit``, the one the webhook limits use) caps each window at the rate. A
rate below one call a second gets a window of ``1 / rate`` seconds holding one call.
"""
from __future__ import annotations

import math
import threading
from typing import Callable

from sqlalchemy.engine import Engine

from configstore.ratelimit import ConfigStoreRateLimitStorage
from domain.clock import Clock


class ApiRateLimiter:
    def __init__(self, engine: Engine, clock: Clock, wait: Callable[[float], bool]) -> None:
        """`wait(seconds)` sleeps and returns True when the caller is being stopped."""
        self.clock, self.wait = clock, wait
        self._storage = ConfigStoreRateLimitStorage(context=lambda: (engine, clock))
        self._last: dict[int, float] = {}
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, connection_id: int) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(connection_id, threading.Lock())

    def acquire(self, connection_id: int, per_second: float) -> bool:
        """Block until a call is allowed; False when stopped while waiting. Calls of one connection
        leave this process at least `1 / rate` apart, measured from when each was let go (so a late
        thread never lets the next one follow closer), and the shared window caps all processes."""
        interval = 1.0 / per_second
        window = max(1.0, interval)
        cap = max(1, math.floor(per_second * window + 1e-9))
        key = f"connector-api:{connection_id}"
        with self._lock(connection_id):  # one caller at a time per connection: the others queue here
            while True:
                delay = self._last.get(connection_id, float("-inf")) + interval - self.clock.monotonic()
                if delay > 0 and self.wait(delay):
                    return False
                turn = self.clock.monotonic()  # the spacing counts from here, not after the shared count
                if self._storage.incr(key, window) <= cap:  # type: ignore[arg-type]  # a float window is fine
                    self._last[connection_id] = turn
                    return True
                if self.wait(max(0.01, self._storage.get_expiry(key) - self.clock.time())):
                    return False
