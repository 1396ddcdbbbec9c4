"""Board queries over the pre-aggregates (sales_daily; sales_campaign for a whole campaign): never
a scan of raw events.

Attribution happens here, at read time: a posted `host`/`enterprise` is either a registered id
or a registered platform account (platform|account), so registering or re-attributing an account
changes the boards at the next run without rewriting any stored row. Anything that maps to nothing
is returned under the empty id "" (unattributed). The board queries group by what was posted
(platform, value) — a few hundred groups — and the mapping is applied to those groups
(`attribute`), not as a string transform() over every pre-aggregate row.

A whole campaign (`whole_campaign=True`) is read from sales_campaign (no day) when its rows' days all
fall inside the window asked for — the usual case; sales outside the campaign's days make it read
sales_daily for the window instead, so the figures are the same either way.
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


def attribute(attribution: Attribution, platform: str, posted: str, ids: frozenset[str] | None = None) -> str:
    """The participant a posted value means (as participant_expr says in SQL): account first, then id.
    `ids`: frozenset(attribution.ids), when the caller attributes many values."""
    owner = attribution.accounts.get((platform, posted))
    if owner is not None:
        return owner
    return posted if posted in (ids if ids is not None else frozenset(attribution.ids)) else ""


def window_filter(campaign: str | None, counties: tuple[str, ...] | None = None) -> str:
    """WHERE for a day window, one campaign or all (None), optionally products of some counties."""
    clauses = ["day >= %(first_day)s", "day <= %(last_day)s"]
    if campaign is not None:
        clauses.append("campaign = %(campaign)s")
    if counties is not None:
        clauses.append("county IN %(counties)s")
    return " AND ".join(clauses)


_TOTALS = """
    SELECT platform, {column} AS posted,
           sum(paid_fen), sum(refunded_fen), sum(order_count), sum(refund_count), sum(units),
           maxMerge(last_event_at){days}
    FROM {{db}}.{table}
    WHERE {where}
    GROUP BY platform, posted
"""


def _covered(rows: list[tuple], first_day: date, last_day: date) -> bool:
    """Every sales_campaign group's days lie inside [first_day, last_day] (its last two columns)."""
    return all(first_day <= row[-2] and row[-1] <= last_day for row in rows)


def participant_totals(store: AnalyticsStore, *, board: str, first_day: date, last_day: date,
                       attribution: Attribution, campaign: str | None = None,
                       counties: tuple[str, ...] | None = None,
                       whole_campaign: bool = False) -> list[ParticipantTotals]:
    """Totals per participant over [first_day, last_day], for one campaign or all (None), optionally
    only sales of products from the given counties. The unattributed remainder comes back under
    participant id "". `whole_campaign`: the window is the campaign's own days (see the module doc).

    Distinct buyers are left at 0 here: merging uniq states is the expensive part of the query
    and only the shown top ten need them (see `distinct_buyers`).
    """
    column = BOARD_COLUMNS[board]
    params = {"campaign": campaign, "first_day": first_day, "last_day": last_day,
              "counties": tuple(counties or ("",))}
    rows = None
    if whole_campaign and campaign is not None:
        where = "campaign = %(campaign)s" + (" AND county IN %(counties)s" if counties is not None else "")
        rows = store.query(_TOTALS.format(column=column, table="sales_campaign", where=where,
                                          days=", minMerge(first_day), maxMerge(last_day)"), params)
        rows = [row[:-2] for row in rows] if _covered(rows, first_day, last_day) else None
    if rows is None:
        rows = store.query(_TOTALS.format(column=column, table="sales_daily", where=window_filter(campaign, counties),
                                          days=""), params)
    summed: dict[str, list] = {}
    ids = frozenset(attribution.ids)
    for platform, posted, paid, refunded, orders, refunds, units, reached in rows:
        participant = attribute(attribution, platform, posted, ids)
        total = summed.get(participant)
        if total is None:
            summed[participant] = [int(paid), int(refunded), int(orders), int(refunds), int(units), reached]
        else:
            total[0] += int(paid)
            total[1] += int(refunded)
            total[2] += int(orders)
            total[3] += int(refunds)
            total[4] += int(units)
            total[5] = max(total[5], reached)
    return [ParticipantTotals(pid, paid - refunded, paid, refunded, orders, refunds, units, 0,
                              reached.astimezone(timezone.utc))
            for pid, (paid, refunded, orders, refunds, units, reached) in summed.items()]


