"""A fake 有赞云: ``/auth/token`` (silent and refresh grants), ``youzan.trade.get`` 4.0.0 and
``youzan.trades.sold.get`` 4.0.0, checking the access token, and a push sender signing
``Event-Sign`` = MD5(client_id + body + client_secret) (and the legacy body ``sign``).

有赞's numeric gateway codes for an invalid token and a rate limit are not public: the
``err_code`` values below are illustrative, the texts carry the meaning (the client classifies
by text). Amounts are yuan strings, as 有赞 sends them.
"""
from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from connectors.base import Credentials
from tests.fakes.platforms.base import FakePlatform, SeedOrder, json_response, server_error

CLIENT_ID = "fake0000youzan0client"
CLIENT_SECRET = "fake-youzan-client-secret"
KDT_ID = "46020001"
TOKEN_ERR = 4203   # illustrative
RATE_ERR = 4006    # illustrative
CST = timezone(timedelta(hours=8))


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def cst(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=CST).strftime("%Y-%m-%d %H:%M:%S") if epoch else ""


def md5_hex(text: bytes) -> str:
    return hashlib.md5(text).hexdigest()


def _failed(code: int, message: str) -> Response:
    return json_response({"success": False, "code": code, "message": message, "data": None})


def _gateway(code: int, message: str) -> Response:
    return json_response({"gw_err_resp": {"err_code": code, "err_msg": message}})


class FakeYouzan(FakePlatform):
    name = "youzan"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client_id, self.client_secret, self.kdt_id = CLIENT_ID, CLIENT_SECRET, KDT_ID

    @property
    def credentials(self) -> Credentials:
        return Credentials(client_id=self.client_id, client_secret=self.client_secret, shop_id=self.kdt_id)

    # -- API ---------------------------------------------------------------------------------

    def route(self, request: Request) -> Response:
        body = request.get_json(silent=True) or {}
        if request.path == "/auth/token":
            return self._token(body)
        if self.token_state(request.args.get("access_token")) != "ok":
            return _gateway(TOKEN_ERR, "access_token 无效或已过期")
        failure = self.take_failure()
        if failure == "rate_limit":
            return _gateway(RATE_ERR, "接口调用频率超过限制，请稍后再试")
        if failure == "server_error":
            return server_error()
        handler = {"/api/youzan.trade.get/4.0.0": self._trade_get,
                   "/api/youzan.trades.sold.get/4.0.0": self._trades_sold}.get(request.path)
        return handler(body) if handler else _failed(404, "api not found")

    def _token(self, body: dict[str, Any]) -> Response:
        if body.get("client_id") != self.client_id or body.get("client_secret") != self.client_secret:
            return _failed(40001, "client_id 或 client_secret 错误")
        grant = body.get("authorize_type")
        if grant == "silent" and str(body.get("grant_id")) != self.kdt_id:
            return _failed(40002, "店铺未授权该应用")
        if grant == "refresh_token" and not self.use_refresh_token(str(body.get("refresh_token"))):
            return _failed(40003, "refresh_token 无效")
        if grant not in ("silent", "refresh_token"):
            return _failed(40004, "authorize_type 不支持")
        token = self.issue_token()
        return json_response({"success": True, "code": 200, "message": "success", "data": {
            "access_token": token.value, "expires": int(token.expires_at * 1000), "scope": "trade",
            "authority_id": self.kdt_id, "refresh_token": token.refresh_token}})

    def render_trade(self, order: SeedOrder) -> dict[str, Any]:
        refunds = self.refunds_of(order.order_id)
        return {
            "full_order_info": {
                "order_info": {"tid": order.order_id, "created": cst(order.paid_at - 60), "pay_time": cst(order.paid_at),
                               "update_time": cst(order.updated_at), "status": "WAIT_SELLER_SEND_GOODS",
                               "node_kdt_id": int(self.kdt_id), "root_kdt_id": int(self.kdt_id)},
                "buyer_info": {"yz_open_id": order.buyer_id, "fans_id": 0},
                "pay_info": {"payment": yuan(sum(i.paid_fen for i in order.items)), "post_fee": "0.00",
                             "total_fee": yuan(sum(i.paid_fen for i in order.items))},
                "orders": [{"oid": item.sub_order_id, "sku_id": int(item.sku_id), "item_id": int(item.sku_id) // 10,
                            "outer_sku_id": f"XX-{item.sku_id}", "title": item.title, "num": item.quantity,
                            "payment": yuan(item.paid_fen), "total_fee": yuan(item.paid_fen),
                            "price": yuan(item.paid_fen // max(item.quantity, 1))} for item in order.items],
            },
            "refund_order": [{"refund_id": r.refund_id, "oids": [{"oid": oid} for oid in r.sub_order_id.split(",")],
                              "refund_fee": yuan(r.refunded_fen), "refund_state": 60 if r.done else 1,
                              "refund_type": 1} for r in refunds],
        }

    def _ok(self, data: dict[str, Any]) -> Response:
        return json_response({"success": True, "code": 200, "message": "successful", "data": data})

    def _trade_get(self, body: dict[str, Any]) -> Response:
        order = self.orders.get(str(body.get("tid")))
        return self._ok(self.render_trade(order)) if order else _failed(101300001, "订单不存在")

    def _trades_sold(self, body: dict[str, Any]) -> Response:
        def epoch(text: str) -> float:
            return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CST).timestamp()

        found = self.orders_updated(epoch(body["start_update"]), epoch(body["end_update"]))
        page, size = int(body.get("page_no", 1)), min(int(body.get("page_size", 20)), 100)
        chunk = found[(page - 1) * size:page * size]
        return self._ok({"full_order_info_list": [self.render_trade(o) for o in chunk], "total_results": len(found)})

    # -- message push ------------------------------------------------------------------------

    def push_message(self, url: str, message_type: str, business_id: str, msg: dict[str, Any], *,
                     lose: bool = False, test: bool = False, secret: str | None = None, event_sign: bool = True):
        encoded = quote(json.dumps(msg, ensure_ascii=False))
        secret = secret or self.client_secret
        payload = {"client_id": self.client_id, "id": business_id, "kdt_id": int(self.kdt_id), "kdt_name": "湘西香伴",
                   "mode": 1, "msg": encoded, "sendCount": 0, "status": msg.get("status", ""), "test": test,
                   "type": message_type, "version": int(time.time() * 1000),
                   "sign": md5_hex(f"{self.client_id}{encoded}{secret}".encode())}
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if event_sign:
            headers["Event-Sign"] = md5_hex(self.client_id.encode() + body + secret.encode())
        return self.deliver(url, body, headers, lose=lose)

    def push_paid(self, url: str, tid: str, *, lose: bool = False, **kwargs: Any):
        trade = self.render_trade(self.orders[tid])
        return self.push_message(url, "trade_TradePaid", tid, {"full_order_info": trade["full_order_info"]},
                                 lose=lose, **kwargs)

    def push_refund(self, url: str, refund_id: str, *, lose: bool = False):
        refund = self.refunds[refund_id]
        return self.push_message(url, "trade_refund_RefundSuccess", refund_id,
                                 {"tid": refund.order_id, "refund_id": refund_id, "oids": refund.sub_order_id},
                                 lose=lose)

    def push_test(self, url: str):
        return self.push_message(url, "", "", {}, test=True)
