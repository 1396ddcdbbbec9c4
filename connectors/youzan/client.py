"""有赞云 API client (open.youzanyun.com).

* Token: ``POST /auth/token`` JSON ``{client_id, client_secret, authorize_type: "silent",
  grant_id: <kdt_id>}`` for a self-use app, or ``authorize_type: "refresh_token"`` with the
  refresh token for a tool app (``youzan/open-sdk-php`` ``src/Open/Token.php``); the answer is
  ``{"success": true, "code": 200, "data": {"access_token", "expires" (ms epoch), ...}}``.
* Calls: ``POST /api/<api>/<version>?access_token=...`` with a JSON body
  (``youzan/open-sdk-php`` ``src/Open/Config/HttpConfig.php``, ``src/Open/Http.php``).
* Answers: ``{"success": true, "code": 200, "data": {...}}``; gateway errors come as
  ``{"gw_err_resp": {"err_code", "err_msg"}}`` inside HTTP 200, business errors as
  ``success: false`` (error envelopes handled in several public clients, e.g. the SDK users
  quoted in docs/connectors.md).
* ❓ The numeric codes for an expired token and a rate limit are not in any public source we
  found, so errors are classified by their message: one mentioning ``token`` is a token error
  (refresh once, then ``TokenExpired``), ``频率`` / ``限流`` / ``limit`` a rate limit; a guessed
  number could turn a permanent error into an endless retry, so none is used.
* ``youzan.trade.get`` 4.0.0 (``tid``) returns the trade with ``full_order_info`` and
  ``refund_order`` (the Java SDK model ``YouzanTradeGetResult``); ``youzan.trades.sold.get``
  4.0.0 lists trades by ``start_update``/``end_update`` ("yyyy-MM-dd HH:mm:ss") with
  ``page_no``/``page_size`` (cesing/youzanyun-doc ``docs/apis/交易订单/youzan.trades.sold.get_4_0_0.md``).
"""
from __future__ import annotations

import time
from typing import Any

from connectors._events import CST, as_id, from_cst_text
from connectors._http import PlatformApiClient
from connectors.base import (
    AccessToken,
    MappingError,
    Page,
    PlatformRateLimited,
    PlatformRefused,
    PlatformUnavailable,
    TokenExpired,
    Window,
)

NAME = "youzan"
DEFAULT_BASE_URL = "https://open.youzanyun.com"
_RATE_TEXTS = ("频率", "限流", "limit")
PAGE_SIZE = 100
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class YouzanClient(PlatformApiClient):
    platform_name = NAME
    default_base_url = DEFAULT_BASE_URL
    page_size = PAGE_SIZE

    # -- API --------------------------------------------------------------------------------

    def order_detail(self, order_id: str) -> dict[str, Any]:
        """``youzan.trade.get`` 4.0.0: ``{"full_order_info": ..., "refund_order": [...]}``."""
        return self._api("youzan.trade.get", "4.0.0", {"tid": str(order_id)})

    def refund_detail(self, refund_id: str, *, order_id: str | None = None) -> dict[str, Any]:
        """有赞 documents a trade's refunds (``refund_id``, ``oids``, ``refund_fee``,
        ``refund_state``) inside ``youzan.trade.get``; the refund detail *is* the trade detail,
        so the trade id (``tid``) is required."""
        if not order_id:
            raise PlatformRefused("有赞退款需同时提供订单号（tid）", platform=NAME)
        return self.order_detail(order_id)

    def list_orders(self, window: Window, cursor: str | None = None) -> Page:
        page = int(cursor or 1)
        data = self._api("youzan.trades.sold.get", "4.0.0", {
            "start_update": window.start.astimezone(CST).strftime(_TIME_FORMAT),
            "end_update": window.end.astimezone(CST).strftime(_TIME_FORMAT),
            "page_no": page, "page_size": self.page_size,
        })
        trades = data.get("full_order_info_list") or []
        infos = [((t.get("full_order_info") or {}).get("order_info") or {}) for t in trades]
        ids = [i for i in (as_id(info.get("tid")) for info in infos) if i]
        updated: dict[str, float] = {}
        for info in infos:
            try:
                moment = from_cst_text(info.get("update_time"))
            except MappingError:
                moment = None
            tid = as_id(info.get("tid"))
            if tid and moment is not None:
                updated[tid] = moment.timestamp()
        total = int(data.get("total_results") or 0)
        return Page(ids=ids, next_cursor=str(page + 1) if page * self.page_size < total else None,
                    updated=updated)

    # -- plumbing ---------------------------------------------------------------------------

    def _api(self, api: str, version: str, body: dict[str, Any]) -> dict[str, Any]:
        def call(access_token: str) -> dict[str, Any]:
            payload = self.transport.send_json("POST", f"/api/{api}/{version}",
                                               params={"access_token": access_token}, json=body)
            return _data_or_raise(payload)

        return self._with_token(call)

    def _fetch_token(self, stale: AccessToken | None) -> AccessToken:
        refresh_token = (stale.refresh_token if stale is not None else "") or self.credentials.refresh_token
        body: dict[str, Any] = {"client_id": self.credentials.client_id,
                                "client_secret": self.credentials.client_secret}
        if refresh_token:
            body.update(authorize_type="refresh_token", refresh_token=refresh_token)
        elif self.credentials.shop_id:
            body.update(authorize_type="silent", grant_id=self.credentials.shop_id)
        else:
            raise PlatformRefused("缺少有赞店铺编号（kdt_id）或 refresh_token，无法申请 access_token",
                                  platform=NAME)
        payload = self.transport.send_json("POST", "/auth/token", json=body)
        try:
            data = _data_or_raise(payload)
        except TokenExpired as exc:
            raise PlatformRefused(f"有赞拒绝发放 access_token：{exc}", platform=NAME, code=exc.code) from exc
        if not data.get("access_token"):
            raise PlatformUnavailable("有赞未返回 access_token", platform=NAME)
        expires_ms = int(data.get("expires") or 0)
        return AccessToken(value=str(data["access_token"]),
                           expires_at=expires_ms / 1000 if expires_ms else time.time() + 7200,
                           refresh_token=str(data.get("refresh_token") or refresh_token or ""))


def _data_or_raise(payload: dict[str, Any]) -> dict[str, Any]:
    gateway = payload.get("gw_err_resp")
    if isinstance(gateway, dict) and gateway:
        code, text = gateway.get("err_code"), str(gateway.get("err_msg") or "")
    elif payload.get("success") is True or payload.get("code") == 200:
        data = payload.get("data")
        return data if isinstance(data, dict) else {}
    else:
        inner = payload.get("error_response")
        error: dict[str, Any] = inner if isinstance(inner, dict) else payload
        code, text = error.get("code"), str(error.get("message") or error.get("msg") or "")
    try:
        number = int(code)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = -1
    lowered = text.lower()
    message = f"有赞接口错误 {code}：{text}"
    kw = {"platform": NAME, "code": str(code)}
    if "token" in lowered:
        raise TokenExpired(message, **kw)
    if any(t in lowered for t in _RATE_TEXTS):
        raise PlatformRateLimited(message, retry_after=1.0, **kw)
    if 500 <= number < 600:
        raise PlatformUnavailable(message, **kw)
    raise PlatformRefused(message, **kw)
