"""The freeze (封榜): from the moment it takes effect, every public path answers with the standings
as they were then — period boards, breakdowns, history, rank cards, the mini-program — while sales
keep arriving and are stored. Organizers keep seeing live figures.

Published boards (campaign, today, past days, rank cards) stop moving by themselves: the ranking
job no longer publishes a frozen campaign. Boards computed on demand cannot stop by themselves, so
at the freeze the public views of every period that overlaps the campaign up to the freeze day are
computed once and stored (configstore.snapshots.save_frozen); a period that starts after the freeze
day had no sales yet at the freeze, so it is answered empty. Lifting the freeze drops the views.
"""
from __future__ import annotations

import logging
import threading
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from analytics.base import AnalyticsStore
from configstore import snapshots
from configstore.registry import CampaignInfo
from domain.boards import DIMENSIONS
from domain.periods import Period, campaign_period, day_period, local_day, period_containing
from services import boards

log = logging.getLogger(__name__)
_lock = threading.Lock()
CALENDAR_KINDS = ("day", "week", "month", "year")


def view_key(kind: str, key: str, dimension: str | None = None) -> str:
    return f"breakdown:{dimension}:{kind}:{key}" if dimension else f"boards:{kind}:{key}"


def periods_to_freeze(campaign: CampaignInfo, freeze_day: date) -> list[Period]:
    """The campaign, and every calendar period with a day of the campaign up to the freeze day."""
    last = min(campaign.last_day, freeze_day)
    periods = {("campaign", campaign.slug): campaign_period(campaign.slug, campaign.starts_at, campaign.ends_at)}
    day = campaign.first_day
    while day <= last:
        for kind in CALENDAR_KINDS:
            period = period_containing(kind, day_period(day).start_utc)
            periods.setdefault((period.kind, period.key), period)
        day += timedelta(days=1)
    return list(periods.values())


def freeze(sessions: sessionmaker[Session], store: AnalyticsStore, campaign: CampaignInfo, now: datetime) -> int:
    """Compute and store the campaign's public views as they stand now; returns how many."""
    at = min(now, campaign.freeze_at) if campaign.freeze_at else now
    views: dict[str, dict[str, Any]] = {}
    for period in periods_to_freeze(campaign, local_day(at)):
        views[view_key(period.kind, period.key)] = boards.period_boards(sessions, store, campaign, period, now,
                                                                         frozen_at=at)
        for dimension in DIMENSIONS:
            views[view_key(period.kind, period.key, dimension)] = boards.breakdown(
                sessions, store, campaign, period, dimension, now, frozen_at=at)
    snapshots.save_frozen(sessions, campaign.slug, at, views)
    log.info("campaign %s frozen: %d public views stored", campaign.slug, len(views))
    return len(views)


def ensure_frozen(sessions: sessionmaker[Session], store: AnalyticsStore, campaign: CampaignInfo,
                  now: datetime) -> datetime:
    """The moment the campaign's views were frozen, freezing them now if that has not happened yet
    (the ranking job does it at its next run; a request that comes first does it itself)."""
    stored = snapshots.frozen_at(sessions, campaign.slug)
    if stored is not None:
        return stored
    with _lock:  # one freeze per process; a second process doing the same writes the same views
        stored = snapshots.frozen_at(sessions, campaign.slug)
        if stored is None:
            freeze(sessions, store, campaign, now)
            stored = snapshots.frozen_at(sessions, campaign.slug)
    assert stored is not None
    return stored


def frozen_period_boards(sessions, store, campaign: CampaignInfo, period: Period, now: datetime) -> dict[str, Any]:
    at = ensure_frozen(sessions, store, campaign, now)
    return (snapshots.frozen_view(sessions, campaign.slug, view_key(period.kind, period.key))
            or boards.empty_period_boards(campaign, period, frozen_at=at))


def frozen_breakdown(sessions, store, campaign: CampaignInfo, period: Period, dimension: str,
                     now: datetime) -> dict[str, Any]:
    at = ensure_frozen(sessions, store, campaign, now)
    return (snapshots.frozen_view(sessions, campaign.slug, view_key(period.kind, period.key, dimension))
            or boards.empty_breakdown(campaign, period, dimension, frozen_at=at))
