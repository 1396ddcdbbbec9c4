"""The ranking job: pre-aggregate -> domain ranking -> published snapshots.

Per active campaign, both boards (hosts, enterprises) for the whole campaign and for today
(Asia/Shanghai). Knows nothing of HTTP; the API only reads what this publishes.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone

from sqlalchemy.orm import Session, sessionmaker

from analytics.base import AnalyticsStore
from analytics.boards import campaign_totals, distinct_buyers, net_gmv_by, participant_totals
from configstore import registry, snapshots
from configstore.registry import CampaignInfo
from domain.periods import local_day
from domain.ranking import BoardEntry, rank_participants

log = logging.getLogger(__name__)

BOARDS = ("hosts", "enterprises")
TOP_N = 10
PERIOD_KINDS = ("campaign", "day")


@dataclass(frozen=True)
class BoardWindow:
    kind: str
    key: str
    first_day: date
    last_day: date


def windows_for(campaign: CampaignInfo, now: datetime) -> list[BoardWindow]:
    """The campaign as a whole, and today clipped to the campaign's days (empty outside them)."""
    today = local_day(now)
    return [
        BoardWindow("campaign", campaign.slug, campaign.first_day, campaign.last_day),
        BoardWindow("day", today.isoformat(), max(today, campaign.first_day), min(today, campaign.last_day)),
    ]


def entry_dict(entry: BoardEntry, top_n: int = TOP_N) -> dict:
    # distinct buyers are computed for the shown top ten only (see analytics.boards.distinct_buyers)
    return {
        "rank": entry.rank, "previous_rank": entry.previous_rank, "movement": entry.movement,
        "id": entry.participant_id, "name": entry.name, "net_gmv_fen": entry.net_gmv_fen,
        "paid_fen": entry.paid_fen, "refunded_fen": entry.refunded_fen, "order_count": entry.order_count,
        "refund_count": entry.refund_count, "units": entry.units, "buyers": entry.buyers if entry.rank <= top_n else None,
        "refund_rate": entry.refund_rate, "reached_at": entry.reached_at.isoformat(),
    }


def compute_board(sessions: sessionmaker[Session], store: AnalyticsStore, campaign: CampaignInfo, board: str,
                  window: BoardWindow, previous_ranks: dict[str, int]) -> tuple[list[BoardEntry], dict[str, int]]:
    """The full ranking (every ranked participant) and the unattributed totals."""
    if window.first_day > window.last_day:
        return [], {"net_gmv_fen": 0, "order_count": 0}
    attribution = registry.attribution(sessions, board)
    rows = participant_totals(store, campaign=campaign.slug, board=board, first_day=window.first_day,
                              last_day=window.last_day, attribution=attribution)
    unattributed = {"net_gmv_fen": 0, "order_count": 0}
    totals = []
    for row in rows:
        if row.participant_id == "":
            unattributed = {"net_gmv_fen": row.net_gmv_fen, "order_count": row.order_count}
        else:
            totals.append(row)
    ranking = rank_participants(totals, names=registry.names(sessions, board),
                                excluded=registry.disqualified(sessions, campaign.slug, board),
                                previous_ranks=previous_ranks, limit=None)
    buyers = distinct_buyers(store, campaign=campaign.slug, board=board, first_day=window.first_day,
                             last_day=window.last_day, attribution=attribution,
                             participant_ids=[e.participant_id for e in ranking[:TOP_N]])
    ranking = [replace(e, buyers=buyers.get(e.participant_id, 0)) if e.rank <= TOP_N else e for e in ranking]
    return ranking, unattributed


def publish_campaign(sessions: sessionmaker[Session], store: AnalyticsStore, campaign: CampaignInfo,
                     now: datetime) -> dict:
    started = time.perf_counter()
    changed = 0
    unattributed_by_board = {}
    for window in windows_for(campaign, now):
        for board in campaign.boards:  # only the boards the campaign shows
            previous = snapshots.latest(sessions, campaign.slug, board, window.kind, window.key)
            previous_ranks = {e["id"]: e["rank"] for e in previous.entries} if previous else {}
            ranking, unattributed = compute_board(sessions, store, campaign, board, window, previous_ranks)
            if window.kind == "campaign":
                unattributed_by_board[board] = unattributed
            # an unchanged board is not republished, so arrows stay relative to the last change; a new
            # snapshot whose top ten differs also records a BoardChange fact (read by scheduler/push_job.py)
            entries = [entry_dict(e) for e in ranking]
            _, was_new = snapshots.publish(sessions, campaign_slug=campaign.slug, board=board,
                                           period_kind=window.kind, period_key=window.key,
                                           computed_at=now, entries=entries)
            changed += int(was_new)
    totals = campaign_totals(store, campaign=campaign.slug, first_day=campaign.first_day, last_day=campaign.last_day)
    by_county = net_gmv_by(store, dimension="county", campaign=campaign.slug, first_day=campaign.first_day,
                           last_day=campaign.last_day)
    hosts_latest = snapshots.latest(sessions, campaign.slug, "hosts", "campaign", campaign.slug)
    enterprises_latest = snapshots.latest(sessions, campaign.slug, "enterprises", "campaign", campaign.slug)
    summary = {
        **totals,
        "ranked_hosts": len(hosts_latest.entries) if hosts_latest else 0,
        "ranked_enterprises": len(enterprises_latest.entries) if enterprises_latest else 0,
        "unattributed": unattributed_by_board,
        "net_gmv_by_county": [{"county": county, "net_gmv_fen": net} for county, net in by_county],
    }
    snapshots.save_summary(sessions, campaign.slug, now, summary)
    elapsed = time.perf_counter() - started
    return {"campaign": campaign.slug, "changed_boards": changed, "seconds": round(elapsed, 4)}


def publish_all(sessions: sessionmaker[Session], store: AnalyticsStore, now: datetime | None = None) -> list[dict]:
    now = now or datetime.now(timezone.utc)
    results = []
    for campaign in registry.list_campaigns(sessions):
        if campaign.is_frozen(now):
            continue  # boards stop moving after the freeze
        try:
            results.append(publish_campaign(sessions, store, campaign, now))
        except Exception:  # one broken campaign must not stop the others
            log.exception("ranking failed for campaign %s", campaign.slug)
    return results
