"""The host's own view (login required): profile, campaigns, my rank, my daily sales, my awards.

No endpoint here takes a host id: the host is always the one bound to the session's WeChat user,
so another host's private figures (daily sales, awards) cannot be asked for at all.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, jsonify

from analytics.host_sales import daily_net_gmv
from configstore import registry, snapshots
from domain.periods import local_day
from miniprogram_api.boards import PERIODS, _campaign, _window_key, rank_card_payload
from miniprogram_api.mp_session import host_payload, require_host, require_user
from services.notices import host_awards
from services.runtime import current_runtime
from wechat.binding import bound_host

bp = Blueprint("mp_me", __name__)

BOARD = "hosts"
DAILY_DAYS = 14


@bp.get("/v1/mp/me")
def me():
    user_id = require_user()
    host = bound_host(current_runtime().sessions, user_id)
    return jsonify({"user": {"id": user_id}, "bound": host is not None, "host": host_payload(host)})


@bp.get("/v1/mp/me/campaigns")
def my_campaigns():
    host = require_host(require_user())
    sessions = current_runtime().sessions
    items = []
    for campaign in registry.list_campaigns(sessions, statuses=("active", "frozen", "closed")):
        snap = snapshots.latest(sessions, campaign.slug, BOARD, "campaign", campaign.slug)
        mine = next((e for e in snap.entries if e["id"] == host.host_id), None) if snap else None
        items.append({**campaign.as_dict(), "my_rank": mine["rank"] if mine else None,
                      "net_gmv_fen": mine["net_gmv_fen"] if mine else 0})
    return jsonify({"campaigns": items})


@bp.get("/v1/mp/me/campaigns/<slug>/rank")
def my_rank(slug: str):
    host = require_host(require_user())
    campaign = _campaign(slug)
    periods = {}
    for period in PERIODS:
        kind, key = _window_key(campaign, period)
        card = rank_card_payload(snapshots.latest(current_runtime().sessions, slug, BOARD, kind, key), host.host_id)
        periods[period] = {"period_key": key, "ranked": card is not None, **(card or {})}
    return jsonify({"campaign": campaign.as_dict(), "board": BOARD,
                    "host": {"id": host.host_id, "name": host.name}, "periods": periods,
                    "frozen": campaign.is_frozen(current_runtime().clock.now())})


@bp.get("/v1/mp/me/campaigns/<slug>/daily")
def my_daily(slug: str):
    host = require_host(require_user())
    campaign = _campaign(slug)
    last = min(local_day(current_runtime().clock.now()), campaign.last_day)
    first = max(campaign.first_day, last - timedelta(days=DAILY_DAYS - 1))
    days = daily_net_gmv(current_runtime().store, campaign=slug, board=BOARD, participant_id=host.host_id,
                         first_day=first, last_day=last,
                         attribution=registry.attribution(current_runtime().sessions, BOARD))
    return jsonify({"campaign": campaign.as_dict(), "host": {"id": host.host_id, "name": host.name},
                    "days": [{"day": d.isoformat(), "net_gmv_fen": net} for d, net in days],
                    "total_net_gmv_fen": sum(net for _, net in days)})


@bp.get("/v1/mp/me/awards")
def my_awards():
    """The bound host's awards from lists 公示中 (notice) or 已定稿 (final), newest first:
    {"host": {"id", "name"}, "awards": [{"list_id", "kind", "kind_name", "scope", "scope_key", "title",
    "rank", "category", "amount_fen", "state", "state_name", "notice_ends_on", "updated_at"}], "updated_at"}.
    """
    host = require_host(require_user())
    return jsonify(host_awards(current_runtime().sessions, host.host_id, host.name))
