"""抖店 open API client (openapi-fxg.jinritemai.com).

Request signing, as the official SDKs do it:

* ``param_json`` = the business parameters as JSON with keys sorted recursively and no spaces
  (official Java ``com.doudian.open.utils.SignUtil.sortParamJson``; the Python SDK snippet uses
  ``json.dumps(sort_keys=True, separators=(',', ':'), ensure_ascii=False)``).
* sign pattern = ``app_secret + "app_key" + app_key + "method" + method + "param_json" +
  param_json + "timestamp" + timestamp + "v2" + app_secret`` (``SignUtil.sign``;
  ``zsmhub/doudian-sdk`` ``utils/sign_util.go``).
* ``sign_method=md5``: MD5 hex of the pattern (official Java ``SignUtil.sign``);
  ``sign_method=hmac-sha256``: HMAC-SHA256(key=app_secret) hex (``zsmhub/doudian-sdk``
  ``core/doudian_op_api_client.go``, ``cnJun/sdk4-jinritemai`` ``DefaultDoudianClient``).
* POST ``/<method with . as />?app_key&method&v=2&timestamp&sign&sign_method&access_token`` with
  ``param_json`` as the body.

Tokens: ``token.create`` with ``grant_type=authorization_self`` and the shop id for a self-use
app, ``token.refresh`` with the refresh token (``zsmhub/doudian-sdk``
``core/access_token_builder.go``, ``api/token_create``).

Error codes (answer ``code``/``sub_code``; the map in ``tb07/doudian`` ``src/Error/ErrorCode.php``):
10000 success; 60000 rate limited (``isp.traffic-limited``); 40003 with
``isv.access-token-expired`` / ``isv.access-token-no-existed`` = token expired; 20000/20001
service unavailable / timeout; everything else is a permanent refusal.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, Callable

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

NAME = "douyin_shop"
DEFAULT_BASE_URL = "https://openapi-fxg.jinritemai.com"
SUCCESS_CODE = 10000
RATE_LIMIT_CODE = 60000
UNAVAILABLE_CODES = {20000, 20001}
TOKEN_SUB_CODES = {"isv.access-token-expired", "isv.access-token-no-existed"}
PAGE_SIZE = 100  # order.searchList / afterSale.List allow at most 100 (zsmhub request structs)


def param_json(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_sign(app_key: str, app_secret: str, method: str, timestamp: str, params_json: str,
                 sign_method: str = "hmac-sha256") -> str:
    pattern = (f"{app_secret}app_key{app_key}method{method}param_json{params_json}"
               f"timestamp{timestamp}v2{app_secret}")
    if sign_method == "md5":
        return hashlib.md5(pattern.encode()).hexdigest()
    if sign_method == "hmac-sha256":
        return hmac.new(app_secret.encode(), pattern.encode(), hashlib.sha256).hexdigest()
    raise ValueError(f"不支持的抖店签名方式：{sign_method}")


class DouyinShopClient(PlatformApiClient):
    platform_name = NAME
    default_base_url = DEFAULT_BASE_URL
    page_size = PAGE_SIZE

    @property
    def sign_method(self) -> str:
        return self.credentials.sign_method or "hmac-sha256"

    # -- API --------------------------------------------------------------------------------

    def order_detail(self, order_id: str) -> dict[str, Any]:
        """``order.orderDetail``: the data object, ``{"shop_order_detail": {...}}``."""
        return self._api("order.orderDetail", {"shop_order_id": str(order_id)})

    def refund_detail(self, refund_id: str, *, order_id: str | None = None) -> dict[str, Any]:
        """``afterSale.Detail``: ``{"process_info": {...}, "order_info": {...}}``."""
        return self._api("afterSale.Detail", {"after_sale_id": str(refund_id)})

    def list_orders(self, window: Window, cursor: str | None = None) -> Page:
        """``order.searchList`` by update time, oldest first; the cursor is the page number."""
        page = int(cursor or 0)
        data = self._api("order.searchList", {
            "update_time_start": int(window.start.timestamp()),
            "update_time_end": int(window.end.timestamp()),
            "order_by": "update_time", "order_asc": True, "page": page, "size": self.page_size,
        })
        orders = data.get("shop_order_list") or []
        ids = [i for i in (as_id(o.get("order_id")) for o in orders) if i]
        total = int(data.get("total") or 0)
        more = (page + 1) * self.page_size < total
        return Page(ids=ids, next_cursor=str(page + 1) if more else None,
                    updated=_update_times(orders, lambda o: (o.get("order_id"), o.get("update_time"))))

    def list_aftersales(self, window: Window, cursor: str | None = None) -> Page:
        """``afterSale.List`` by update time: the pull backstop for refunds, since the 抖店
        order detail names no aftersale id."""
        page = int(cursor or 0)
        data = self._api("afterSale.List", {
            "update_start_time": int(window.start.timestamp()),
            "update_end_time": int(window.end.timestamp()),
            "order_by": ["update_time asc"], "page": page, "size": self.page_size,
        })
        items = data.get("items") or []
        ids = [i for i in (as_id((it.get("aftersale_info") or {}).get("aftersale_id")) for it in items) if i]
        return Page(ids=ids, next_cursor=str(page + 1) if data.get("has_more") else None,
                    updated=_update_times(items, lambda it: ((it.get("aftersale_info") or {}).get("aftersale_id"),
                                                             (it.get("aftersale_info") or {}).get("update_time"))))

    # -- plumbing ---------------------------------------------------------------------------

    def _api(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        return self._with_token(lambda access_token: self._call(method, params, access_token))

    def _call(self, method: str, params: dict[str, Any], access_token: str | None) -> dict[str, Any]:
        body = param_json(params)
        timestamp = str(int(time.time()))
        query = {
            "app_key": self.credentials.app_key, "method": method, "v": "2", "timestamp": timestamp,
            "sign": request_sign(self.credentials.app_key, self.credentials.app_secret, method,
                                 timestamp, body, self.sign_method),
            "sign_method": self.sign_method,
        }
        if access_token is not None:
            query["access_token"] = access_token
        payload = self.transport.send_json(
            "POST", "/" + method.replace(".", "/"), params=query, data=body.encode(),
            headers={"Content-Type": "application/json", "x-open-no-old-err-code": "1"})
        return _data_or_raise(payload)

    def _fetch_token(self, stale: AccessToken | None) -> AccessToken:
        data: dict[str, Any] | None = None
        if stale is not None and stale.refresh_token:
            try:
                data = self._call("token.refresh", {"grant_type": "refresh_token",
                                                    "refresh_token": stale.refresh_token}, None)
            except (TokenExpired, PlatformRefused):
                data = None  # the refresh token is gone too: start over with token.create
        if data is None:
            if not self.credentials.shop_id:
                raise PlatformRefused("缺少抖店店铺编号（shop_id），无法申请 access_token", platform=NAME)
            data = self._call("token.create", {"code": "", "grant_type": "authorization_self",
                                               "shop_id": str(self.credentials.shop_id)}, None)
        if not data.get("access_token"):
            raise PlatformUnavailable("抖店未返回 access_token", platform=NAME)
        return AccessToken(value=str(data["access_token"]),
                           expires_at=time.time() + int(data.get("expires_in") or 0),
                           refresh_token=str(data.get("refresh_token") or ""))


def _update_times(items: list[Any], id_and_time: Callable[[Any], tuple[Any, Any]]) -> dict[str, float]:
    """id -> update time (epoch seconds) for the listed items that carry both."""
    found: dict[str, float] = {}
    for item in items:
        if isinstance(item, dict):
            ident, updated = id_and_time(item)
            key = as_id(ident)
            if key and isinstance(updated, int) and updated > 0:
                found[key] = float(updated)
    return found


def _data_or_raise(payload: dict[str, Any]) -> dict[str, Any]:
    try:
        code = int(payload.get("code", -1))
    except (TypeError, ValueError):
        code = -1
    if code == SUCCESS_CODE:
        data = payload.get("data")
        return data if isinstance(data, dict) else {}
    sub_code = str(payload.get("sub_code") or "")
    message = f"抖店接口错误 {code} {sub_code}：{payload.get('msg', '')} {payload.get('sub_msg', '')}".strip()
    kw = {"platform": NAME, "code": str(code), "detail": sub_code}
    if code == RATE_LIMIT_CODE or sub_code.startswith("isp.traffic-limited"):
        raise PlatformRateLimited(message, retry_after=1.0, **kw)
    if sub_code in TOKEN_SUB_CODES:
        raise TokenExpired(message, **kw)
    if code in UNAVAILABLE_CODES:
        raise PlatformUnavailable(message, **kw)
    raise PlatformRefused(message, **kw)
