"""The config-store rate-limit storage: windows, expiry and atomic counting, on SQLite and on a real
PostgreSQL (the upsert differs by dialect)."""
from __future__ import annotations

import threading

import pytest

from configstore.migrate import upgrade
from configstore.ratelimit import ConfigStoreRateLimitStorage
from tests.clocks import ManualClock


@pytest.fixture(params=["sqlite", "postgres"])
def config_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'config.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_service").create_database("rl")
    upgrade(url)
    return url


def _storage(config_url, clock=None) -> ConfigStoreRateLimitStorage:
    return ConfigStoreRateLimitStorage(url=config_url, clock=clock or ManualClock())


def test_counts_within_a_window_and_restarts_after_it(config_url):
    clock = ManualClock()
    storage = _storage(config_url, clock)
    assert [storage.incr("k", 1) for _ in range(3)] == [1, 2, 3]
    assert storage.get("k") == 3
    assert storage.get_expiry("k") == clock.time() + 1
    clock.advance(1.0)
    assert storage.get("k") == 0  # the window ended
    assert storage.incr("k", 60, amount=2) == 2  # a new window starts at the amount
    assert storage.purge_expired() == 0
    storage.clear("k")
    assert storage.get("k") == 0


def test_concurrent_hits_are_all_counted(config_url):
    storage = _storage(config_url)
    results: list[int] = []
    lock = threading.Lock()

    def hit():
        for _ in range(25):
            value = storage.incr("shared", 60)
            with lock:
                results.append(value)

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert storage.get("shared") == 200
    assert sorted(results) == list(range(1, 201))  # every hit saw a distinct count


def test_purge_drops_only_finished_windows(config_url):
    clock = ManualClock()
    storage = _storage(config_url, clock)
    storage.incr("short", 1)
    storage.incr("long", 600)
    clock.advance(1.0)
    assert storage.purge_expired() == 1
    assert storage.get("long") == 1
    assert storage.check() is True
