"""A fake 抖店 open platform: ``token.create`` / ``token.refresh``, ``order.orderDetail``,
``afterSale.Detail``, ``order.searchList``, ``afterSale.List``, checking the request signature
and the access token as the platform does, and a message-push sender (MD5 ``event-sign``).

Error answers use the platform's codes (``tb07/doudian`` ``src/Error/ErrorCode.php``):
40003 ``isv.signature-invalid`` / ``isv.access-token-expired`` / ``isv.access-token-no-existed``,
60000 ``isp.traffic-limited``, 50002 business failure (order not found).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from werkzeug.wrappers import Request, Response

from connectors.base import Credentials
from tests.fakes.platforms.base import FakePlatform, SeedOrder, SeedRefund, json_response, server_error

APP_KEY = "7000000000000000001"
APP_SECRET = "fake-doudian-app-secret-0123456789"
SHOP_ID = "4463798"
TOKEN_METHODS = {"token.create", "token.refresh"}


def platform_sign(app_key: str, app_secret: str, method: str, timestamp: str, params: Any,
                  sign_method: str) -> str | None:
    """How the platform checks ``sign`` — written here independently of the client, from
    ``com.doudian.open.utils.SignUtil.sign`` (md5) and ``zsmhub/doudian-sdk`` (hmac-sha256)."""
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    text = f"{app_secret}app_key{app_key}method{method}param_json{canonical}timestamp{timestamp}v2{app_secret}"
    if sign_method == "md5":
        return hashlib.md5(text.encode()).hexdigest()
    if sign_method == "hmac-sha256":
        return hmac.new(app_secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    return None


def event_sign(app_key: str, app_secret: str, body: bytes) -> str:
    """``DoudianOpMsgRequest.checkSign``: MD5(appKey + requestBody + appSecret)."""
    return hashlib.md5(app_key.encode() + body + app_secret.encode()).hexdigest()


def _error(code: int, msg: str, sub_code: str, sub_msg: str) -> Response:
    return json_response({"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg,
                          "log_id": "fake-log", "data": {}})


class FakeDouyinShop(FakePlatform):
    name = "douyin_shop"

    def __init__(self, *, app_key: str = APP_KEY, app_secret: str = APP_SECRET, shop_id: str = SHOP_ID,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app_key, self.app_secret, self.shop_id = app_key, app_secret, shop_id

    @property
    def credentials(self) -> Credentials:
        return Credentials(app_key=self.app_key, app_secret=self.app_secret, shop_id=self.shop_id)

    # -- API ---------------------------------------------------------------------------------

    def route(self, request: Request) -> Response:
        q = request.args
        method = q.get("method", "")
        if request.method != "POST" or request.path != "/" + method.replace(".", "/"):
            return _error(40003, "非法的参数", "isv.parameter-invalid", "method 与路径不一致")
        if q.get("app_key") != self.app_key:
            return _error(40003, "非法的参数", "isv.app-id-invalid", "app_key 不存在")
        body = request.get_data().decode("utf-8") or "{}"
        try:
            params = json.loads(body)
        except ValueError:
            return _error(40003, "非法的参数", "isv.parameter-format-invalid", "业务参数json解析失败")
        if q.get("v") != "2":
            return _error(40003, "非法的参数", "isv.parameter-invalid", "v 必须为 2")
        # the platform re-sorts param_json before checking, so key order never matters
        expected = platform_sign(self.app_key, self.app_secret, method, q.get("timestamp", ""), params,
                                 q.get("sign_method", "md5"))
        if expected is None or not hmac.compare_digest(expected, q.get("sign", "")):
            return _error(40003, "非法的参数", "isv.signature-invalid", "签名校验失败")
        if method in TOKEN_METHODS:
            return self._token(method, params)
        state = self.token_state(q.get("access_token"))
        if state == "expired":
            return _error(40003, "非法的参数", "isv.access-token-expired", "access_token已过期")
        if state == "unknown":
            return _error(40003, "非法的参数", "isv.access-token-no-existed",
                          "access_token不存在，请使用最新的access_token访问")
        failure = self.take_failure()
        if failure == "rate_limit":
            return _error(60000, "触发限流，请稍后重试", "isp.traffic-limited:2010067", "稍后重试")
        if failure == "server_error":
            return server_error()
        handler = {"order.orderDetail": self._order_detail, "afterSale.Detail": self._aftersale_detail,
                   "order.searchList": self._search_list, "afterSale.List": self._aftersale_list}.get(method)
        if handler is None:
            return _error(70000, "接口服务已下线", "isp.api-service-off", "API不存在或API已下线")
        return handler(params)

    def _ok(self, data: dict[str, Any]) -> Response:
        return json_response({"code": 10000, "msg": "success", "sub_code": "", "sub_msg": "",
                              "log_id": "fake-log", "data": data})

    def _token(self, method: str, params: dict[str, Any]) -> Response:
        if method == "token.create":
            if params.get("grant_type") != "authorization_self" or str(params.get("shop_id")) != self.shop_id:
                return _error(50001, "平台处理失败", "dop.token-generate-failed:no-authorization",
                              "生成token失败，店铺授权已失效")
        elif not self.use_refresh_token(str(params.get("refresh_token", ""))):
            return _error(50001, "平台处理失败", "dop.token-generate-failed:token-invalid",
                          "生成token失败，token不存在")
        token = self.issue_token()
        return self._ok({"access_token": token.value, "expires_in": int(token.expires_at - time.time()),
                         "refresh_token": token.refresh_token, "scope": "SCOPE", "shop_id": int(self.shop_id),
                         "shop_name": "湘西香伴旗舰店"})

    def render_order(self, order: SeedOrder) -> dict[str, Any]:
        skus = [{
            "order_id": item.sub_order_id, "parent_order_id": order.order_id, "shop_id": int(self.shop_id),
            "sku_id": int(item.sku_id), "product_id": int(item.sku_id) // 10, "product_name": item.title,
            "item_num": item.quantity, "pay_amount": item.paid_fen, "order_amount": item.paid_fen,
            "pay_time": order.paid_at, "create_time": order.paid_at - 60, "update_time": order.updated_at,
            "author_id": int(item.host_id) if item.host_id else 0, "author_name": item.host_name or "",
            "room_id": 7300000000000000001 if item.host_id else 0, "third_cid": 20231,
            "order_status": 2 if order.paid_at else 1,
        } for item in order.items]
        return {"shop_order_detail": {
            "order_id": order.order_id, "shop_id": int(self.shop_id), "shop_name": "湘西香伴旗舰店",
            "doudian_open_id": f"enc-{order.buyer_id}", "pay_time": order.paid_at,
            "create_time": order.paid_at - 60, "update_time": order.updated_at,
            "pay_amount": sum(i.paid_fen for i in order.items), "order_status": 2 if order.paid_at else 1,
            "sku_order_list": skus,
        }}

    def render_aftersale(self, refund: SeedRefund) -> dict[str, Any]:
        order = self.orders[refund.order_id]
        item = next(i for i in order.items if i.sub_order_id == refund.sub_order_id)
        return {
            "process_info": {"after_sale_info": {
                "after_sale_id": int(refund.refund_id), "after_sale_status": 12 if refund.done else 6,
                "refund_status": 3 if refund.done else 1, "after_sale_type": 1,
                "refund_total_amount": refund.refunded_fen, "refund_post_amount": 0,
                "after_sale_apply_count": refund.quantity, "apply_time": refund.updated_at - 600,
                "update_time": refund.updated_at,
            }},
            "order_info": {"shop_order_id": int(order.order_id), "sku_order_infos": [{
                "sku_order_id": int(item.sub_order_id), "pay_amount": item.paid_fen, "post_amount": 0,
                "item_quantity": item.quantity, "product_name": item.title, "sku_id": int(item.sku_id),
            }]},
        }

    def _order_detail(self, params: dict[str, Any]) -> Response:
        order = self.orders.get(str(params.get("shop_order_id")))
        if order is None:
            return _error(50002, "业务处理失败", "isv.business-failed:2010002", "订单不存在")
        return self._ok(self.render_order(order))

    def _aftersale_detail(self, params: dict[str, Any]) -> Response:
        refund = self.refunds.get(str(params.get("after_sale_id")))
        if refund is None:
            return _error(50002, "业务处理失败", "isv.business-failed:5001", "售后单不存在")
        return self._ok(self.render_aftersale(refund))

    def _search_list(self, params: dict[str, Any]) -> Response:
        found = self.orders_updated(params["update_time_start"], params["update_time_end"])
        page, size = int(params.get("page", 0)), min(int(params.get("size", 10)), 100)
        chunk = found[page * size:(page + 1) * size]
        return self._ok({"shop_order_list": [self.render_order(o)["shop_order_detail"] for o in chunk],
                         "page": page, "size": size, "total": len(found)})

    def _aftersale_list(self, params: dict[str, Any]) -> Response:
        start, end = params["update_start_time"], params["update_end_time"]
        found = sorted((r for r in self.refunds.values() if start <= r.updated_at <= end),
                       key=lambda r: (r.updated_at, r.refund_id))
        page, size = int(params.get("page", 0)), min(int(params.get("size", 10)), 100)
        chunk = found[page * size:(page + 1) * size]
        items = [{"aftersale_info": {"aftersale_id": r.refund_id, "update_time": r.updated_at},
                  "order_info": {"shop_order_id": r.order_id}} for r in chunk]
        return self._ok({"items": items, "has_more": (page + 1) * size < len(found), "total": len(found),
                         "page": page, "size": len(chunk)})

    # -- message push ------------------------------------------------------------------------

    def push(self, url: str, messages: list[tuple[str, dict[str, Any]]], *, lose: bool = False,
             msg_ids: list[str] | None = None, sign: str | None = None):
        """POST a push of ``(tag, data)`` messages, signed as the platform does."""
        body = json.dumps([{"tag": tag, "msg_id": (msg_ids or [])[i] if msg_ids else
                            hashlib.md5(f"{tag}{json.dumps(data, sort_keys=True)}".encode()).hexdigest(),
                            "data": json.dumps(data, ensure_ascii=False)}
                           for i, (tag, data) in enumerate(messages)], ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "app-id": self.app_key,
                   "event-sign": sign or event_sign(self.app_key, self.app_secret, body)}
        return self.deliver(url, body, headers, lose=lose)

    def push_paid(self, url: str, order_id: str, *, lose: bool = False):
        order = self.orders[order_id]
        data = {"p_id": int(order.order_id), "s_ids": [int(i.sub_order_id) for i in order.items],
                "shop_id": int(self.shop_id), "order_status": 2, "order_type": 0, "biz": 2,
                "pay_type": 1, "pay_time": order.paid_at, "pay_amount": sum(i.paid_fen for i in order.items),
                "create_time": order.paid_at - 60}
        return self.push(url, [("101", data)], lose=lose)

    def push_refund_success(self, url: str, refund_id: str, *, lose: bool = False):
        refund = self.refunds[refund_id]
        data = {"p_id": int(refund.order_id), "s_id": int(refund.sub_order_id), "shop_id": int(self.shop_id),
                "aftersale_id": int(refund.refund_id), "aftersale_status": 12, "aftersale_type": 1,
                "refund_amount": refund.refunded_fen, "refund_post_amount": 0,
                "success_time": refund.updated_at}
        return self.push(url, [("206", data)], lose=lose)

    def push_test(self, url: str, *, lose: bool = False):
        return self.push(url, [("0", {})], lose=lose)
