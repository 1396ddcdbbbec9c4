"""What the analytics store (a ClickHouse server) holds, read directly, for the reliability runs."""
from __future__ import annotations

import time

from bench.infra import Services


def stored_count(services: Services, settings) -> int:
    database = settings.clickhouse_url.rsplit("/", 1)[1]
    try:
        return services.ch_client().execute(f"SELECT count() FROM {database}.sales_events")[0][0]
    except Exception:  # ClickHouse restarting: no progress to report
        return -1


def stored_rows(services: Services, settings) -> list[tuple[str, str, int]]:
    """Every raw row as stored, duplicates included (no FINAL, no GROUP BY)."""
    database = settings.clickhouse_url.rsplit("/", 1)[1]
    return services.ch_client().execute(f"SELECT event_id, type, amount_fen FROM {database}.sales_events")


def wait_stored(services: Services, settings, expected: int, echo, quiet_s: float = 60) -> None:
    database = settings.clickhouse_url.rsplit("/", 1)[1]
    last, last_change = -1, time.monotonic()
    while True:
        try:
            (stored,) = services.ch_client().execute(f"SELECT uniqExact(event_id) FROM {database}.sales_events")[0]
        except Exception:  # ClickHouse may still be coming back
            stored = last
        if stored >= expected:
            return
        if stored != last:
            last, last_change = stored, time.monotonic()
            echo(f"[reliability] stored {stored}/{expected}")
        elif time.monotonic() - last_change > quiet_s:
            echo(f"[reliability] writers made no progress for {quiet_s:.0f} s at {stored}/{expected}")
            return
        time.sleep(1)
