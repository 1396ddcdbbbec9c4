"""A fake 微信小店 API and message push: ``/cgi-bin/token``, ``/cgi-bin/stable_token``,
``/channels/ec/order/get``, ``/channels/ec/aftersale/getaftersaleorder``,
``/channels/ec/order/list/get`` with WeChat's errcodes (40001 / 42001 token, 45011 rate
limit, -1 busy), and a push sender that encrypts with wechatpy ``WeChatCrypto`` and signs
``msg_signature`` exactly as the platform's safe mode does, plus the GET URL handshake.

The errcode for "order not found" is not documented in a source we could check; the value
used below is illustrative.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import time
from typing import Any

import xmltodict
from wechatpy.crypto import WeChatCrypto
from werkzeug.wrappers import Request, Response

from connectors.base import Credentials
from tests.fakes.platforms.base import FakePlatform, SeedOrder, SeedRefund, json_response, server_error

APP_ID = "wx4f4bc4dec97d0001"
APP_SECRET = "fake-wechat-shop-secret-0123456789"
PUSH_TOKEN = "fakepushtoken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat issues them
USERNAME = "gh_fakeshop0001"
NOT_FOUND = 10020052  # illustrative
SEVEN_DAYS = 7 * 24 * 3600


def _err(errcode: int, errmsg: str) -> Response:
    return json_response({"errcode": errcode, "errmsg": errmsg})


def sha1_of(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


class FakeWechatShop(FakePlatform):
    name = "wechat_shop"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app_id, self.app_secret = APP_ID, APP_SECRET
        self.push_token, self.aes_key = PUSH_TOKEN, AES_KEY
        self.stable_token_lags = False  # True: stable_token keeps returning a refused token until forced
        self._stable: str | None = None

    @property
    def credentials(self) -> Credentials:
        return Credentials(app_id=self.app_id, app_secret=self.app_secret, token=self.push_token,
                           encoding_aes_key=self.aes_key)

    # -- API ---------------------------------------------------------------------------------

    def route(self, request: Request) -> Response:
        if request.path == "/cgi-bin/token":
            q = request.args
            return self._issue(q.get("appid"), q.get("secret"), q.get("grant_type"), force=True)
        if request.path == "/cgi-bin/stable_token":
            body = request.get_json(silent=True) or {}
            return self._issue(body.get("appid"), body.get("secret"), body.get("grant_type"),
                               force=bool(body.get("force_refresh")))
        state = self.token_state(request.args.get("access_token"))
        if state == "unknown" or (state == "expired" and not self._expired_by_time(request.args["access_token"])):
            return _err(40001, "invalid credential, access_token is invalid or not latest")
        if state == "expired":
            return _err(42001, "access_token expired")
        failure = self.take_failure()
        if failure == "rate_limit":
            return _err(45011, "api minute-quota reach limit  mustslower  retry next minute")
        if failure == "server_error":
            return server_error()
        body = request.get_json(silent=True) or {}
        handler = {"/channels/ec/order/get": self._order_get,
                   "/channels/ec/aftersale/getaftersaleorder": self._aftersale_get,
                   "/channels/ec/order/list/get": self._order_list}.get(request.path)
        return handler(body) if handler else _err(48001, "api unauthorized")

    def _expired_by_time(self, value: str) -> bool:
        token = self._tokens.get(value)
        return token is not None and not token.revoked

    def _issue(self, appid: Any, secret: Any, grant_type: Any, *, force: bool) -> Response:
        if grant_type != "client_credential":
            return _err(40002, "invalid grant_type")
        if appid != self.app_id:
            return _err(40013, "invalid appid")
        if secret != self.app_secret:
            return _err(40001, "invalid credential, access_token is invalid or not latest")
        current = self._stable
        keep = current is not None and (self.token_state(current) == "ok" or self.stable_token_lags)
        if force or not keep:
            if current is not None:
                self._tokens[current].revoked = True  # a forced refresh invalidates the previous token
            self._stable = current = self.issue_token().value
        return json_response({"access_token": current, "expires_in": int(self._tokens[current].expires_at - time.time())})

    def render_order(self, order: SeedOrder) -> dict[str, Any]:
        products, sources = [], []
        for item in order.items:
            products.append({"product_id": str(int(item.sku_id) // 10), "sku_id": item.sku_id, "title": item.title,
                             "sku_cnt": item.quantity, "sale_price": item.paid_fen // max(item.quantity, 1),
                             "real_price": item.paid_fen, "estimate_price": item.paid_fen,
                             "product_unique_id": f"{order.order_id}_{len(products) + 1:03d}"})
            if item.host_id:
                sources.append({"sku_id": item.sku_id, "account_type": 1, "account_id": item.host_id,
                                "account_nickname": item.host_name or "", "sale_channel": 0})
        refunds = self.refunds_of(order.order_id)
        return {
            "order_id": order.order_id, "create_time": order.paid_at - 60, "update_time": order.updated_at,
            "status": 20 if order.paid_at else 10, "openid": order.buyer_id,
            "order_detail": {
                "product_infos": products, "source_infos": sources,
                "pay_info": {"payment_method": 1, "pay_time": order.paid_at} if order.paid_at else {},
                "price_info": {"order_price": sum(i.paid_fen for i in order.items), "freight": 0},
                "ext_info": {"customer_notes": "", "finder_id": "", "live_id": "export/live-0001"},
                "commission_infos": [],
            },
            "aftersale_detail": {"aftersale_order_list": [{"aftersale_order_id": r.refund_id, "status": 13}
                                                          for r in refunds],
                                 "on_aftersale_order_cnt": sum(1 for r in refunds if not r.done)},
        }

    def render_aftersale(self, refund: SeedRefund) -> dict[str, Any]:
        order = self.orders[refund.order_id]
        item = next(i for i in order.items if i.sub_order_id == refund.sub_order_id)
        return {"after_sale_order_id": refund.refund_id,
                "status": "MERCHANT_REFUND_SUCCESS" if refund.done else "MERCHANT_PROCESSING",
                "openid": order.buyer_id, "order_id": refund.order_id,
                "product_info": {"product_id": str(int(item.sku_id) // 10), "sku_id": item.sku_id,
                                 "count": refund.quantity},
                "refund_info": {"amount": refund.refunded_fen}, "create_time": refund.updated_at - 600,
                "update_time": refund.updated_at, "type": "REFUND", "reason": "NO_LONGER_WANT"}

    def _ok(self, payload: dict[str, Any]) -> Response:
        return json_response({"errcode": 0, "errmsg": "ok", **payload})

    def _order_get(self, body: dict[str, Any]) -> Response:
        order = self.orders.get(str(body.get("order_id")))
        return self._ok({"order": self.render_order(order)}) if order else _err(NOT_FOUND, "订单不存在")

    def _aftersale_get(self, body: dict[str, Any]) -> Response:
        refund = self.refunds.get(str(body.get("after_sale_order_id")))
        return self._ok({"after_sale_order": self.render_aftersale(refund)}) if refund else _err(NOT_FOUND, "售后单不存在")

    def _order_list(self, body: dict[str, Any]) -> Response:
        window = body.get("update_time_range") or body.get("create_time_range")
        if not window or window["end_time"] - window["start_time"] > SEVEN_DAYS:
            return _err(10020055, "参数有误：时间范围不能超过7天")
        found = self.orders_updated(window["start_time"], window["end_time"])
        start, size = int(body.get("next_key") or 0), min(int(body.get("page_size", 10)), 100)
        chunk = found[start:start + size]
        more = start + size < len(found)
        return self._ok({"order_id_list": [o.order_id for o in chunk], "has_more": more,
                         "next_key": str(start + size) if more else ""})

    # -- message push ------------------------------------------------------------------------

    def push_event(self, url: str, payload: dict[str, Any], *, lose: bool = False, token: str | None = None,
                   aes_key: str | None = None, app_id: str | None = None):
        """Encrypt and sign ``payload`` as safe mode does (wechatpy ``WeChatCrypto``)."""
        timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
        crypto = WeChatCrypto(token or self.push_token, aes_key or self.aes_key, app_id or self.app_id)
        envelope = xmltodict.parse(crypto.encrypt_message(json.dumps(payload, ensure_ascii=False), nonce, timestamp))["xml"]
        query = {"signature": sha1_of(token or self.push_token, timestamp, nonce), "timestamp": timestamp,
                 "nonce": nonce, "openid": "o-platform", "encrypt_type": "aes",
                 "msg_signature": envelope["MsgSignature"]}
        body = json.dumps({"ToUserName": USERNAME, "Encrypt": envelope["Encrypt"]}).encode()
        return self.deliver(url, body, {"Content-Type": "application/json"}, query=query, lose=lose)

    def push_paid(self, url: str, order_id: str, *, lose: bool = False, **kwargs: Any):
        order = self.orders[order_id]
        return self.push_event(url, {"ToUserName": USERNAME, "FromUserName": "o-platform", "CreateTime": order.paid_at,
                                     "MsgType": "event", "Event": "channels_ec_order_pay",
                                     "order_info": {"order_id": order_id, "pay_time": order.paid_at}},
                               lose=lose, **kwargs)

    def push_aftersale(self, url: str, refund_id: str, *, lose: bool = False):
        refund = self.refunds[refund_id]
        return self.push_event(url, {"ToUserName": USERNAME, "FromUserName": "o-platform",
                                     "CreateTime": refund.updated_at, "MsgType": "event",
                                     "Event": "channels_ec_aftersale_update",
                                     "finder_shop_aftersale_status_update": {
                                         "status": "MERCHANT_REFUND_SUCCESS" if refund.done else "MERCHANT_PROCESSING",
                                         "after_sale_order_id": refund_id, "order_id": refund.order_id}},
                               lose=lose)

    def verify_url(self, url: str, *, token: str | None = None):
        """The GET handshake the platform sends when the push URL is saved."""
        timestamp, nonce, echostr = str(int(time.time())), secrets.token_hex(5), secrets.token_hex(8)
        query = {"signature": sha1_of(token or self.push_token, timestamp, nonce), "timestamp": timestamp,
                 "nonce": nonce, "echostr": echostr}
        return self.deliver(url, b"", {}, query=query, method="GET"), echostr
