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
    """Until `expected` events are stored or held (refunds waiting for their order), or no progress."""
    database = settings.clickhouse_url.rsplit("/", 1)[1]
    last, last_change = -1, time.monotonic()
    while True:
        try:
            (stored,) = services.ch_client().execute(
                f"SELECT (SELECT uniqExact(event_id) FROM {database}.sales_events) "
                f"+ (SELECT count() FROM {database}.pending_refunds FINAL WHERE applied = 0)")[0]
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


def held_refunds(services: Services, settings) -> set[str]:
    """Event ids of refunds waiting for their order (pending_refunds, not applied)."""
    database = settings.clickhouse_url.rsplit("/", 1)[1]
    rows = services.ch_client().execute(
        f"SELECT event_id FROM {database}.pending_refunds FINAL WHERE applied = 0")
    return {event_id for (event_id,) in rows}

