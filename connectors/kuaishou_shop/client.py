"""快手小店 open API client (openapi.kwaixiaodian.com).

Signing (official API调用说明, doc 401853, mirrored in ``AndersonBY/kwaixiaodian-python-sdk``
``docs/开发指南和规则协议/开发文档/API调用说明.md``):

* system parameters ``appkey``, ``method``, ``version=1``, ``param`` (business JSON string),
  ``access_token``, ``timestamp`` (ms), ``signMethod``;
* sign input = those seven sorted by name and joined as ``k=v&k=v``, then
  ``&signSecret=<signSecret>``;
* ``MD5``: lowercase hex (``DigestUtils.md5Hex``); ``HMAC_SHA256``: **base64** of
  HMAC-SHA256(key=signSecret) (the doc's ``HMACSHA256SignUtils``; ``WyntersN/go-kwai``
  ``core/c.go`` ``signHmacSha256``);
* the request path is the method with ``.`` as ``/`` (``/open/order/detail``).

Tokens: ``POST /oauth2/refresh_token`` with ``grant_type=refresh_token``, ``refresh_token``,
``app_id``, ``app_secret``; every refresh returns a new refresh token and the old one dies
within 5 minutes, so ``on_token`` must persist it (APP授权说明, doc 401716).

Errors: ``result`` != 1. The OAuth doc lists ``100200102 access_denied`` for any token error
"授权和后续API访问中"; K0004 (doc 401728) says an expired token answers "鉴权失败"/"TOKEN过期".
K1008 (doc 401546) gives the rate-limit texts "Exceed qps limit" / "Exceed quota limit" /
"[1017] exceed quota limit"; their numeric ``result`` codes are not public, so rate limits and
token errors are also recognised by these documented texts.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from connectors._events import as_id
from connectors._http import PlatformApiClient
from connectors.base import (
    AccessToken,
    Page,
    PlatformRateLimited,
    PlatformRefused,
    PlatformUnavailable,
    TokenExpired,
    Window,
)

NAME = "kuaishou_shop"
DEFAULT_BASE_URL = "https://openapi.kwaixiaodian.com"
TOKEN_ERROR_CODE = 100200102
QUOTA_CODE = 1017
END_CURSOR = "nomore"
PAGE_SIZE = 50
_TOKEN_TEXTS = ("鉴权失败", "token过期", "token已过期", "access_token过期", "access_token已过期",
                "access_denied", "invalid access_token", "token expired")
_UNAVAILABLE_TEXTS = ("系统繁忙", "系统异常", "服务繁忙", "timeout")


def sign_input(params: dict[str, str], sign_secret: str) -> str:
    joined = "&".join(f"{k}={params[k]}" for k in sorted(params) if params[k] is not None)
    return f"{joined}&signSecret={sign_secret}"


def request_sign(params: dict[str, str], sign_secret: str, sign_method: str = "MD5") -> str:
    text = sign_input(params, sign_secret).encode("utf-8")
    if sign_method == "MD5":
        return hashlib.md5(text).hexdigest()
    if sign_method == "HMAC_SHA256":
        return base64.b64encode(hmac.new(sign_secret.encode(), text, hashlib.sha256).digest()).decode()
    raise ValueError(f"不支持的快手签名方式：{sign_method}")


class KuaishouShopClient(PlatformApiClient):
    platform_name = NAME
    default_base_url = DEFAULT_BASE_URL
    page_size = PAGE_SIZE

    @property
    def sign_method(self) -> str:
        return self.credentials.sign_method or "MD5"

    # -- API --------------------------------------------------------------------------------

    def order_detail(self, order_id: str) -> dict[str, Any]:
        """``open.order.detail``: ``{"orderBaseInfo", "orderItemInfo", "orderCpsInfo", ...}``."""
        return self._api("open.order.detail", {"oid": int(order_id)})

    def refund_detail(self, refund_id: str, *, order_id: str | None = None) -> dict[str, Any]:
        """``open.seller.order.refund.detail``: ``{"refundId", "oid", "status", "refundFee", ...}``."""
        return self._api("open.seller.order.refund.detail", {"refundId": int(refund_id)})

    def list_orders(self, window: Window, cursor: str | None = None) -> Page:
        """``open.order.cursor.list`` by update time (``queryType=2``), all statuses
        (``orderViewStatus=1``); the platform limits a window to 7 days."""
        data = self._api("open.order.cursor.list", {
            "orderViewStatus": 1, "pageSize": self.page_size, "sort": 1, "queryType": 2,
            "beginTime": int(window.start.timestamp() * 1000),
            "endTime": int(window.end.timestamp() * 1000), "cpsType": 0, "cursor": cursor or "",
        })
        orders = data.get("orderList") or []
        ids = [i for i in (as_id((o.get("orderBaseInfo") or {}).get("oid")) for o in orders) if i]
        next_cursor = str(data.get("cursor") or "")
        updated: dict[str, float] = {}
        for order in orders:
            base = order.get("orderBaseInfo") or {}
            oid = as_id(base.get("oid"))
            if oid and isinstance(base.get("updateTime"), int) and base["updateTime"] > 0:
                updated[oid] = base["updateTime"] / 1000
        return Page(ids=ids, next_cursor=None if next_cursor in ("", END_CURSOR) else next_cursor, updated=updated)

    # -- plumbing ---------------------------------------------------------------------------

    def _api(self, method: str, param: dict[str, Any]) -> dict[str, Any]:
        return self._with_token(lambda access_token: self._call(method, param, access_token))

    def _call(self, method: str, param: dict[str, Any], access_token: str) -> dict[str, Any]:
        params = {
            "access_token": access_token, "appkey": self.credentials.app_key, "method": method,
            "param": json.dumps(param, separators=(",", ":"), ensure_ascii=False),
            "signMethod": self.sign_method, "timestamp": str(int(time.time() * 1000)), "version": "1",
        }
        params["sign"] = request_sign(params, self.credentials.sign_secret, self.sign_method)
        payload = self.transport.send_json("GET", "/" + method.replace(".", "/"), params=params)
        return _data_or_raise(payload)

    def _fetch_token(self, stale: AccessToken | None) -> AccessToken:
        refresh_token = (stale.refresh_token if stale is not None else "") or self.credentials.refresh_token
        if not refresh_token:
            raise TokenExpired("缺少快手 refresh_token，需要商家重新授权", platform=NAME)
        payload = self.transport.send_json("POST", "/oauth2/refresh_token", data={
            "grant_type": "refresh_token", "refresh_token": refresh_token,
            "app_id": self.credentials.app_key, "app_secret": self.credentials.app_secret,
        })
        if payload.get("result") != 1 or not payload.get("access_token"):
            raise TokenExpired(f"快手刷新 access_token 失败，需要商家重新授权：{payload.get('error_msg', '')}",
                               platform=NAME, code=str(payload.get("result", "")),
                               detail=str(payload.get("error", "")))
        return AccessToken(value=str(payload["access_token"]),
                           expires_at=time.time() + int(payload.get("expires_in") or 0),
                           refresh_token=str(payload.get("refresh_token") or refresh_token))


def _data_or_raise(payload: dict[str, Any]) -> dict[str, Any]:
    result = payload.get("result")
    if result == 1:
        data = payload.get("data")
        return data if isinstance(data, dict) else {}
    text = " ".join(str(payload.get(k) or "") for k in ("error_msg", "msg", "sub_msg", "code", "sub_code"))
    lowered = text.lower()
    message = f"快手接口错误 {result}：{text.strip()}"
    kw = {"platform": NAME, "code": str(result), "detail": str(payload.get("sub_code") or "")}
    if "exceed qps limit" in lowered:
        raise PlatformRateLimited(message, retry_after=1.0, **kw)
    if result == QUOTA_CODE or "exceed quota limit" in lowered:
        raise PlatformRateLimited(message, retry_after=3600.0, **kw)  # a daily quota: wait long
    if result == TOKEN_ERROR_CODE or any(t in lowered for t in _TOKEN_TEXTS):
        raise TokenExpired(message, **kw)
    if any(t in lowered for t in _UNAVAILABLE_TEXTS):
        raise PlatformUnavailable(message, **kw)
    raise PlatformRefused(message, **kw)
