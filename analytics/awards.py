"""Award and period inputs over the pre-aggregate (sales_daily), never raw events.

Same portable SQL as analytics.boards (ClickHouse 18.16 .. chDB 26): no window functions,
DateTime64, JSONExtract or Map. Year-scoped figures cross campaigns: an enterprise's annual sales
are everything credited to it in that Shanghai year, whichever campaign the sale came through.
"""
from __future__ import annotations

from datetime import date, timezone

from analytics.base import AnalyticsStore
from analytics.boards import BOARD_COLUMNS, Attribution, participant_expr
from domain.ranking import ParticipantTotals

DIMENSIONS = ("county", "category", "platform")


def _where(campaign: str | None, counties: tuple[str, ...] | None) -> str:
    clauses = ["day >= %(first_day)s", "day <= %(last_day)s"]
    if campaign is not None:
        clauses.append("campaign = %(campaign)s")
    if counties is not None:
        clauses.append("county IN %(counties)s")
    return " AND ".join(clauses)


def totals_by_participant(store: AnalyticsStore, *, board: str, first_day: date, last_day: date,
                          attribution: Attribution, campaign: str | None = None,
                          counties: tuple[str, ...] | None = None) -> list[ParticipantTotals]:
    """Per participant totals over [first_day, last_day]; one campaign or all (campaign=None);
    optionally only sales of products from the given counties. Unattributed comes back as id ""."""
    column = BOARD_COLUMNS[board]
    rows = store.query(
        f"""
        SELECT {participant_expr(column)} AS participant,
               sum(paid_fen) - sum(refunded_fen) AS net_gmv_fen,
               sum(paid_fen), sum(refunded_fen), sum(order_count), sum(refund_count), sum(units),
               maxMerge(last_event_at)
        FROM {{db}}.sales_daily
        WHERE {_where(campaign, counties)}
        GROUP BY participant
        """,
        {"campaign": campaign, "first_day": first_day, "last_day": last_day,
         "counties": tuple(counties or ("",)), **attribution.params()},
    )
    return [ParticipantTotals(pid, int(net), int(paid), int(refunded), int(orders), int(refunds), int(units), 0,
                              reached.astimezone(timezone.utc))
            for pid, net, paid, refunded, orders, refunds, units, reached in rows]


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
        WHERE {_where(campaign, None)}
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
