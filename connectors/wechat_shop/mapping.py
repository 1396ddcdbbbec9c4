"""微信小店 order / aftersale details -> v1 sales events.

Order (``/channels/ec/order/get`` ``order``; structs in ``smartwalle/wxm`` ``store/order_type.go``;
doc developers.weixin.qq.com/doc/store/API/order/get "订单归因说明"):

* ``order_id``, ``openid`` (buyer), ``order_detail.pay_info.pay_time`` (seconds);
* ``order_detail.product_infos[]``: ``sku_id``, ``product_id``, ``title``, ``sku_cnt``,
  ``real_price`` ("sku实付总价", fen), ``estimate_price``, ``sale_price`` (unit price);
* attribution — the doc: "order.order_detail.source_infos 为 sku 粒度的成交来源信息，包括账号
  关联类型和账号信息" and "commission_infos 为 sku 粒度的联盟分佣信息". ``source_infos[]``:
  ``sku_id``, ``account_type`` (带货账户类型), ``account_id`` (带货账户id),
  ``account_nickname``, ``sale_channel``, ``content_type``, ``content_id``;
  ``commission_infos[]``: ``sku_id``, ``finder_id`` (达人视频号id), ``talent_id``;
  ``ext_info.finder_id`` (视频号id), ``ext_info.live_id``.
  We take, per SKU: ``source_infos.account_id``, else the commission's ``finder_id`` /
  ``talent_id``, else the order's ``ext_info.finder_id``. ⚠ The ``account_type`` enum values
  are not in any public source we found, so the type is kept as ``host_account_type`` and not
  interpreted.

A 微信小店 order has no sub-order id: a line is ``<order_id>-<sku_id>`` (the aftersale names
``order_id`` + ``product_info.sku_id``, so a refund finds its line). Two lines of one SKU are
merged.

Aftersale (``after_sale_order``): ``after_sale_order_id``, ``status``
(``MERCHANT_REFUND_SUCCESS`` 退款完成, ``MERCHANT_RETURN_SUCCESS`` 退货退款完成), ``order_id``,
``openid``, ``product_info`` (``sku_id``, ``count``), ``refund_info.amount`` (fen),
``update_time`` (doc ``store/API/aftersale/getaftersaleorder``; ``zsmhub/wx-channels-sdk``
``apis/售后-获取售后单.go``).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from connectors._events import (
    NOTE_NO_HOST,
    NOTE_NO_ORDER,
    SaleLine,
    as_id,
    buyer_hash,
    capped,
    from_epoch,
    paid_event,
    refund_event,
    whole_number,
)
from connectors.base import MappingContext, MappingError

PLATFORM = "wechat_channels"
PREFIX = "wx"
REFUNDED_STATUSES = {"MERCHANT_REFUND_SUCCESS", "MERCHANT_RETURN_SUCCESS"}


def _order(detail: Mapping[str, Any]) -> Mapping[str, Any]:
    """Accept the API answer (``{"order": ...}``) or the order object itself."""
    inner = detail.get("order")
    return inner if isinstance(inner, Mapping) else detail


def line_id(order_id: str, sku_id: str) -> str:
    return f"{order_id}-{sku_id}"


def _paid_fen(product: Mapping[str, Any]) -> int:
    for key in ("real_price", "estimate_price"):
        if product.get(key) is not None:
            return whole_number(product[key], "微信小店商品实付金额")
    return whole_number(product.get("sale_price"), "微信小店商品单价") * whole_number(
        product.get("sku_cnt"), "微信小店商品数量")


def _host(detail: Mapping[str, Any], sku_id: str) -> dict[str, Any]:
    for source in detail.get("source_infos") or []:
        if as_id(source.get("sku_id")) == sku_id and as_id(source.get("account_id")):
            extras: dict[str, Any] = {"host_source": "source_infos"}
            if source.get("account_type") is not None:
                extras["host_account_type"] = str(source["account_type"])
            if source.get("account_nickname"):
                extras["host_name"] = str(source["account_nickname"])
            return {"host": as_id(source["account_id"]), "host_extras": extras}
    for commission in detail.get("commission_infos") or []:
        if as_id(commission.get("sku_id")) != sku_id:
            continue
        host = as_id(commission.get("finder_id")) or as_id(commission.get("talent_id"))
        if host:
            extras = {"host_source": "commission_infos"}
            if commission.get("nickname"):
                extras["host_name"] = str(commission["nickname"])
            return {"host": host, "host_extras": extras}
    finder = as_id((detail.get("ext_info") or {}).get("finder_id"))
    return {"host": finder, "host_extras": {"host_source": "ext_info"}} if finder else {}


def sale_lines(detail: Mapping[str, Any]) -> list[SaleLine]:
    order = _order(detail)
    order_id = as_id(order.get("order_id"))
    if not order_id:
        raise MappingError("微信小店订单缺少 order_id")
    body = order.get("order_detail") or {}
    live_id = as_id((body.get("ext_info") or {}).get("live_id"))
    merged: dict[str, SaleLine] = {}
    for product in body.get("product_infos") or []:
        sku_id = as_id(product.get("sku_id"))
        if not sku_id:
            raise MappingError(f"微信小店订单 {order_id} 的商品缺少 sku_id")
        quantity = whole_number(product.get("sku_cnt"), "微信小店商品数量")
        paid = _paid_fen(product)
        previous = merged.get(sku_id)
        if previous is not None:  # the same SKU twice: one line, summed
            merged[sku_id] = replace(previous, quantity=previous.quantity + quantity,
                                     paid_fen=previous.paid_fen + paid)
            continue
        merged[sku_id] = SaleLine(
            sub_order_id=line_id(order_id, sku_id), parent_order_id=order_id, sku=sku_id,
            name=str(product.get("title") or ""), category="", quantity=quantity, paid_fen=paid,
            extras={"live_id": live_id} if live_id else {}, **_host(body, sku_id))
    return list(merged.values())


def paid_events(detail: Mapping[str, Any], context: MappingContext) -> list[dict[str, Any]]:
    order = _order(detail)
    paid_at = from_epoch(((order.get("order_detail") or {}).get("pay_info") or {}).get("pay_time"))
    if paid_at is None:
        return []
    buyer = buyer_hash(PLATFORM, order.get("unionid") or order.get("openid"), context.buyer_salt)
    return [paid_event(PLATFORM, PREFIX, context, line, paid_at, buyer)
            for line in sale_lines(order) if line.quantity >= 1]


def refund_events(detail: Mapping[str, Any], context: MappingContext,
                  order_detail: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    inner = detail.get("after_sale_order")
    aftersale: Mapping[str, Any] = inner if isinstance(inner, Mapping) else detail
    if str(aftersale.get("status") or "") not in REFUNDED_STATUSES:
        return []
    refund_id = as_id(aftersale.get("after_sale_order_id"))
    order_id = as_id(aftersale.get("order_id"))
    product = aftersale.get("product_info") or {}
    sku_id = as_id(product.get("sku_id"))
    if not refund_id or not order_id or not sku_id:
        raise MappingError("微信小店售后单缺少售后单号、订单号或 sku_id")
    refunded_at = from_epoch(aftersale.get("update_time")) or from_epoch(aftersale.get("create_time"))
    if refunded_at is None:
        raise MappingError(f"微信小店售后单 {refund_id} 缺少时间")
    wanted = line_id(order_id, sku_id)
    line = None
    if order_detail is not None:
        line = next((x for x in sale_lines(order_detail) if x.sub_order_id == wanted), None)
        if line is None:
            raise MappingError(f"微信小店订单 {order_id} 中没有售后单 {refund_id} 的商品 {sku_id}")
    if line is None:
        line = SaleLine(sub_order_id=wanted, parent_order_id=order_id, sku=sku_id, name="", category="",
                        quantity=0, paid_fen=0)
    refunded = capped(whole_number((aftersale.get("refund_info") or {}).get("amount"), "微信小店退款金额"), line)
    buyer = buyer_hash(PLATFORM, aftersale.get("unionid") or aftersale.get("openid"), context.buyer_salt)
    event = refund_event(PLATFORM, PREFIX, context, line, refund_id=refund_id, refund_key=refund_id,
                         refunded_fen=refunded, quantity=whole_number(product.get("count"), "微信小店售后数量"),
                         refunded_at=refunded_at, buyer=buyer,
                         no_host_note=NOTE_NO_HOST if order_detail is not None else NOTE_NO_ORDER)
    return [event] if event is not None else []


def refund_ids(order_detail: Mapping[str, Any]) -> list[str]:
    """``aftersale_detail.aftersale_order_list[].aftersale_order_id`` of the order."""
    listed = (_order(order_detail).get("aftersale_detail") or {}).get("aftersale_order_list") or []
    return [i for i in (as_id(x.get("aftersale_order_id")) for x in listed if isinstance(x, Mapping)) if i]
