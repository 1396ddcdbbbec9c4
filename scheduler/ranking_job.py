"""The ranking job: pre-aggregate -> domain ranking -> published snapshots.

Per active campaign, both boards (hosts, enterprises) for the whole campaign and for today
(Asia/Shanghai). Knows nothing of HTTP; the API only reads what this publishes.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session, sessionmaker

from analytics.base import AnalyticsStore
from analytics.boards import campaign_totals, net_gmv_by
from configstore import registry, snapshots
from configstore.registry import CampaignInfo
from domain.clock import SYSTEM_CLOCK
from domain.periods import local_day
from services import freeze
from services.boards import compute_board, entry_dict

log = logging.getLogger(__name__)

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


def publish_campaign(sessions: sessionmaker[Session], store: AnalyticsStore, campaign: CampaignInfo,
                     now: datetime) -> dict:
    started = time.perf_counter()
    changed = 0
    unattributed_by_board = {}
    totals = None
    for window in windows_for(campaign, now):
        for board in campaign.boards:  # only the boards the campaign shows
            previous = snapshots.latest(sessions, campaign.slug, board, window.kind, window.key)
            previous_ranks = {e["id"]: e["rank"] for e in previous.entries} if previous else {}
            computed = compute_board(sessions, store, dimension=board, campaign=campaign.slug,
                                     first_day=window.first_day, last_day=window.last_day,
                                     previous_ranks=previous_ranks, whole_campaign=window.kind == "campaign")
            if window.kind == "campaign":
                totals = totals or computed.totals  # every board's rows add up to the campaign's sales
                rest = computed.unattributed
                unattributed_by_board[board] = {"net_gmv_fen": rest.net_gmv_fen if rest else 0,
                                                "order_count": rest.order_count if rest else 0}
            # an unchanged board is not republished, so arrows stay relative to the last change; a new
            # snapshot whose top ten differs also records a BoardChange fact (read by scheduler/push_job.py)
            entries = [entry_dict(e) for e in computed.entries]
            _, was_new = snapshots.publish(sessions, campaign_slug=campaign.slug, board=board,
                                           period_kind=window.kind, period_key=window.key,
                                           computed_at=now, entries=entries)
            changed += int(was_new)
    if totals is None:  # (a campaign that shows no participant board)
        totals = campaign_totals(store, campaign=campaign.slug, first_day=campaign.first_day,
                                 last_day=campaign.last_day)
    by_county = net_gmv_by(store, dimension="county", campaign=campaign.slug, first_day=campaign.first_day,
                           last_day=campaign.last_day, whole_campaign=True)
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
    now = now or SYSTEM_CLOCK.now()
    results = []
    for campaign in registry.list_campaigns(sessions):
        try:
            if campaign.is_frozen(now):  # boards stop moving; on-demand views are stored as they stand
                if snapshots.frozen_at(sessions, campaign.slug) is None:
                    views = freeze.freeze(sessions, store, campaign, now)
                    results.append({"campaign": campaign.slug, "frozen_views": views, "changed_boards": 0,
                                    "seconds": 0.0})
                continue
            if snapshots.frozen_at(sessions, campaign.slug) is not None:
                snapshots.clear_frozen(sessions, campaign.slug)
                log.info("freeze of %s lifted: public views are live again", campaign.slug)
            results.append(publish_campaign(sessions, store, campaign, now))
        except Exception as exc:  # one broken campaign must not stop the others
            log.exception("ranking failed for campaign %s", campaign.slug)
            results.append({"campaign": campaign.slug, "error": f"{type(exc).__name__}: {exc}"[:500]})
    return results
