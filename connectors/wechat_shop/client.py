"""微信小店 API client (api.weixin.qq.com).

* Token: ``POST /cgi-bin/stable_token`` ``{"grant_type":"client_credential","appid","secret",
  "force_refresh"}`` (default; it does not invalidate tokens other services hold) or
  ``GET /cgi-bin/token`` (``use_stable_token=False``). After a token is refused, the stable
  token is asked for once more and, if it returns the same refused token, forced.
* Calls: ``POST <path>?access_token=...`` with a JSON body; ``errcode`` 0 is success.
* errcode 40001 / 42001 / 40014 = token invalid or expired -> refresh once and retry;
  45009 (daily quota) / 45011 (minute quota) = rate limited; -1 = system busy (WeChat global
  return codes; the stable_token error table quoted in ``oomol-lab/open-connector`` PR #558).
* Order detail ``/channels/ec/order/get`` (``order_id``), aftersale detail
  ``/channels/ec/aftersale/getaftersaleorder`` (``after_sale_order_id``), order listing
  ``/channels/ec/order/list/get`` (``update_time_range`` of at most 7 days, ``page_size`` <= 100,
  ``next_key``) — developers.weixin.qq.com/doc/store/API/order/get, ``.../aftersale/
  getaftersaleorder.html``; request/response structs in ``smartwalle/wxm`` ``store/order_type.go``
  and ``zsmhub/wx-channels-sdk`` ``apis/订单-获取订单列表.go``.
"""
from __future__ import annotations

import time
from typing import Any

from connectors._http import PlatformApiClient
from connectors.base import (
    AccessToken,
    Credentials,
    Page,
    PlatformRateLimited,
    PlatformRefused,
    PlatformUnavailable,
    TokenExpired,
    Window,
)

NAME = "wechat_shop"
DEFAULT_BASE_URL = "https://api.weixin.qq.com"
TOKEN_CODES = {40001, 42001, 40014}
RATE_LIMIT_CODES = {45009: 3600.0, 45011: 60.0}
BUSY_CODE = -1
PAGE_SIZE = 100


class WechatShopClient(PlatformApiClient):
    platform_name = NAME
    default_base_url = DEFAULT_BASE_URL
    page_size = PAGE_SIZE

    def __init__(self, credentials: Credentials, *, use_stable_token: bool = True, **kwargs: Any) -> None:
        super().__init__(credentials, **kwargs)
        self.use_stable_token = use_stable_token

    # -- API --------------------------------------------------------------------------------

    def order_detail(self, order_id: str) -> dict[str, Any]:
        """``/channels/ec/order/get``: the ``order`` object."""
        return self._api("/channels/ec/order/get", {"order_id": str(order_id)}).get("order") or {}

    def refund_detail(self, refund_id: str, *, order_id: str | None = None) -> dict[str, Any]:
        """``/channels/ec/aftersale/getaftersaleorder``: the ``after_sale_order`` object."""
        answer = self._api("/channels/ec/aftersale/getaftersaleorder", {"after_sale_order_id": str(refund_id)})
        return answer.get("after_sale_order") or {}

    def list_orders(self, window: Window, cursor: str | None = None) -> Page:
        body: dict[str, Any] = {
            "update_time_range": {"start_time": int(window.start.timestamp()),
                                  "end_time": int(window.end.timestamp())},
            "page_size": self.page_size,
        }
        if cursor:
            body["next_key"] = cursor
        answer = self._api("/channels/ec/order/list/get", body)
        ids = [str(i) for i in answer.get("order_id_list") or []]
        more = bool(answer.get("has_more")) and bool(answer.get("next_key"))
        return Page(ids=ids, next_cursor=str(answer["next_key"]) if more else None)

    # -- plumbing ---------------------------------------------------------------------------

    def _api(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        def call(access_token: str) -> dict[str, Any]:
            payload = self.transport.send_json("POST", path, params={"access_token": access_token}, json=body)
            return _ok_or_raise(payload)

        return self._with_token(call)

    def _fetch_token(self, stale: AccessToken | None) -> AccessToken:
        try:
            return self._new_token(stale)
        except TokenExpired as exc:  # 40001 from the token endpoint means a wrong AppSecret
            raise PlatformRefused(f"微信小店 AppSecret 错误，无法获取 access_token：{exc}",
                                  platform=NAME, code=exc.code) from exc

    def _new_token(self, stale: AccessToken | None) -> AccessToken:
        if not self.use_stable_token:
            payload = self.transport.send_json("GET", "/cgi-bin/token", params={
                "grant_type": "client_credential", "appid": self.credentials.app_id,
                "secret": self.credentials.app_secret})
            return _token_of(_ok_or_raise(payload))
        token = self._stable_token(force=False)
        if stale is not None and token.value == stale.value:
            token = self._stable_token(force=True)  # the cached stable token is the refused one
        return token

    def _stable_token(self, *, force: bool) -> AccessToken:
        payload = self.transport.send_json("POST", "/cgi-bin/stable_token", json={
            "grant_type": "client_credential", "appid": self.credentials.app_id,
            "secret": self.credentials.app_secret, "force_refresh": force})
        return _token_of(_ok_or_raise(payload))


def _token_of(payload: dict[str, Any]) -> AccessToken:
    if not payload.get("access_token"):
        raise PlatformUnavailable("微信未返回 access_token", platform=NAME)
    return AccessToken(value=str(payload["access_token"]),
                       expires_at=time.time() + int(payload.get("expires_in") or 0))


def _ok_or_raise(payload: dict[str, Any]) -> dict[str, Any]:
    try:
        code = int(payload.get("errcode") or 0)
    except (TypeError, ValueError):
        code = -1
    if code == 0:
        return payload
    message = f"微信接口错误 {code}：{payload.get('errmsg', '')}"
    kw = {"platform": NAME, "code": str(code)}
    if code in TOKEN_CODES:
        raise TokenExpired(message, **kw)
    if code in RATE_LIMIT_CODES:
        raise PlatformRateLimited(message, retry_after=RATE_LIMIT_CODES[code], **kw)
    if code == BUSY_CODE:
        raise PlatformUnavailable(message, **kw)
    raise PlatformRefused(message, **kw)
