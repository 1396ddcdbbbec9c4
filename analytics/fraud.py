"""Inputs for the fraud rules (domain.fraud) for one campaign.

Same portable SQL as analytics.boards (ClickHouse 18.16 .. chDB 26): no window functions,
DateTime64, JSONExtract or Map. Totals come from the pre-aggregate (sales_daily); the two hourly
views need the hour of each event, so they read raw sales_events of the one campaign, deduplicated
at read time (GROUP BY event_id) because ReplacingMergeTree only drops repeats at merge time.
Hours come back as Unix seconds (toUnixTimestamp) so both clients return the same UTC instant.
"""
from __future__ import annotations

from datetime import datetime, timezone

from analytics.base import AnalyticsStore
from analytics.boards import BOARD_COLUMNS, attribution_params, participant_expr
from domain.attribution import Attribution
from domain.fraud import BuyerHourOrders, HourlyNet
from domain.ranking import ParticipantTotals


def _deduplicated_events() -> str:
    return """
        SELECT event_id, any(type) AS type, any(occurred_at) AS occurred_at, any(platform) AS platform,
               any(host) AS host, any(enterprise) AS enterprise, any(buyer) AS buyer, any(amount_fen) AS amount_fen
        FROM {db}.sales_events
        WHERE campaign = %(campaign)s
        GROUP BY event_id
    """


def _utc(seconds) -> datetime:
    return datetime.fromtimestamp(int(seconds), timezone.utc)


def refund_totals(store: AnalyticsStore, *, campaign: str, board: str,
                  attribution: Attribution) -> list[ParticipantTotals]:
    """Paid / refunded totals and paid order counts per registered participant, whole campaign."""
    column = BOARD_COLUMNS[board]
    rows = store.query(
        f"""
        SELECT {participant_expr(column)} AS participant,
               sum(paid_fen) - sum(refunded_fen), sum(paid_fen), sum(refunded_fen), sum(order_count),
               sum(refund_count), sum(units), maxMerge(last_event_at)
        FROM {{db}}.sales_daily
        WHERE campaign = %(campaign)s
        GROUP BY participant
        """,
        {"campaign": campaign, **attribution_params(attribution)},
    )
    return [ParticipantTotals(str(pid), int(net), int(paid), int(refunded), int(orders), int(refunds), int(units), 0,
                              reached.astimezone(timezone.utc))
            for pid, net, paid, refunded, orders, refunds, units, reached in rows if pid]


def buyer_hour_orders(store: AnalyticsStore, *, campaign: str, board: str, attribution: Attribution,
                      min_orders: int = 1) -> list[BuyerHourOrders]:
    """Paid orders per (buyer, participant, UTC hour); only groups with at least ``min_orders``."""
    column = BOARD_COLUMNS[board]
    rows = store.query(
        f"""
        SELECT {participant_expr(column)} AS participant, buyer,
               toUnixTimestamp(toStartOfHour(occurred_at)) AS hour_start, count() AS orders
        FROM ({_deduplicated_events()})
        WHERE type = 'order.paid' AND buyer != ''
        GROUP BY participant, buyer, hour_start
        HAVING orders >= %(min_orders)s
        ORDER BY participant, hour_start, buyer
        """,
        {"campaign": campaign, "min_orders": int(min_orders), **attribution_params(attribution)},
    )
    return [BuyerHourOrders(str(pid), str(buyer), _utc(hour), int(orders))
            for pid, buyer, hour, orders in rows if pid]


def hourly_net(store: AnalyticsStore, *, campaign: str, board: str, attribution: Attribution) -> list[HourlyNet]:
    """Net GMV (paid minus refunded) per participant and UTC hour, only hours with events."""
    column = BOARD_COLUMNS[board]
    rows = store.query(
        f"""
        SELECT {participant_expr(column)} AS participant,
               toUnixTimestamp(toStartOfHour(occurred_at)) AS hour_start,
               sumIf(amount_fen, type = 'order.paid') - sumIf(amount_fen, type = 'order.refunded') AS net
        FROM ({_deduplicated_events()})
        WHERE type IN ('order.paid', 'order.refunded')
        GROUP BY participant, hour_start
        ORDER BY participant, hour_start
        """,
        {"campaign": campaign, **attribution_params(attribution)},
    )
    return [HourlyNet(str(pid), _utc(hour), int(net)) for pid, hour, net in rows if pid]
