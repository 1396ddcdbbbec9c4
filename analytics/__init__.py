"""Analytics store seam. `open_store(settings)` picks ClickHouse server or chDB."""
from __future__ import annotations

from analytics.base import AnalyticsStore, StoreError, StoreFailed, StoreRejected, StoreUnavailable


def open_store(settings) -> AnalyticsStore:
    if settings.store == "clickhouse":
        from analytics.clickhouse_store import ClickHouseStore

        # on a cluster every insert waits for every shard (a row is readable once acknowledged)
        return ClickHouseStore(settings.clickhouse_url,
                               settings={"insert_distributed_sync": 1} if settings.clickhouse_cluster else None)
    from analytics.chdb_store import ChdbStore

    return ChdbStore(settings.chdb_path, settings.chdb_database)


def open_shard_stores(settings) -> list[AnalyticsStore]:
    """One store per shard of `settings.clickhouse_cluster` (its local tables), in shard order:
    from `clickhouse_shards` (host:port, comma-separated), else from the server's system.clusters."""
    from urllib.parse import urlparse, urlunparse

    from analytics.clickhouse_store import ClickHouseStore

    parsed = urlparse(settings.clickhouse_url)
    addresses = [a.strip() for a in settings.clickhouse_shards.split(",") if a.strip()]
    if not addresses:
        rows = ClickHouseStore(settings.clickhouse_url).query(
            "SELECT shard_num, host_address, port FROM system.clusters WHERE cluster = %(cluster)s "
            "AND replica_num = 1 ORDER BY shard_num", {"cluster": settings.clickhouse_cluster})
        if not rows:
            raise StoreFailed(f"cluster {settings.clickhouse_cluster!r} is not in the server's remote_servers")
        addresses = [f"{host}:{port}" for _, host, port in rows]
    credentials = parsed.netloc.rsplit("@", 1)[0] + "@" if "@" in parsed.netloc else ""
    return [ClickHouseStore(urlunparse(parsed._replace(netloc=credentials + address.split("://")[-1].split("/")[0])))
            for address in addresses]


__all__ = ["AnalyticsStore", "StoreError", "StoreFailed", "StoreRejected", "StoreUnavailable", "open_shard_stores", "open_store"]
