"""Organizer endpoints for host binding (JSON under /v1/admin).

  POST   /v1/admin/hosts/<host_id>/bind-code  -> {code, display, expires_at, wxacode_png_base64|null}
  GET    /v1/admin/hosts/<host_id>/binding    -> {host_id, bound, bound_at}
  DELETE /v1/admin/hosts/<host_id>/binding    -> {host_id, unbound}

Guard: ``Authorization: Bearer <admin API token>``, checked by the organizer side's token auth.
That lives in another module (``backend.auth``); it is imported lazily on each request so this
blueprint never depends on it at import time. The contract it must offer:

    backend.auth.verify_api_token(token: str) -> principal | None

where a falsy result (or any exception) means "not authenticated". Writes need an operator
(``principal.can("operator")`` when the principal has ``can``; else any role but "viewer"). Until that module and function
exist, every request is refused with 401. When the module also offers
``require_county_route(principal)``, it is called last: it refuses county-limited users (403).
"""
from __future__ import annotations

import base64
import importlib
import logging
from datetime import timezone
from typing import Any, Callable

from flask import Blueprint, jsonify, request

from configstore.audit import acting_as
from configstore.models import Host
from miniprogram_api.mp_session import bearer_token, wechat_client
from services.errors import ApiError
from services.runtime import current_runtime
from wechat.binding import (
    UnknownHost,
    binding_status,
    issue_bind_code,
    unbind_host,
    wxa_code_png,
)
from wechat.errors import WeChatError

log = logging.getLogger(__name__)

bp = Blueprint("mp_admin", __name__)

AUTH_MODULE = "backend.auth"
AUTH_FUNCTION = "verify_api_token"
FORBIDDEN_ZH = "当前角色无权执行此操作"  # as backend.auth.FORBIDDEN_ZH and the OpenAPI document


def _token_verifier() -> Callable[[str], Any] | None:
    try:
        module = importlib.import_module(AUTH_MODULE)
    except ImportError:
        return None
    verifier = getattr(module, AUTH_FUNCTION, None)
    return verifier if callable(verifier) else None


def _may_write(principal: Any) -> bool:
    can = getattr(principal, "can", None)
    if callable(can):
        return bool(can("operator"))
    return _role(principal) != "viewer"


def _role(principal: Any) -> str | None:
    return principal.get("role") if isinstance(principal, dict) else getattr(principal, "role", None)


def require_admin(write: bool) -> Any:
    """The principal behind the bearer token; the same refusals (codes, Chinese messages, details) as
    the rest of /v1/admin (backend.auth.api_auth), so a client handles one shape."""
    token = bearer_token()
    if token is None:
        raise ApiError(401, "unauthorized", "未认证：请在 Authorization 请求头中提供 Bearer 令牌",
                       headers={"WWW-Authenticate": "Bearer"})
    verify = _token_verifier()
    if verify is None:
        raise ApiError(401, "admin_auth_unavailable", "管理员令牌认证尚未启用", headers={"WWW-Authenticate": "Bearer"})
    try:
        principal = verify(token)
    except Exception:
        log.warning("admin token verification raised; refusing", exc_info=True)
        principal = None
    if not principal:
        raise ApiError(401, "invalid_token", "令牌无效、已吊销或用户已停用",
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    if write and not _may_write(principal):
        raise ApiError(403, "forbidden", FORBIDDEN_ZH, details={"required_role": "operator", "role": _role(principal)})
    county_check = getattr(importlib.import_module(AUTH_MODULE), "require_county_route", None)
    if callable(county_check):
        county_check(principal)  # a county user: these routes are for prefecture users (403 county_scope)
    return principal


def _require_host(host_id: str) -> None:
    with current_runtime().sessions() as s:
        if s.get(Host, host_id) is None:
            raise ApiError(404, "host_not_found", "主播不存在")


def _actor(principal: Any) -> str:
    """Who the audit log names for an organizer's change."""
    name = principal.get("username") if isinstance(principal, dict) else getattr(principal, "username", None)
    return str(name or "api-token")


@bp.post("/v1/admin/hosts/<host_id>/bind-code")
def issue_code(host_id: str):
    principal = require_admin(write=True)
    settings = current_runtime().settings
    try:
        with acting_as(_actor(principal)):
            issued = issue_bind_code(current_runtime().sessions, host_id,
                                     ttl_seconds=settings.mp_bind_code_ttl_seconds, pepper=settings.secret_key)
    except UnknownHost:
        raise ApiError(404, "host_not_found", "主播不存在") from None
    png, warning = None, None
    if settings.wechat_enabled and request.args.get("image", "1") != "0":
        try:
            png = base64.b64encode(wxa_code_png(wechat_client(), issued)).decode("ascii")
        except WeChatError as exc:
            log.warning("wxa code for host %s failed: %s", host_id, type(exc).__name__)
            warning = "小程序码生成失败，请让主播手动输入绑定码"
    return jsonify({"host_id": host_id, "code": issued.code, "display": issued.display,
                    "expires_at": issued.expires_at.replace(tzinfo=timezone.utc).isoformat(),
                    "wxacode_png_base64": png, "warning": warning}), 201


@bp.get("/v1/admin/hosts/<host_id>/binding")
def get_binding(host_id: str):
    require_admin(write=False)
    _require_host(host_id)
    return jsonify({"host_id": host_id, **(binding_status(current_runtime().sessions, host_id) or {})})


@bp.delete("/v1/admin/hosts/<host_id>/binding")
def delete_binding(host_id: str):
    principal = require_admin(write=True)
    _require_host(host_id)
    with acting_as(_actor(principal)):
        unbound = unbind_host(current_runtime().sessions, host_id)
    return jsonify({"host_id": host_id, "unbound": unbound})
