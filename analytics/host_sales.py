"""One participant's own figures over the pre-aggregate (sales_daily), for the host's phone.

Attribution is the boards' (analytics.boards): a posted host value that is the host's id or one
of the host's platform accounts counts; the query filters on that mapped id, so another host's
rows can never leak in. Portable SQL (ClickHouse 18.16 .. chDB), see analytics.base.
"""
from __future__ import annotations

from datetime import date, timedelta

from analytics.base import AnalyticsStore
from analytics.boards import BOARD_COLUMNS, attribution_params, participant_expr
from domain.attribution import Attribution


def daily_net_gmv(store: AnalyticsStore, *, campaign: str, board: str, participant_id: str, first_day: date,
                  last_day: date, attribution: Attribution) -> list[tuple[date, int]]:
    """``[(day, net_gmv_fen), ...]`` for every day from first_day to last_day (0 on quiet days)."""
    if first_day > last_day:
        return []
    rows = store.query(
        f"""
        SELECT day, sum(paid_fen) - sum(refunded_fen) AS net
        FROM {{db}}.sales_daily
        WHERE campaign = %(campaign)s AND day >= %(first_day)s AND day <= %(last_day)s
          AND {participant_expr(BOARD_COLUMNS[board])} = %(participant)s
        GROUP BY day
        ORDER BY day
        """,
        {"campaign": campaign, "first_day": first_day, "last_day": last_day, "participant": participant_id,
         **attribution_params(attribution.only(participant_id))},
    )
    by_day = {day: int(net) for day, net in rows}
    span = (last_day - first_day).days + 1
    return [(d, by_day.get(d, 0)) for d in (first_day + timedelta(days=i) for i in range(span))]
