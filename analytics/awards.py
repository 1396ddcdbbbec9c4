"""Award and period inputs over the pre-aggregate (sales_daily), never raw events.

Same portable SQL as analytics.boards (ClickHouse 18.16 .. chDB 26): no window functions,
DateTime64, JSONExtract or Map. Year-scoped figures cross campaigns: an enterprise's annual sales
are everything credited to it in that Shanghai year, whichever campaign the sale came through.
"""
from __future__ import annotations

from datetime import date, timezone

from analytics.base import AnalyticsStore
from analytics.boards import attribution_params, window_filter
from domain.attribution import Attribution
from domain.ranking import ParticipantTotals
from domain.regions import SaleRow

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


def _participant(column: str, prefix: str) -> str:
    """analytics.boards.participant_expr with its own parameter names, so hosts and enterprises can
    both be resolved in one query."""
    return (f"transform(concat(platform, '|', {column}), %({prefix}acct_keys)s, %({prefix}acct_ids)s, "
            f"transform({column}, %({prefix}ids)s, %({prefix}ids)s, ''))")


def sales_by_place(store: AnalyticsStore, *, first_day: date, last_day: date, hosts: Attribution,
                   enterprises: Attribution) -> list[SaleRow]:
    """Net sales per (product county, region code, enterprise, host) across all campaigns, the
    participants resolved to registered ids ("" when unattributed), for crediting regions
    (domain.regions.credit_sales). region_code is the event's own township or village code ('' when
    the event did not say)."""
    params: dict[str, object] = {"first_day": first_day, "last_day": last_day}
    for prefix, attribution in (("h_", hosts), ("e_", enterprises)):
        params |= {prefix + key: value for key, value in attribution_params(attribution).items()}
    rows = store.query(
        f"""
        SELECT county, region_code, {_participant('enterprise', 'e_')} AS enterprise_id,
               {_participant('host', 'h_')} AS host_id, sum(paid_fen) - sum(refunded_fen)
        FROM {{db}}.sales_daily
        WHERE day >= %(first_day)s AND day <= %(last_day)s
        GROUP BY county, region_code, enterprise_id, host_id
        """,
        params,
    )
    return [SaleRow(str(county), str(region), str(enterprise), str(host), int(net))
            for county, region, enterprise, host, net in rows]
