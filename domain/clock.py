"""The one place time is read.

Everything that waits, expires or timestamps (caches, rate-limit windows, leases, schedules, the
writer's batch timer) takes a `Clock`, so tests move time forward instead of sleeping.
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC now."""

    def time(self) -> float:
        """Epoch seconds (wall clock)."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never goes backwards (intervals, timeouts)."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


SYSTEM_CLOCK = SystemClock()


class ManualClock:
    """A clock that moves only when told to (tests, simulations). Thread-safe."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
        self._epoch = start.timestamp()
        self._monotonic = 1000.0
        self._lock = threading.Lock()

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._epoch += seconds
            self._monotonic += seconds

    def set(self, when: datetime) -> None:
        with self._lock:
            step = when.timestamp() - self._epoch
            if step < 0:
                raise ValueError("a clock does not go backwards")
            self._epoch += step
            self._monotonic += step

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), timezone.utc)

    def time(self) -> float:
        with self._lock:
            return self._epoch

    def monotonic(self) -> float:
        with self._lock:
            return self._monotonic
