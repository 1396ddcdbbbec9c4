"""Boards by period and dimension, computed on demand from the pre-aggregate, and past days'
boards exactly as they were published.

- ``GET /v1/campaigns/<slug>/boards?period=day|week|month|year|campaign&key=...`` (key optional =
  the current period, Asia/Shanghai). ``period=campaign|today`` without a key keeps being served
  from the published snapshots by miniprogram_api/boards.py, which hands the other cases here.
- ``GET /v1/campaigns/<slug>/breakdown?dimension=county|category|platform&period=...&key=...``
- ``GET /v1/campaigns/<slug>/boards/history?day=YYYY-MM-DD``: the snapshot published for that day.

Windows are clipped to the campaign's days. Results are cached in-process per (campaign, period,
key[, dimension]) for CACHE_SECONDS, so a burst of requests costs one query per board.
"""
from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import date, datetime, timezone
from typing import Callable

from flask import Blueprint, current_app, jsonify, request

from analytics.awards import DIMENSIONS, totals_by_dimension
from analytics.boards import distinct_buyers, participant_totals
from backend.errors import ApiError
from configstore import registry, snapshots
from domain.awards import XIANGXI_COUNTIES
from domain.periods import Period, campaign_period, parse_period_key, period_containing
from domain.ranking import rank_participants
from scheduler.ranking_job import TOP_N, entry_dict

bp = Blueprint("periods", __name__)

ON_DEMAND_KINDS = ("day", "week", "month", "year", "campaign")
KIND_NAMES_ZH = {"day": "日榜", "week": "周榜", "month": "月榜", "year": "年榜", "campaign": "活动总榜"}
DIMENSION_NAMES_ZH = {"county": "县市", "category": "品类", "platform": "平台"}
PLATFORM_NAMES_ZH = {"douyin": "抖音", "kuaishou": "快手", "taobao": "淘宝直播", "jd": "京东", "pinduoduo": "拼多多",
                     "channels": "视频号", "mgtv": "芒果TV", "youzan": "有赞"}
CACHE_SECONDS = 5.0
_cache: dict[tuple, tuple[float, dict]] = {}
_cache_lock = threading.Lock()


def _runtime():
    return current_app.extensions["liveboard"]


def _campaign(slug: str) -> registry.CampaignInfo:
    campaign = registry.get_campaign(_runtime().sessions, slug)
    if campaign is None or campaign.status == "draft":
        raise ApiError(404, "campaign_not_found", "活动不存在或尚未开始")
    return campaign


def resolve_period(campaign: registry.CampaignInfo, kind: str, key: str | None,
                   now: datetime | None = None) -> Period:
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
        return period_containing(kind, now or datetime.now(timezone.utc))
    try:
        return parse_period_key(kind, key)
    except ValueError:
        examples = {"day": "2026-06-01", "week": "2026-W23", "month": "2026-06", "year": "2026"}
        raise ApiError(400, "invalid_period_key", f"{KIND_NAMES_ZH[kind]}的 key 格式应为 {examples[kind]}",
                       details={"key": key}) from None


def clip(campaign: registry.CampaignInfo, period: Period) -> tuple[date, date]:
    """The period's days inside the campaign (first > last when they do not overlap)."""
    return max(period.first_day, campaign.first_day), min(period.last_day, campaign.last_day)


def _cached(key: tuple, compute: Callable[[], dict]) -> dict:
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and now - hit[0] <= CACHE_SECONDS:
        return hit[1]
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[0] <= CACHE_SECONDS:
            return hit[1]
        value = compute()
        _cache[key] = (time.monotonic(), value)
        if len(_cache) > 512:
            for stale in [k for k, (at, _) in _cache.items() if now - at > CACHE_SECONDS]:
                _cache.pop(stale, None)
        return value


def compute_period_boards(sessions, store, campaign: registry.CampaignInfo, period: Period) -> dict:
    """Both boards for one period, ranked by domain.ranking (top ten shown, full count given)."""
    first_day, last_day = clip(campaign, period)
    payload = {"campaign": campaign.as_dict(), "period": period.kind, "period_key": period.key,
               "period_name": KIND_NAMES_ZH[period.kind], "first_day": period.first_day.isoformat(),
               "last_day": period.last_day.isoformat(), "computed_at": datetime.now(timezone.utc).isoformat(),
               "source": "computed"}
    for board in registry.ALL_BOARDS:
        if board not in campaign.boards or first_day > last_day:
            payload[board], payload[f"ranked_{board}"] = [], 0
            continue
        attribution = registry.attribution(sessions, board)
        totals = [t for t in participant_totals(store, campaign=campaign.slug, board=board, first_day=first_day,
                                                last_day=last_day, attribution=attribution) if t.participant_id]
        ranking = rank_participants(totals, names=registry.names(sessions, board),
                                    excluded=registry.disqualified(sessions, campaign.slug, board), limit=None)
        top = ranking[:TOP_N]
        buyers = distinct_buyers(store, campaign=campaign.slug, board=board, first_day=first_day, last_day=last_day,
                                 attribution=attribution, participant_ids=[e.participant_id for e in top])
        payload[board] = [entry_dict(replace(e, buyers=buyers.get(e.participant_id, 0))) for e in top]
        payload[f"ranked_{board}"] = len(ranking)
    return payload


