"""Analytics store seam. `open_store(settings)` picks ClickHouse server or chDB."""
from __future__ import annotations

from analytics.base import AnalyticsStore, StoreError, StoreFailed, StoreRejected, StoreUnavailable


def open_store(settings) -> AnalyticsStore:
    if settings.store == "clickhouse":
        from analytics.clickhouse_store import ClickHouseStore

        return ClickHouseStore(settings.clickhouse_url)
    from analytics.chdb_store import ChdbStore

    return ChdbStore(settings.chdb_path, settings.chdb_database)


__all__ = ["AnalyticsStore", "StoreError", "StoreFailed", "StoreRejected", "StoreUnavailable", "open_store"]
