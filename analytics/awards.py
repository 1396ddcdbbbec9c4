"""Award and period inputs over the pre-aggregate (sales_daily), never raw events.

Same portable SQL as analytics.boards (ClickHouse 18.16 .. chDB 26): no window functions,
DateTime64, JSONExtract or Map. Year-scoped figures cross campaigns: an enterprise's annual sales
are everything credited to it in that Shanghai year, whichever campaign the sale came through.
"""
from __future__ import annotations

from datetime import date, timezone

from analytics.base import AnalyticsStore
from analytics.boards import window_filter
from domain.ranking import ParticipantTotals

DIMENSIONS = ("county", "category", "platform")


def totals_by_dimension(store: AnalyticsStore, *, dimension: str, first_day: date, last_day: date,
                        campaign: str | None = None) -> list[ParticipantTotals]:
    """Totals per county / category / platform value, shaped like participant totals so the
    domain ranking (and its tie-breaks) orders them."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension}")
    rows = store.query(
        f"""
        SELECT {dimension} AS value, sum(paid_fen) - sum(refunded_fen), sum(paid_fen), sum(refunded_fen),
               sum(order_count), sum(refund_count), sum(units), toInt64(uniqHLL12Merge(buyers)), maxMerge(last_event_at)
        FROM {{db}}.sales_daily
        WHERE {window_filter(campaign)}
        GROUP BY value
        """,
        {"campaign": campaign, "first_day": first_day, "last_day": last_day},
    )
    return [ParticipantTotals(str(value), int(net), int(paid), int(refunded), int(orders), int(refunds), int(units),
                              int(buyers), reached.astimezone(timezone.utc))
            for value, net, paid, refunded, orders, refunds, units, buyers, reached in rows]


def net_by_county(store: AnalyticsStore, *, first_day: date, last_day: date) -> dict[str, int]:
    """Net sales per product county across all campaigns (credited to the county for targets)."""
    rows = store.query(
        """
        SELECT county, sum(paid_fen) - sum(refunded_fen)
        FROM {db}.sales_daily
        WHERE day >= %(first_day)s AND day <= %(last_day)s
        GROUP BY county
        """,
        {"first_day": first_day, "last_day": last_day},
    )
    return {str(county): int(net) for county, net in rows}
