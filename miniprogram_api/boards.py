"""Public read API for the mini-program and the board page (versioned JSON under /v1).

Everything here comes from the latest published snapshot, never from the analytics store,
so a traffic spike on the boards costs one indexed config-store read per request, and
responses carry ETag / Last-Modified for cheap revalidation.
"""
from __future__ import annotations

import hashlib
import threading
from datetime import datetime

from flask import Blueprint, jsonify, request

from configstore import registry, snapshots
from domain.boards import BOARDS, TOP_N
from domain.periods import local_day
from domain.ranking import BoardEntry, rank_card
from services.boards import public_entries
from services.errors import ApiError
from services.runtime import current_runtime

bp = Blueprint("boards", __name__)

PERIODS = {"campaign": "campaign", "today": "day"}
# Boards change at most once per ranking run and clients may cache them for 2 s (max_age), so a
# worker answers from memory for up to half a second instead of three config-store reads per request
# (short enough that a ranking run shows within the freshness budget).
BOARDS_CACHE_SECONDS = 0.5
_boards_cache: dict[tuple, tuple[float, tuple]] = {}
_boards_cache_lock = threading.Lock()



def _campaign(slug: str) -> registry.CampaignInfo:
    campaign = registry.get_campaign(current_runtime().sessions, slug)
    if campaign is None or campaign.status == "draft":
        raise ApiError(404, "campaign_not_found", "活动不存在或尚未开始")
    return campaign


def _period(*, on_demand_too: bool = True) -> str:
    """The published period asked for. The boards endpoint also serves day/week/month/year
    (computed on demand) before it gets here; the rank card serves only the published ones."""
    period = request.args.get("period", "campaign")
    if period not in PERIODS:
        if on_demand_too:
            raise ApiError(400, "invalid_period", "period 只能是 campaign、today、day、week、month 或 year",
                           details={"allowed": [*PERIODS, "day", "week", "month", "year"]})
        raise ApiError(400, "invalid_period", "period 只能是 campaign 或 today", details={"allowed": [*PERIODS]})
    return period


def _window_key(campaign: registry.CampaignInfo, period: str) -> tuple[str, str]:
    kind = PERIODS[period]
    key = campaign.slug if kind == "campaign" else local_day(current_runtime().clock.now()).isoformat()
    return kind, key


def _cached(payload: dict, tag_parts: list[str], last_modified: datetime | None):
    response = jsonify(payload)
    response.set_etag(hashlib.sha256("|".join(tag_parts).encode()).hexdigest()[:32])
    if last_modified is not None:
        response.last_modified = last_modified
    response.cache_control.public = True
    response.cache_control.max_age = 2
    return response.make_conditional(request)


@bp.get("/v1/campaigns")
def list_campaigns():
    campaigns = registry.list_campaigns(current_runtime().sessions, statuses=("active", "frozen", "closed"))
    return jsonify({"campaigns": [c.as_dict() for c in campaigns]})


@bp.get("/v1/campaigns/<slug>/boards")
def boards(slug: str):
    if request.args.get("key") or request.args.get("period") in ("day", "week", "month", "year"):
        from miniprogram_api.periods import period_boards

        return period_boards(slug)  # any period, computed on demand (miniprogram_api/periods.py)
    period = _period()
    cache_key = (id(current_runtime().sessions), slug, period)
    now = current_runtime().clock.monotonic()
    cached = _boards_cache.get(cache_key)
    if cached is None:
        cached = _boards_cache[cache_key] = (now, _load_boards(slug, period))
    elif now - cached[0] > BOARDS_CACHE_SECONDS and _boards_cache_lock.acquire(blocking=False):
        try:  # one thread refreshes an expired entry; the others answer with it meanwhile
            cached = _boards_cache[cache_key] = (now, _load_boards(slug, period))
        finally:
            _boards_cache_lock.release()
    payload, tag_parts, modified = cached[1]
    return _cached(payload, tag_parts, modified)


def _load_boards(slug: str, period: str) -> tuple[dict, list[str], datetime | None]:
    campaign = _campaign(slug)
    kind, key = _window_key(campaign, period)
    payload = {"campaign": campaign.as_dict(), "period": period, "period_key": key, "frozen": campaign.is_frozen(
        current_runtime().clock.now())}
    tag_parts, modified = [slug, period, key], []
    for board in BOARDS:
        snap = snapshots.latest(current_runtime().sessions, slug, board, kind, key)
        payload[board] = public_entries(snap.entries) if snap else []
        tag_parts.append(snap.content_hash if snap else "-")
        if snap:
            modified.append(snap.published_at)
    payload["updated_at"] = max(modified).isoformat() if modified else None
    return payload, tag_parts, max(modified) if modified else None


def entry_from_dict(item: dict) -> BoardEntry:
    return BoardEntry(
        rank=item["rank"], previous_rank=item["previous_rank"], movement=item["movement"],
        participant_id=item["id"], name=item["name"], net_gmv_fen=item["net_gmv_fen"], paid_fen=item["paid_fen"],
        refunded_fen=item["refunded_fen"], order_count=item["order_count"], refund_count=item["refund_count"],
        units=item["units"], buyers=item["buyers"], refund_rate=item["refund_rate"],
        reached_at=datetime.fromisoformat(item["reached_at"]),
    )


def rank_card_payload(snap: snapshots.Snapshot | None, participant_id: str) -> dict | None:
    if snap is None:
        return None
    card = rank_card([entry_from_dict(e) for e in snap.entries], participant_id, top_n=TOP_N)
    if card is None:
        return None
    entry = next(e for e in snap.entries if e["id"] == participant_id)
    return {
        "id": participant_id, "name": entry["name"], "rank": card.rank, "previous_rank": card.previous_rank,
        "movement": card.movement, "net_gmv_fen": card.net_gmv_fen, "gap_to_above_fen": card.gap_to_above_fen,
        "gap_to_top10_fen": card.gap_to_top_n_fen, "in_top10": card.in_top_n, "total_ranked": card.total_ranked,
        "updated_at": snap.published_at.isoformat(),
    }


@bp.get("/v1/campaigns/<slug>/boards/<board>/participants/<participant_id>")
def participant_card(slug: str, board: str, participant_id: str):
    campaign = _campaign(slug)
    if board not in BOARDS:
        raise ApiError(404, "board_not_found", "榜单不存在（hosts 或 enterprises）")
    kind, key = _window_key(campaign, _period(on_demand_too=False))
    snap = snapshots.latest(current_runtime().sessions, slug, board, kind, key)
    card = rank_card_payload(snap, participant_id)
    if card is None or snap is None:
        raise ApiError(404, "participant_not_ranked", "该参与者暂未上榜")
    return _cached(card, [slug, board, participant_id, key, snap.content_hash], snap.published_at)


@bp.get("/v1/campaigns/<slug>/summary")
def summary(slug: str):
    campaign = _campaign(slug)
    loaded = snapshots.load_summary(current_runtime().sessions, slug)
    computed_at, content = loaded if loaded else (None, {})
    payload = {"campaign": campaign.as_dict(), "updated_at": computed_at.isoformat() if computed_at else None,
               **{k: content.get(k, 0) for k in ("net_gmv_fen", "paid_fen", "refunded_fen", "order_count",
                                                  "refund_count", "units", "ranked_hosts",
                                                  "ranked_enterprises")},
               "net_gmv_by_county": content.get("net_gmv_by_county", []),
               "unattributed": content.get("unattributed", {})}
    response = jsonify(payload)
    response.cache_control.max_age = 2
    return response
