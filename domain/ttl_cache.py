"""A bounded in-process cache: at most `capacity` entries, each until its own expiry, least recently
used first out. What anyone on the network can make a process remember (source names, webhook ids)
goes through one of these, so memory stays bounded whatever they send."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, Hashable, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, now: float, default: V | None = None) -> V | None:
        """The value stored for `key` while `now` is before its expiry; else `default`."""
        with self._lock:
            hit = self._entries.get(key)
            if hit is None:
                return default
            expires_at, value = hit
            if now >= expires_at:
                del self._entries[key]
                return default
            self._entries.move_to_end(key)
            return value

    def __contains__(self, key: K) -> bool:
        with self._lock:
            return key in self._entries

    def put(self, key: K, value: V, expires_at: float) -> None:
        """Store until `expires_at` (same time scale as `now` in get); the least recently used entry
        goes when the cache is full."""
        with self._lock:
            self._entries[key] = (expires_at, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def pop(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
