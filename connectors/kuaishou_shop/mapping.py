"""快手小店 order / refund details -> v1 sales events.

Fields of ``open.order.detail`` data (``WyntersN/go-kwai`` ``core/result/order.go``
``Order_DetailData``; the same structs in ks_shop_go_sdk's ``OpenOrderCursorListOrder``):

* ``orderBaseInfo``: ``oid``, ``payTime`` (ms), ``totalFee`` (fen), ``buyerOpenId``,
  ``sellerOpenId``, ``status``, ``updateTime``;
* ``orderItemInfo`` (one item per order): ``skuId``, ``relSkuId``, ``itemTitle``, ``num``,
  ``itemExtra.categoryInfo.categoryName``;
* ``orderCpsInfo``: ``distributorId`` / ``distributorName`` (分销达人), ``kwaiMoneyUserId`` /
  ``kwaiMoneyUserNickName`` (快赚客);
* ``orderRefundList[]``: ``refundId``, ``refundStatus``.

A 快手 order holds one item, so the sub-order id *is* the order id (``oid``); the event keeps
``parent_order_id`` = ``oid`` for the same shape as the other platforms.

⚠ ``totalFee`` is read as what the buyer paid for the order (fen); a third-party note calls
it "子订单商品总价" and nothing public settles whether postage is in it. Refunds are capped at
it, so the net of an order never goes negative.

Refund detail (``open.seller.order.refund.detail``): ``refundId``, ``oid``, ``status``
(60 = 退款成功), ``handlingWay`` (3 = 换货: no money back), ``refundFee`` (fen), ``endTime``
(ms). ⚠ These values come from third-party notes of the official page, not from an SDK struct.
"""
from __future__ import annotations

from typing import Any, Mapping

from connectors._events import (
    NOTE_NO_HOST,
    NOTE_NO_ORDER,
    SaleLine,
    as_id,
    buyer_hash,
    capped,
    from_epoch,
    inferred_refund_quantity,
    paid_event,
    refund_event,
    whole_number,
)
from connectors.base import MappingContext, MappingError

PLATFORM = "kuaishou"
PREFIX = "ks"
REFUND_SUCCESS_STATUS = 60
EXCHANGE_WAY = 3


def _item(detail: Mapping[str, Any]) -> Mapping[str, Any]:
    item = detail.get("orderItemInfo") or {}
    if isinstance(item, list):
        if len(item) != 1:
            raise MappingError("快手订单包含多个商品，无法确定每个商品的实付金额")
        item = item[0]
    return item


def sale_line(detail: Mapping[str, Any]) -> SaleLine:
    base = detail.get("orderBaseInfo") or {}
    oid = as_id(base.get("oid"))
    if not oid:
        raise MappingError("快手订单缺少 oid")
    item = _item(detail)
    category = ((item.get("itemExtra") or {}).get("categoryInfo") or {}).get("categoryName") or ""
    return SaleLine(
        sub_order_id=oid, parent_order_id=oid,
        sku=as_id(item.get("skuId")) or as_id(item.get("relSkuId")) or as_id(item.get("itemId")) or "",
        name=str(item.get("itemTitle") or ""), category=str(category),
        quantity=whole_number(item.get("num"), "快手商品数量"),
        paid_fen=whole_number(base.get("totalFee"), "快手订单金额"),
        **_host(detail.get("orderCpsInfo") or {}),
    )


def _host(cps: Mapping[str, Any]) -> dict[str, Any]:
    """分销达人 first (the account that sold the goods), then 快赚客."""
    for id_key, name_key, source in (("distributorId", "distributorName", "distributor"),
                                     ("kwaiMoneyUserId", "kwaiMoneyUserNickName", "kwaimoney")):
        host = as_id(cps.get(id_key))
        if host not in (None, "0"):
            extras: dict[str, Any] = {"host_source": source}
            if cps.get(name_key):
                extras["host_name"] = str(cps[name_key])
            return {"host": host, "host_extras": extras}
    return {}


def paid_events(detail: Mapping[str, Any], context: MappingContext) -> list[dict[str, Any]]:
    base = detail.get("orderBaseInfo") or {}
    paid_at = from_epoch(base.get("payTime"), millis=True)
    line = sale_line(detail)
    if paid_at is None or line.quantity < 1:
        return []
    buyer = buyer_hash(PLATFORM, base.get("buyerOpenId"), context.buyer_salt)
    return [paid_event(PLATFORM, PREFIX, context, line, paid_at, buyer)]


def refund_events(detail: Mapping[str, Any], context: MappingContext,
                  order_detail: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    if whole_number(detail.get("status"), "快手退款状态") != REFUND_SUCCESS_STATUS:
        return []
    if whole_number(detail.get("handlingWay"), "快手售后方式") == EXCHANGE_WAY:
        return []
    refund_id = as_id(detail.get("refundId"))
    oid = as_id(detail.get("oid"))
    if not refund_id or not oid:
        raise MappingError("快手退款单缺少 refundId 或 oid")
    refunded_at = from_epoch(detail.get("endTime"), millis=True) or from_epoch(
        detail.get("updateTime"), millis=True)
    if refunded_at is None:
        raise MappingError(f"快手退款单 {refund_id} 缺少时间")
    buyer = None
    if order_detail is not None:
        line = sale_line(order_detail)
        if line.sub_order_id != oid:
            raise MappingError(f"快手退款单 {refund_id} 属于订单 {oid}，不是 {line.sub_order_id}")
        buyer = buyer_hash(PLATFORM, (order_detail.get("orderBaseInfo") or {}).get("buyerOpenId"),
                           context.buyer_salt)
    else:
        line = SaleLine(sub_order_id=oid, parent_order_id=oid,
                        sku=as_id(detail.get("skuId")) or as_id(detail.get("relSkuId")) or "",
                        name=str(detail.get("itemTitle") or ""), category="", quantity=0, paid_fen=0)
    refunded = capped(whole_number(detail.get("refundFee"), "快手退款金额"), line)
    event = refund_event(PLATFORM, PREFIX, context, line, refund_id=refund_id, refund_key=refund_id,
                         refunded_fen=refunded, quantity=inferred_refund_quantity(refunded, line),
                         refunded_at=refunded_at, buyer=buyer,
                         no_host_note=NOTE_NO_HOST if order_detail is not None else NOTE_NO_ORDER)
    return [event] if event is not None else []


def refund_ids(order_detail: Mapping[str, Any]) -> list[str]:
    """``orderRefundList[].refundId`` of the order detail (the pull backstop's refund source)."""
    refunds = order_detail.get("orderRefundList") or []
    return [r for r in (as_id(x.get("refundId")) for x in refunds if isinstance(x, Mapping)) if r]
