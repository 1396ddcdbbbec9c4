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
        self._next: dict[int, float] = {}
        self._lock = threading.Lock()

    def acquire(self, connection_id: int, per_second: float) -> bool:
        """Block until a call is allowed; False when stopped while waiting."""
        interval = 1.0 / per_second
        now = self.clock.monotonic()
        with self._lock:
            slot = max(now, self._next.get(connection_id, 0.0))
            self._next[connection_id] = slot + interval
        if slot > now and self.wait(slot - now):
            return False
        window = max(1.0, interval)
        cap = max(1, math.floor(per_second * window + 1e-9))
        key = f"connector-api:{connection_id}"
        while self._storage.incr(key, window) > cap:  # type: ignore[arg-type]  # a float window is fine here
            if self.wait(max(0.01, self._storage.get_expiry(key) - self.clock.time())):
                return False
        return True
