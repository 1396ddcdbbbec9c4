"""The one place time is read.

Everything that waits, expires or timestamps (caches, rate-limit windows, leases, schedules, the
writer's batch timer) takes a `Clock`, so tests move time forward instead of sleeping.
"""
from __future__ import annotations

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
