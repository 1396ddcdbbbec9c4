"""A fake 快手小店 open platform: ``/oauth2/refresh_token``, ``open.order.detail``,
``open.seller.order.refund.detail``, ``open.order.cursor.list`` — checking the ``sign``
(MD5 hex or HMAC_SHA256 base64 over the sorted system parameters + ``signSecret``) and the
access token — and a push sender that AES-CBC encrypts (zero IV, PKCS5, base64) with the
消息私钥 as the platform documents.

The platform's numeric ``result`` codes for a bad signature, an unknown order or a QPS limit
are not public: the constants below are illustrative; the texts are the documented ones
(K0004 "鉴权失败", K1004 "签名校验失败", K1008 "Exceed qps limit, KEY [...]"). The token error
uses 100200102 ``access_denied`` from the APP授权说明 error table.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from werkzeug.wrappers import Request, Response

from connectors.base import Credentials
from tests.fakes.platforms.base import FakePlatform, SeedOrder, SeedRefund, json_response, server_error

APP_KEY = "ks700000000000000001"
APP_SECRET = "fake-kwai-app-secret"
SIGN_SECRET = "fake-kwai-sign-secret-abcdef"
MESSAGE_KEY = base64.b64encode(bytes(range(16))).decode()
TOKEN_ERROR = 100200102          # APP授权说明: access_denied, any token error
SIGN_ERROR = 28                  # illustrative
NOT_FOUND = 30                   # illustrative
QPS_LIMIT = 1000                 # illustrative; the text is what the docs show
SELLER_ID = "2000000001"


def platform_sign(params: dict[str, str], sign_secret: str) -> str | None:
    """The documented check, written independently of the client (API调用说明 §4)."""
    signed = {k: v for k, v in params.items() if k in
              ("access_token", "appkey", "method", "param", "signMethod", "timestamp", "version")}
    text = "&".join(f"{k}={signed[k]}" for k in sorted(signed)) + f"&signSecret={sign_secret}"
    if params.get("signMethod") == "MD5":
        return hashlib.md5(text.encode()).hexdigest()
    if params.get("signMethod") == "HMAC_SHA256":
        return base64.b64encode(hmac.new(sign_secret.encode(), text.encode(), hashlib.sha256).digest()).decode()
    return None


def encrypt_message(message_key: str, plaintext: str) -> bytes:
    """``PlatformEventSecurityUtil``'s inverse: AES/CBC/PKCS5Padding, IV of 16 zero bytes, base64."""
    padder = padding.PKCS7(128).padder()
    data = padder.update(plaintext.encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(base64.b64decode(message_key)), modes.CBC(bytes(16))).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize())


def _error(result: int, error_msg: str, error: str = "") -> Response:
    return json_response({"result": result, "error_msg": error_msg, "error": error, "code": str(result),
                          "requestId": "fake-request"})