def distinct_buyers(store: AnalyticsStore, *, campaign: str, board: str, first_day: date, last_day: date,
                    attribution: Attribution, participant_ids: list[str],
                    whole_campaign: bool = False) -> dict[str, int]:
    """Distinct buyers for a few participants. Rows are narrowed in WHERE (by the posted values
    that can map to them), their buyer states merged per posted value, and only those few groups are
    attributed and merged again per participant: the cost follows the few, not all."""
    if not participant_ids:
        return {}
    wanted = set(participant_ids)
    column = BOARD_COLUMNS[board]
    account_keys = [f"{p}|{a}" for (p, a), owner in attribution.accounts.items() if owner in wanted]
    params = {"campaign": campaign, "first_day": first_day, "last_day": last_day, **attribution_params(attribution),
              "wanted_ids": tuple(sorted(wanted)), "wanted_keys": tuple(account_keys) or (_SENTINEL,)}
    match = f"({column} IN %(wanted_ids)s OR concat(platform, '|', {column}) IN %(wanted_keys)s)"

    def merged(table: str, where: str, with_days: bool) -> list[tuple]:
        inner_days = ", minMerge(first_day) AS first_in, maxMerge(last_day) AS last_in" if with_days else ""
        outer_days = ", min(first_in), max(last_in)" if with_days else ""
        return store.query(
            f"""
            SELECT {participant_expr("posted")} AS participant, toInt64(uniqHLL12Merge(state)){outer_days}
            FROM (
                SELECT platform, {column} AS posted, uniqHLL12MergeState(buyers) AS state{inner_days}
                FROM {{db}}.{table}
                WHERE {where} AND {match}
                GROUP BY platform, posted
            )
            GROUP BY participant
            """, params)

    rows = None
    if whole_campaign:
        rows = merged("sales_campaign", "campaign = %(campaign)s", True)
        rows = [(r[0], r[1]) for r in rows] if _covered(rows, first_day, last_day) else None
    if rows is None:
        rows = merged("sales_daily", "campaign = %(campaign)s AND day >= %(first_day)s AND day <= %(last_day)s", False)
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


def totals_of(rows: list[ParticipantTotals]) -> dict[str, int]:
    """A window's totals from its board rows (every row of a board, the unattributed one included,
    adds up to all of the window's sales): what campaign_totals would return, without its query."""
    totals = dict.fromkeys(("net_gmv_fen", "paid_fen", "refunded_fen", "order_count", "refund_count", "units"), 0)
    for row in rows:
        totals["paid_fen"] += row.paid_fen
        totals["refunded_fen"] += row.refunded_fen
        totals["order_count"] += row.order_count
        totals["refund_count"] += row.refund_count
        totals["units"] += row.units
    totals["net_gmv_fen"] = totals["paid_fen"] - totals["refunded_fen"]
    return totals


def net_gmv_by(store: AnalyticsStore, *, dimension: str, campaign: str, first_day: date,
               last_day: date, whole_campaign: bool = False) -> list[tuple[str, int]]:
    """Net GMV grouped by county, category or platform, largest first."""
    if dimension not in ("county", "category", "platform"):
        raise ValueError(f"unknown dimension {dimension}")
    if whole_campaign:
        grouped = store.query(
            f"""
            SELECT {dimension}, sum(paid_fen) - sum(refunded_fen) AS net, minMerge(first_day), maxMerge(last_day)
            FROM {{db}}.sales_campaign
            WHERE campaign = %(campaign)s
            GROUP BY {dimension}
            ORDER BY net DESC, {dimension}
            """, {"campaign": campaign})
        if _covered(grouped, first_day, last_day):
            return [(str(key), int(net)) for key, net, _, _ in grouped]
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
