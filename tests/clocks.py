"""Clocks for tests (domain.clock.Clock): time moves when the test says so, not by sleeping."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone


class ManualClock:
    """Stands still until advanced. Thread-safe."""

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

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), timezone.utc)

    def time(self) -> float:
        with self._lock:
            return self._epoch

    def monotonic(self) -> float:
        with self._lock:
            return self._monotonic


class ShiftedClock:
    """Real time plus whatever the test has skipped ahead: a running system keeps working (signed
    webhooks, batch timers), and `advance` jumps past a TTL or a window at once."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._offset += seconds

    def _skipped(self) -> float:
        with self._lock:
            return self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), timezone.utc)

    def time(self) -> float:
        return time.time() + self._skipped()

    def monotonic(self) -> float:
        return time.monotonic() + self._skipped()