class FakeKuaishouShop(FakePlatform):
    name = "kuaishou_shop"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app_key, self.app_secret, self.sign_secret = APP_KEY, APP_SECRET, SIGN_SECRET
        self.message_key = MESSAGE_KEY
        self.initial_refresh_token = self.issue_token(ttl=0).refresh_token  # the OAuth grant's

    @property
    def credentials(self) -> Credentials:
        return Credentials(app_key=self.app_key, app_secret=self.app_secret, sign_secret=self.sign_secret,
                           message_key=self.message_key, refresh_token=self.initial_refresh_token)

    # -- API ---------------------------------------------------------------------------------

    def route(self, request: Request) -> Response:
        if request.path == "/oauth2/refresh_token":
            return self._refresh(request)
        q = {k: request.args[k] for k in request.args}
        method = q.get("method", "")
        if request.path != "/" + method.replace(".", "/") or q.get("appkey") != self.app_key:
            return _error(SIGN_ERROR, "参数错误：method 或 appkey 不正确")
        expected = platform_sign(q, self.sign_secret)
        if expected is None or not hmac.compare_digest(expected, q.get("sign", "")):
            return _error(SIGN_ERROR, "签名校验失败")
        if self.token_state(q.get("access_token")) != "ok":
            return _error(TOKEN_ERROR, "鉴权失败，access_token已过期或不存在", "access_denied")
        failure = self.take_failure()
        if failure == "rate_limit":
            return _error(QPS_LIMIT, f"Exceed qps limit, KEY [apiId:{method};appkey:{self.app_key}], MAX_QPS [100.0]")
        if failure == "server_error":
            return server_error()
        param = json.loads(q.get("param") or "{}")
        handler = {"open.order.detail": self._order_detail, "open.seller.order.refund.detail": self._refund_detail,
                   "open.order.cursor.list": self._cursor_list}.get(method)
        return handler(param) if handler else _error(NOT_FOUND, f"API {method} 不存在")

    def _refresh(self, request: Request) -> Response:
        form = request.form
        if form.get("app_id") != self.app_key or form.get("app_secret") != self.app_secret:
            return _error(100200101, "app 非法", "unauthorized_client")
        if form.get("grant_type") != "refresh_token" or not self.use_refresh_token(form.get("refresh_token", "")):
            return _error(TOKEN_ERROR, "invalid refresh_token", "access_denied")
        token = self.issue_token(ttl=172800)
        return json_response({"result": 1, "access_token": token.value, "expires_in": 172800,
                              "refresh_token": token.refresh_token, "refresh_token_expires_in": 15552000,
                              "scopes": ["merchant_order", "merchant_refund"]})

    def _ok(self, data: dict[str, Any]) -> Response:
        return json_response({"result": 1, "msg": "success", "data": data, "requestId": "fake-request"})

    def render_order(self, order: SeedOrder) -> dict[str, Any]:
        item = order.items[0]  # a 快手 order holds one item
        cps = {"distributorId": int(item.host_id), "distributorName": item.host_name or ""} if item.host_id else {
            "distributorId": 0, "kwaiMoneyUserId": 0}
        return {
            "orderBaseInfo": {"oid": int(order.order_id), "payTime": order.paid_at * 1000,
                              "createTime": (order.paid_at - 60) * 1000, "updateTime": order.updated_at * 1000,
                              "totalFee": item.paid_fen, "expressFee": 0, "discountFee": 0,
                              "buyerOpenId": order.buyer_id, "sellerOpenId": SELLER_ID,
                              "status": 30 if order.paid_at else 10, "cpsType": 1 if item.host_id else 0},
            "orderItemInfo": {"skuId": int(item.sku_id), "relSkuId": 0, "itemId": int(item.sku_id) // 10,
                              "itemTitle": item.title, "num": item.quantity, "price": item.paid_fen // max(item.quantity, 1),
                              "orderItemId": int(order.order_id) + 1,
                              "itemExtra": {"categoryInfo": {"categoryName": item.category or "茶叶"}}},
            "orderCpsInfo": cps,
            "orderRefundList": [{"refundId": int(r.refund_id), "refundStatus": 60 if r.done else 10}
                                for r in self.refunds_of(order.order_id)],
        }

    def render_refund(self, refund: SeedRefund) -> dict[str, Any]:
        return {"refundId": int(refund.refund_id), "oid": int(refund.order_id), "status": 60 if refund.done else 10,
                "handlingWay": 10, "refundFee": refund.refunded_fen, "endTime": refund.updated_at * 1000,
                "updateTime": refund.updated_at * 1000, "skuId": int(self.orders[refund.order_id].items[0].sku_id)}

    def _order_detail(self, param: dict[str, Any]) -> Response:
        order = self.orders.get(str(param.get("oid")))
        return self._ok(self.render_order(order)) if order else _error(NOT_FOUND, "订单不存在")

    def _refund_detail(self, param: dict[str, Any]) -> Response:
        refund = self.refunds.get(str(param.get("refundId")))
        return self._ok(self.render_refund(refund)) if refund else _error(NOT_FOUND, "退款单不存在")

    def _cursor_list(self, param: dict[str, Any]) -> Response:
        found = self.orders_updated(param["beginTime"] / 1000, param["endTime"] / 1000)
        start, size = int(param.get("cursor") or 0), min(int(param.get("pageSize", 50)), 100)
        chunk = found[start:start + size]
        cursor = str(start + size) if start + size < len(found) else "nomore"
        return self._ok({"cursor": cursor, "orderList": [self.render_order(o) for o in chunk],
                         "pageSize": size, "beginTime": param["beginTime"], "endTime": param["endTime"]})

    # -- message push ------------------------------------------------------------------------

    def push_event(self, url: str, event: str, biz_id: str, info: dict[str, Any], *, lose: bool = False,
                   app_key: str | None = None, key: str | None = None):
        plaintext = json.dumps({"eventId": f"{biz_id}_{event}_{int(time.time() * 1000)}", "bizId": int(biz_id),
                                "userId": int(SELLER_ID), "openId": "seller-open-id", "appKey": app_key or self.app_key,
                                "event": event, "info": json.dumps(info), "createTime": int(time.time() * 1000),
                                "test": False})
        body = encrypt_message(key or self.message_key, plaintext)
        return self.deliver(url, body, {"Content-Type": "text/plain;charset=utf-8"}, lose=lose)

    def push_paid(self, url: str, order_id: str, *, lose: bool = False, **kwargs: Any):
        order = self.orders[order_id]
        info = {"oid": int(order_id), "sellerId": int(SELLER_ID), "status": 30, "updateTime": order.updated_at * 1000}
        return self.push_event(url, "kwaishop_order_paySuccess", order_id, info, lose=lose, **kwargs)

    def push_refund(self, url: str, refund_id: str, *, lose: bool = False):
        refund = self.refunds[refund_id]
        info = {"orderId": int(refund.order_id), "refundId": int(refund_id), "sellerId": int(SELLER_ID),
                "status": 60 if refund.done else 10, "updateTime": refund.updated_at * 1000}
        return self.push_event(url, "kwaishop_aftersales_updateRefund", refund_id, info, lose=lose)

    def push_heartbeat(self, url: str, *, encrypted: bool = False):
        body = encrypt_message(self.message_key, '{"test":true}') if encrypted else b'{"test":true}'
        return self.deliver(url, body, {"Content-Type": "text/plain;charset=utf-8"})