def dimension_name(dimension: str, value: str) -> str:
    if dimension == "county":
        return XIANGXI_COUNTIES.get(value, value or "未知县市")
    if dimension == "platform":
        return PLATFORM_NAMES_ZH.get(value, value or "未知平台")
    return value or "未分类"


def compute_breakdown(store, campaign: registry.CampaignInfo, period: Period, dimension: str) -> dict:
    first_day, last_day = clip(campaign, period)
    totals = [] if first_day > last_day else totals_by_dimension(
        store, dimension=dimension, campaign=campaign.slug, first_day=first_day, last_day=last_day)
    ranking = rank_participants(totals, names={t.participant_id: dimension_name(dimension, t.participant_id)
                                               for t in totals}, limit=None)
    total_net = sum(e.net_gmv_fen for e in ranking)
    rows = [{"rank": e.rank, "value": e.participant_id, "name": e.name, "net_gmv_fen": e.net_gmv_fen,
             "paid_fen": e.paid_fen, "refunded_fen": e.refunded_fen, "order_count": e.order_count,
             "refund_count": e.refund_count, "units": e.units, "buyers": e.buyers, "refund_rate": e.refund_rate,
             "share": round(e.net_gmv_fen / total_net, 4) if total_net else 0.0} for e in ranking]
    return {"campaign": campaign.as_dict(), "dimension": dimension, "dimension_name": DIMENSION_NAMES_ZH[dimension],
            "period": period.kind, "period_key": period.key, "first_day": period.first_day.isoformat(),
            "last_day": period.last_day.isoformat(), "net_gmv_fen": total_net, "rows": rows,
            "computed_at": datetime.now(timezone.utc).isoformat()}


def period_boards(slug: str):
    """Handler for /v1/campaigns/<slug>/boards with an on-demand period (called by boards.py)."""
    campaign = _campaign(slug)
    period = resolve_period(campaign, request.args.get("period", "campaign"), request.args.get("key") or None)
    runtime = _runtime()
    payload = _cached((id(runtime.sessions), slug, period.kind, period.key),
                      lambda: compute_period_boards(runtime.sessions, runtime.store, campaign, period))
    response = jsonify(payload)
    response.cache_control.max_age = 2
    return response


@bp.get("/v1/campaigns/<slug>/breakdown")
def breakdown(slug: str):
    campaign = _campaign(slug)
    dimension = request.args.get("dimension", "county")
    if dimension not in DIMENSIONS:
        raise ApiError(400, "invalid_dimension", "dimension 只能是 county、category 或 platform",
                       details={"allowed": list(DIMENSIONS)})
    period = resolve_period(campaign, request.args.get("period", "campaign"), request.args.get("key") or None)
    runtime = _runtime()
    payload = _cached((id(runtime.sessions), slug, period.kind, period.key, dimension),
                      lambda: compute_breakdown(runtime.store, campaign, period, dimension))
    response = jsonify(payload)
    response.cache_control.max_age = 2
    return response


def published_day(sessions, campaign: registry.CampaignInfo, day: date) -> dict | None:
    """Both boards of a day exactly as the ranking job last published them (None if never)."""
    payload = {"campaign": campaign.as_dict(), "period": "day", "period_key": day.isoformat(), "source": "snapshot"}
    found = False
    for board in registry.ALL_BOARDS:
        snap = snapshots.latest(sessions, campaign.slug, board, "day", day.isoformat())
        found = found or snap is not None
        payload[board] = snap.entries if snap else []
        payload[f"{board}_published_at"] = snap.published_at.isoformat() if snap else None
        payload[f"{board}_computed_at"] = snap.computed_at.isoformat() if snap else None
        payload[f"{board}_content_hash"] = snap.content_hash if snap else None
    return payload if found else None


@bp.get("/v1/campaigns/<slug>/boards/history")
def history(slug: str):
    campaign = _campaign(slug)
    raw = request.args.get("day", "")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, "invalid_day", "day 的格式应为 YYYY-MM-DD", details={"day": raw}) from None
    payload = published_day(_runtime().sessions, campaign, day)
    if payload is None:
        raise ApiError(404, "snapshot_not_found", f"{day.isoformat()} 没有已发布的榜单")
    return jsonify(payload)
