"""Boards: the one computation behind every board the product shows.

A board is the sales of a window of Shanghai days (one campaign or all), totalled per participant
(hosts, enterprises: attribution resolved at read time) or per report dimension (county, category,
platform), and ordered by domain.ranking. The ranking job publishes boards, the period API and the
console show them on demand, award selections rank from them — all through `compute_board`.

Also here: the period boards and breakdowns the public API computes on demand, and a past day's
boards exactly as published.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Mapping

from sqlalchemy.orm import Session, sessionmaker

from analytics.awards import totals_by_dimension
from analytics.base import AnalyticsStore
from analytics.boards import distinct_buyers, participant_totals, totals_of
from configstore import registry, snapshots
from configstore.registry import CampaignInfo
from domain.boards import (
    BOARDS,
    DIMENSION_NAMES_ZH,
    DIMENSIONS,
    PLATFORM_NAMES_ZH,
    TOP_N,
)
from domain.periods import Period, campaign_period, parse_period_key, period_containing
from domain.ranking import BoardEntry, ParticipantTotals, rank_participants
from domain.regions import XIANGXI_COUNTIES
from services.errors import ApiError

PERIOD_NAMES_ZH = {"day": "日榜", "week": "周榜", "month": "月榜", "year": "年榜", "campaign": "活动总榜"}
ON_DEMAND_KINDS = tuple(PERIOD_NAMES_ZH)


@dataclass(frozen=True)
class Board:
    """A full ranking (every ranked participant or value) and what could not be attributed."""

    dimension: str
    entries: list[BoardEntry]
    unattributed: ParticipantTotals | None = None
    totals: dict[str, int] | None = None  # the window's sales in all (participant boards), from the same query

    def top(self, n: int = TOP_N) -> list[BoardEntry]:
        return self.entries[:n]


def dimension_name(dimension: str, value: str) -> str:
    """How a person reads a county, category or platform value."""
    if dimension == "county":
        return XIANGXI_COUNTIES.get(value, value or "未知县市")
    if dimension == "platform":
        return PLATFORM_NAMES_ZH.get(value, value or "未知平台")
    return value or "未分类"


def compute_board(sessions: sessionmaker[Session], store: AnalyticsStore, *, dimension: str, first_day: date,
                  last_day: date, campaign: str | None = None, counties: tuple[str, ...] | None = None,
                  previous_ranks: Mapping[str, int] | None = None, drop_disqualified: bool = True,
                  buyers_for_top: int = TOP_N, whole_campaign: bool = False) -> Board:
    """One board over [first_day, last_day] (empty when first_day > last_day).

    dimension: "hosts" / "enterprises" (participants; the unattributed remainder is returned apart)
    or "county" / "category" / "platform". `campaign` None means every campaign (yearly awards);
    `counties` keeps only sales of products from those counties. Participants disqualified in the
    campaign are dropped before ranking unless `drop_disqualified` is False (award selections keep
    them, to list them as ineligible with the reason). Distinct buyers are merged only for the
    first `buyers_for_top` entries: it is the expensive part of the query. `whole_campaign`: the window
    is the campaign's own days, which the campaign-level pre-aggregate answers (analytics.boards).
    """
    previous_ranks = previous_ranks or {}  # domain.ranking wants a mapping: no previous board, no ranks
    if first_day > last_day:
        return Board(dimension, [])
    if dimension in DIMENSIONS:
        totals = totals_by_dimension(store, dimension=dimension, campaign=campaign, first_day=first_day,
                                     last_day=last_day)
        names = {t.participant_id: dimension_name(dimension, t.participant_id) for t in totals}
        return Board(dimension, rank_participants(totals, names=names, previous_ranks=previous_ranks or {}, limit=None,
                                                  only_sellers=False))
    if dimension not in BOARDS:
        raise ValueError(f"unknown board dimension {dimension!r}")

    attribution = registry.attribution(sessions, dimension)
    rows = participant_totals(store, board=dimension, first_day=first_day, last_day=last_day,
                              attribution=attribution, campaign=campaign, counties=counties,
                              whole_campaign=whole_campaign)
    unattributed = next((row for row in rows if row.participant_id == ""), None)
    excluded = (registry.disqualified(sessions, campaign, dimension)
                if drop_disqualified and campaign is not None else {})
    ranking = rank_participants([row for row in rows if row.participant_id], names=registry.names(sessions, dimension),
                                excluded=excluded, previous_ranks=previous_ranks or {}, limit=None)
    if buyers_for_top and ranking and campaign is not None:
        buyers = distinct_buyers(store, campaign=campaign, board=dimension, first_day=first_day, last_day=last_day,
                                 attribution=attribution,
                                 participant_ids=[e.participant_id for e in ranking[:buyers_for_top]],
                                 whole_campaign=whole_campaign)
        ranking = [replace(e, buyers=buyers.get(e.participant_id, 0)) if e.rank <= buyers_for_top else e
                   for e in ranking]
    return Board(dimension, ranking, unattributed, totals_of(rows))


# What anyone may see of a board line: the board page and the mini-program show these; refunds and
# paid amounts per participant are for organizers (console, admin API) only.
PUBLIC_FIELDS = ("rank", "previous_rank", "movement", "id", "name", "net_gmv_fen", "order_count", "units", "buyers")


def public_entries(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A published or computed board as the public sees it: the top ten, public fields only."""
    return [{name: entry.get(name) for name in PUBLIC_FIELDS} for entry in entries[:TOP_N]]


