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
from datetime import date
from typing import Callable

from flask import Blueprint, jsonify, request

from configstore import registry
from domain.boards import DIMENSIONS
from services import boards, freeze
from services.boards import resolve_period
from services.errors import ApiError
from services.runtime import current_runtime

bp = Blueprint("periods", __name__)

CACHE_SECONDS = 5.0
_cache: dict[tuple, tuple[float, dict]] = {}
_cache_lock = threading.Lock()


def _campaign(slug: str) -> registry.CampaignInfo:
    campaign = registry.get_campaign(current_runtime().sessions, slug)
    if campaign is None or campaign.status == "draft":
        raise ApiError(404, "campaign_not_found", "活动不存在或尚未开始")
    return campaign


def _cached(key: tuple, compute: Callable[[], dict]) -> dict:
    clock = current_runtime().clock
    now = clock.monotonic()
    hit = _cache.get(key)
    if hit is not None and now - hit[0] <= CACHE_SECONDS:
        return hit[1]
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[0] <= CACHE_SECONDS:
            return hit[1]
        value = compute()
        _cache[key] = (clock.monotonic(), value)
        if len(_cache) > 512:
            for stale in [k for k, (at, _) in _cache.items() if now - at > CACHE_SECONDS]:
                _cache.pop(stale, None)
        return value


def period_boards(slug: str):
    """Handler for /v1/campaigns/<slug>/boards with an on-demand period (called by boards.py)."""
    runtime = current_runtime()
    now = runtime.clock.now()
    campaign = _campaign(slug)
    period = resolve_period(campaign, request.args.get("period", "campaign"), request.args.get("key") or None, now)
    if campaign.is_frozen(now):  # 封榜: the standings at the freeze, whatever arrived since
        payload = freeze.frozen_period_boards(runtime.sessions, runtime.store, campaign, period, now)
    else:
        payload = _cached((id(runtime.sessions), slug, period.kind, period.key),
                          lambda: boards.period_boards(runtime.sessions, runtime.store, campaign, period, now))
    response = jsonify(payload)
    response.cache_control.max_age = 2
    return response


@bp.get("/v1/campaigns/<slug>/breakdown")
def breakdown(slug: str):
    runtime = current_runtime()
    now = runtime.clock.now()
    campaign = _campaign(slug)
    dimension = request.args.get("dimension", "county")
    if dimension not in DIMENSIONS:
        raise ApiError(400, "invalid_dimension", "dimension 只能是 county、category 或 platform",
                       details={"allowed": list(DIMENSIONS)})
    period = resolve_period(campaign, request.args.get("period", "campaign"), request.args.get("key") or None, now)
    if campaign.is_frozen(now):
        payload = freeze.frozen_breakdown(runtime.sessions, runtime.store, campaign, period, dimension, now)
    else:
        payload = _cached((id(runtime.sessions), slug, period.kind, period.key, dimension),
                          lambda: boards.breakdown(runtime.sessions, runtime.store, campaign, period, dimension, now))
    response = jsonify(payload)
    response.cache_control.max_age = 2
    return response


@bp.get("/v1/campaigns/<slug>/boards/history")
def history(slug: str):
    campaign = _campaign(slug)
    raw = request.args.get("day", "")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, "invalid_day", "day 的格式应为 YYYY-MM-DD", details={"day": raw}) from None
    payload = boards.published_day(current_runtime().sessions, campaign, day)
    if payload is None:
        raise ApiError(404, "snapshot_not_found", f"{day.isoformat()} 没有已发布的榜单")
    return jsonify(payload)
