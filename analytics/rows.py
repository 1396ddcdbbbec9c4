"""The raw table's row: one sales event as `sales_events` stores it, in its column order."""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple


class SalesRow(NamedTuple):
    event_id: str
    type: str
    occurred_at: datetime
    received_at: datetime
    source: str
    platform: str
    campaign: str
    host: str
    enterprise: str
    order_id: str
    refund_id: str
    live_id: str
    sku: str
    product_name: str
    category: str
    county: str
    buyer: str
    quantity: int
    amount_fen: int
    peak_viewers: int
    total_viewers: int
    raw: str
    region_code: str = ""  # township (9 digits) or village (12 digits) under `county`
    adjustment: str = ""  # '' as posted; 'capped:<posted fen>' for a refund capped at its order's rest


COLUMNS: tuple[str, ...] = SalesRow._fields
