"""Reconciliation: raw events (deduplicated at read time) against the pre-aggregate.

The two must agree to the fen; `liveboard stats` prints both so an operator can check.
"""
from __future__ import annotations

from analytics.base import AnalyticsStore


def raw_totals(store: AnalyticsStore) -> dict[str, dict[str, int]]:
    rows = store.query(
        """
        SELECT campaign, count(), countIf(type = 'order.paid'), countIf(type = 'order.refunded'),
               sumIf(amount_fen, type = 'order.paid'), sumIf(amount_fen, type = 'order.refunded')
        FROM (
            SELECT event_id, any(campaign) AS campaign, any(type) AS type, any(amount_fen) AS amount_fen
            FROM {db}.sales_events GROUP BY event_id
        )
        GROUP BY campaign ORDER BY campaign
        """)
    return {c: {"events": n, "paid_orders": po, "refunds": rf, "paid_fen": paid, "refunded_fen": refunded,
                "net_gmv_fen": paid - refunded} for c, n, po, rf, paid, refunded in rows}


def aggregate_totals(store: AnalyticsStore) -> dict[str, dict[str, int]]:
    rows = store.query(
        """
        SELECT campaign, sum(order_count), sum(refund_count), sum(paid_fen), sum(refunded_fen)
        FROM {db}.sales_daily GROUP BY campaign ORDER BY campaign
        """)
    return {c: {"paid_orders": po, "refunds": rf, "paid_fen": paid, "refunded_fen": refunded,
                "net_gmv_fen": paid - refunded} for c, po, rf, paid, refunded in rows}


def reconcile(store: AnalyticsStore) -> dict:
    raw, aggregate = raw_totals(store), aggregate_totals(store)
    matches = all(
        {k: v for k, v in raw.get(c, {}).items() if k != "events"} == aggregate.get(c)
        for c in set(raw) | set(aggregate) if c in raw and raw[c]["paid_orders"] + raw[c]["refunds"] > 0
    )
    return {"raw": raw, "aggregate": aggregate, "matches": matches}