def entry_dict(entry: BoardEntry, top_n: int = TOP_N) -> dict[str, Any]:
    """A board entry as published and served (distinct buyers only for the shown top ten)."""
    return {
        "rank": entry.rank, "previous_rank": entry.previous_rank, "movement": entry.movement,
        "id": entry.participant_id, "name": entry.name, "net_gmv_fen": entry.net_gmv_fen,
        "paid_fen": entry.paid_fen, "refunded_fen": entry.refunded_fen, "order_count": entry.order_count,
        "refund_count": entry.refund_count, "units": entry.units,
        "buyers": entry.buyers if entry.rank <= top_n else None,
        "refund_rate": entry.refund_rate, "reached_at": entry.reached_at.isoformat(),
    }


def resolve_period(campaign: CampaignInfo, kind: str, key: str | None,
                   now: datetime) -> Period:
    """The period asked for; ApiError 400 (Chinese) for an unknown kind or a malformed key."""
    if kind not in ON_DEMAND_KINDS:
        # (today is a published board without a key; periods computed here are named by kind + key)
        raise ApiError(400, "invalid_period", "period 只能是 day、week、month、year 或 campaign",
                       details={"allowed": list(ON_DEMAND_KINDS)})
    if kind == "campaign":
        if key not in (None, "", campaign.slug):
            raise ApiError(400, "invalid_period_key", f"活动总榜的 key 只能是活动代码 {campaign.slug}")
        return campaign_period(campaign.slug, campaign.starts_at, campaign.ends_at)
    if not key:
        return period_containing(kind, now)
    try:
        return parse_period_key(kind, key)
    except ValueError:
        examples = {"day": "2026-06-01", "week": "2026-W23", "month": "2026-06", "year": "2026"}
        raise ApiError(400, "invalid_period_key", f"{PERIOD_NAMES_ZH[kind]}的 key 格式应为 {examples[kind]}",
                       details={"key": key}) from None


def clip(campaign: CampaignInfo, period: Period) -> tuple[date, date]:
    """The period's days inside the campaign (first > last when they do not overlap)."""
    return max(period.first_day, campaign.first_day), min(period.last_day, campaign.last_day)


def _period_header(campaign: CampaignInfo, period: Period, now: datetime,
                   frozen_at: datetime | None) -> dict[str, Any]:
    return {"campaign": campaign.as_dict(), "period": period.kind, "period_key": period.key,
            "period_name": PERIOD_NAMES_ZH[period.kind], "first_day": period.first_day.isoformat(),
            "last_day": period.last_day.isoformat(), "computed_at": now.isoformat(),
            "source": "frozen" if frozen_at else "computed",
            "frozen_at": frozen_at.isoformat() if frozen_at else None}


