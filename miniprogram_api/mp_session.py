"""Mini-program login (POST /v1/mp/login) and what every /v1/mp/me* endpoint needs.

Login: wx.login()'s code -> jscode2session (wechat.adapter) -> WeChat user upserted by
(appid, openid) -> our own opaque session token (wechat.sessions). WeChat's session_key stays in
the config store: it is in no response and no log line; openids are logged masked.
"""
from __future__ import annotations

import logging
from datetime import timezone

from flask import Blueprint, jsonify, request

from configstore.db import transaction
from domain.redact import mask_openid
from services.errors import ApiError
from services.runtime import current_runtime
from wechat.binding import BoundHost, bound_host
from wechat.errors import InvalidCode, WeChatError
from wechat.sessions import create_session, resolve_session

log = logging.getLogger(__name__)

bp = Blueprint("mp_session", __name__)

def wechat_client():
    """The runtime's WeChat client, or a 503 when WeChat is not configured."""
    client = current_runtime().wechat
    if client is None:
        raise ApiError(503, "wechat_unavailable", "微信服务未配置，暂不可用")
    return client


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_user() -> int:
    """The logged-in WeChat user's id, or 401."""
    token = bearer_token()
    if token is None:
        raise ApiError(401, "login_required", "请先登录", headers={"WWW-Authenticate": "Bearer"})
    user_id = resolve_session(current_runtime().sessions, token)
    if user_id is None:
        raise ApiError(401, "session_expired", "登录已过期，请重新登录", headers={"WWW-Authenticate": "Bearer"})
    return user_id


def require_host(user_id: int) -> BoundHost:
    """The host bound to this user, or 403: personal figures are only ever the bound host's own."""
    host = bound_host(current_runtime().sessions, user_id)
    if host is None:
        raise ApiError(403, "not_bound", "尚未绑定主播身份，请先输入组织方提供的绑定码")
    return host


def host_payload(host: BoundHost | None) -> dict | None:
    if host is None:
        return None
    from domain.regions import XIANGXI_COUNTIES

    return {"id": host.host_id, "name": host.name, "county": host.county,
            "county_name": XIANGXI_COUNTIES.get(host.county, ""),
            "bound_at": host.bound_at.replace(tzinfo=timezone.utc).isoformat()}


def json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "请求体必须是 JSON 对象")
    return body


@bp.post("/v1/mp/login")
def login():
    code = json_body().get("code")
    if not isinstance(code, str) or not code.strip() or len(code) > 128:
        raise ApiError(400, "invalid_code", "缺少登录凭证 code")
    client = wechat_client()
    settings = current_runtime().settings
    try:
        with transaction(current_runtime().sessions) as s:
            from wechat.users import login_with_code

            user = login_with_code(s, client, code.strip(), box=current_runtime().secrets)
            issued = create_session(s, user.id, settings.mp_session_ttl_seconds)
            user_id, openid = user.id, user.openid
    except InvalidCode:
        raise ApiError(401, "invalid_code", "登录凭证无效或已使用，请重新登录") from None
    except WeChatError as exc:
        log.warning("mp login: WeChat error %s", type(exc).__name__)
        raise ApiError(502, "wechat_error", "微信服务暂时不可用，请稍后重试") from None
    log.info("mp login user_id=%s openid=%s", user_id, mask_openid(openid))
    host = bound_host(current_runtime().sessions, user_id)
    return jsonify({"token": issued.token, "token_type": "Bearer",
                    "expires_at": issued.expires_at.replace(tzinfo=timezone.utc).isoformat(),
                    "user": {"id": user_id}, "host": host_payload(host)})
