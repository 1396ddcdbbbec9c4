"""Board queries over the pre-aggregate (sales_daily): never a scan of raw events.

Attribution happens here, at read time: a posted `host`/`enterprise` is either a registered id
or a registered platform account (platform|account). `transform()` maps both to the
participant id inside the query, so registering or re-attributing an account changes the
boards at the next run without rewriting any stored row. Anything that maps to nothing is
returned under the empty id "" (unattributed).
"""
from __future__ import annotations

from datetime import date, timezone

from analytics.base import AnalyticsStore
from domain.attribution import Attribution
from domain.ranking import ParticipantTotals

BOARD_COLUMNS = {"hosts": "host", "enterprises": "enterprise"}
_SENTINEL = "\x00"  # keeps the transform() arrays non-empty (an empty array literal has no type)


def attribution_params(attribution: Attribution) -> dict[str, list[str]]:
    """The query parameters `participant_expr` reads."""
    ids = list(attribution.ids) or [_SENTINEL]
    keys = [f"{platform}|{account}" for platform, account in attribution.accounts] or [_SENTINEL]
    values = list(attribution.accounts.values()) or [""]
    return {"ids": ids, "acct_keys": keys, "acct_ids": values}


def participant_expr(column: str) -> str:
    """SQL for 'which registered participant is this row': account first, then id, else ''."""
    return (f"transform(concat(platform, '|', {column}), %(acct_keys)s, %(acct_ids)s, "
            f"transform({column}, %(ids)s, %(ids)s, ''))")


def window_filter(campaign: str | None, counties: tuple[str, ...] | None = None) -> str:
    """WHERE for a day window, one campaign or all (None), optionally products of some counties."""
    clauses = ["day >= %(first_day)s", "day <= %(last_day)s"]
    if campaign is not None:
        clauses.append("campaign = %(campaign)s")
    if counties is not None:
        clauses.append("county IN %(counties)s")
    return " AND ".join(clauses)


def participant_totals(store: AnalyticsStore, *, board: str, first_day: date, last_day: date,
                       attribution: Attribution, campaign: str | None = None,
                       counties: tuple[str, ...] | None = None) -> list[ParticipantTotals]:
    """Totals per participant over [first_day, last_day], for one campaign or all (None), optionally
    only sales of products from the given counties. The unattributed remainder comes back under
    participant id "".

    Distinct buyers are left at 0 here: merging uniq states is the expensive part of the query
    and only the shown top ten need them (see `distinct_buyers`).
    """
    column = BOARD_COLUMNS[board]
    rows = store.query(
        f"""
        SELECT {participant_expr(column)} AS participant,
               sum(paid_fen) - sum(refunded_fen) AS net_gmv_fen,
               sum(paid_fen), sum(refunded_fen), sum(order_count), sum(refund_count), sum(units),
               maxMerge(last_event_at)
        FROM {{db}}.sales_daily
        WHERE {window_filter(campaign, counties)}
        GROUP BY participant
        """,
        {"campaign": campaign, "first_day": first_day, "last_day": last_day,
         "counties": tuple(counties or ("",)), **attribution_params(attribution)},
    )
    return [ParticipantTotals(pid, int(net), int(paid), int(refunded), int(orders), int(refunds), int(units), 0,
                              reached.astimezone(timezone.utc))
            for pid, net, paid, refunded, orders, refunds, units, reached in rows]


def distinct_buyers(store: AnalyticsStore, *, campaign: str, board: str, first_day: date, last_day: date,
                    attribution: Attribution, participant_ids: list[str]) -> dict[str, int]:
    """Distinct buyers for a few participants. Rows are narrowed in WHERE (by the posted values
    that can map to them) before any uniq state is merged, so the cost follows the few, not all."""
    if not participant_ids:
        return {}
    wanted = set(participant_ids)
    column = BOARD_COLUMNS[board]
    account_keys = [f"{p}|{a}" for (p, a), owner in attribution.accounts.items() if owner in wanted]
    rows = store.query(
        f"""
        SELECT {participant_expr(column)} AS participant, toInt64(uniqHLL12Merge(buyers))
        FROM {{db}}.sales_daily
        WHERE campaign = %(campaign)s AND day >= %(first_day)s AND day <= %(last_day)s
          AND ({column} IN %(wanted_ids)s OR concat(platform, '|', {column}) IN %(wanted_keys)s)
        GROUP BY participant
        """,
        {"campaign": campaign, "first_day": first_day, "last_day": last_day, **attribution_params(attribution),
         "wanted_ids": tuple(sorted(wanted)), "wanted_keys": tuple(account_keys) or (_SENTINEL,)},
    )
    return {pid: int(count) for pid, count in rows if pid in wanted}


def campaign_totals(store: AnalyticsStore, *, campaign: str, first_day: date, last_day: date) -> dict[str, int]:
    rows = store.query(
        """
        SELECT sum(paid_fen) - sum(refunded_fen), sum(paid_fen), sum(refunded_fen), sum(order_count),
               sum(refund_count), sum(units)
        FROM {db}.sales_daily
        WHERE campaign = %(campaign)s AND day >= %(first_day)s AND day <= %(last_day)s
        """,
        {"campaign": campaign, "first_day": first_day, "last_day": last_day},
    )
    names = ("net_gmv_fen", "paid_fen", "refunded_fen", "order_count", "refund_count", "units")
    values = rows[0] if rows else (0,) * len(names)
    return {name: int(value or 0) for name, value in zip(names, values, strict=True)}


def net_gmv_by(store: AnalyticsStore, *, dimension: str, campaign: str, first_day: date,
               last_day: date) -> list[tuple[str, int]]:
    """Net GMV grouped by county, category or platform, largest first."""
    if dimension not in ("county", "category", "platform"):
        raise ValueError(f"unknown dimension {dimension}")
    rows = store.query(
        f"""
        SELECT {dimension}, sum(paid_fen) - sum(refunded_fen) AS net
        FROM {{db}}.sales_daily
        WHERE campaign = %(campaign)s AND day >= %(first_day)s AND day <= %(last_day)s
        GROUP BY {dimension}
        ORDER BY net DESC, {dimension}
        """,
        {"campaign": campaign, "first_day": first_day, "last_day": last_day},
    )
    return [(str(key), int(net)) for key, net in rows]