def period_boards(sessions: sessionmaker[Session], store: AnalyticsStore, campaign: CampaignInfo, period: Period,
                  now: datetime, frozen_at: datetime | None = None, organizer: bool = False) -> dict[str, Any]:
    """Both boards for one period, computed now: the top ten as the public sees them (public fields),
    or every field for organizers; the full count given. `frozen_at`: computed for the freeze
    (services/freeze.py)."""
    first_day, last_day = clip(campaign, period)
    payload = _period_header(campaign, period, now, frozen_at)
    for board in BOARDS:
        computed = (compute_board(sessions, store, dimension=board, campaign=campaign.slug, first_day=first_day,
                                  last_day=last_day, whole_campaign=period.kind == "campaign")
                    if board in campaign.boards else Board(board, []))
        top = [entry_dict(e) for e in computed.top()]
        payload[board] = top if organizer else public_entries(top)
        payload[f"ranked_{board}"] = len(computed.entries)
    return payload


def empty_period_boards(campaign: CampaignInfo, period: Period, frozen_at: datetime) -> dict[str, Any]:
    """A period with nothing in it as of the freeze (it starts after the freeze day)."""
    payload = _period_header(campaign, period, frozen_at, frozen_at)
    for board in BOARDS:
        payload[board], payload[f"ranked_{board}"] = [], 0
    return payload


def _breakdown_payload(campaign: CampaignInfo, period: Period, dimension: str, ranking: list[BoardEntry],
                       now: datetime, frozen_at: datetime | None) -> dict[str, Any]:
    total_net = sum(e.net_gmv_fen for e in ranking)
    rows = [{"rank": e.rank, "value": e.participant_id, "name": e.name, "net_gmv_fen": e.net_gmv_fen,
             "paid_fen": e.paid_fen, "refunded_fen": e.refunded_fen, "order_count": e.order_count,
             "refund_count": e.refund_count, "units": e.units, "buyers": e.buyers, "refund_rate": e.refund_rate,
             "share": round(e.net_gmv_fen / total_net, 4) if total_net else 0.0} for e in ranking]
    header = _period_header(campaign, period, now, frozen_at)
    return {"campaign": header["campaign"], "dimension": dimension, "dimension_name": DIMENSION_NAMES_ZH[dimension],
            "period": period.kind, "period_key": period.key, "first_day": header["first_day"],
            "last_day": header["last_day"], "net_gmv_fen": total_net, "rows": rows, "computed_at": now.isoformat(),
            "source": header["source"], "frozen_at": header["frozen_at"]}


def breakdown(sessions: sessionmaker[Session], store: AnalyticsStore, campaign: CampaignInfo, period: Period,
              dimension: str, now: datetime, frozen_at: datetime | None = None) -> dict[str, Any]:
    """Net GMV of one period by county, category or platform, with each value's share. Every value
    is listed, those at zero or below too, so the rows add up to the period's net GMV whatever the
    dimension."""
    first_day, last_day = clip(campaign, period)
    ranking = compute_board(sessions, store, dimension=dimension, campaign=campaign.slug, first_day=first_day,
                            last_day=last_day).entries
    return _breakdown_payload(campaign, period, dimension, ranking, now, frozen_at)


def empty_breakdown(campaign: CampaignInfo, period: Period, dimension: str, frozen_at: datetime) -> dict[str, Any]:
    return _breakdown_payload(campaign, period, dimension, [], frozen_at, frozen_at)


def published_day(sessions: sessionmaker[Session], campaign: CampaignInfo, day: date) -> dict[str, Any] | None:
    """Both boards of a day exactly as the ranking job last published them (None if never)."""
    payload: dict[str, Any] = {"campaign": campaign.as_dict(), "period": "day", "period_key": day.isoformat(),
                               "source": "snapshot"}
    found = False
    for board in BOARDS:
        snap = snapshots.latest(sessions, campaign.slug, board, "day", day.isoformat())
        found = found or snap is not None
        payload[board] = public_entries(snap.entries) if snap else []
        payload[f"{board}_published_at"] = snap.published_at.isoformat() if snap else None
        payload[f"{board}_computed_at"] = snap.computed_at.isoformat() if snap else None
        payload[f"{board}_content_hash"] = snap.content_hash if snap else None
    return payload if found else None
