"""抖店 order / aftersale details -> v1 sales events.

Fields (``zsmhub/doudian-sdk`` ``api/order_orderDetail/response/order_orderDetail_response.go``
and ``api/afterSale_Detail/response/afterSale_Detail_response.go``):

* order detail ``data.shop_order_detail``: ``order_id`` (parent), ``shop_id``, ``pay_time``
  (seconds), ``doudian_open_id`` (encrypted buyer id), ``sku_order_list[]``.
* ``sku_order_list[]``: ``order_id`` (sub-order), ``parent_order_id``, ``pay_amount`` (fen,
  "支付金额"), ``item_num``, ``product_name``, ``sku_id``, ``third_cid``, ``pay_time``,
  ``author_id`` / ``author_name`` ("直播主播id（达人）; 仅直播间和橱窗产生的订单会有值"),
  ``room_id`` (live room).
* aftersale detail: ``process_info.after_sale_info`` (``after_sale_id``, ``after_sale_status``
  12 = 售后成功, ``refund_status`` 3 = 退款成功, ``after_sale_type`` 3/7/8 = 换货/补寄/维修,
  ``refund_total_amount`` fen incl. postage, ``after_sale_apply_count``, ``update_time``) and
  ``order_info`` (``shop_order_id``, ``sku_order_infos[]`` with ``sku_order_id``, ``pay_amount``,
  ``item_quantity``, ``product_name``, ``sku_id``).

Ids are 19-digit integers: always handled as strings.
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
    check_shop,
    from_epoch,
    paid_event,
    refund_event,
    split_fen,
    whole_number,
)
from connectors.base import MappingContext, MappingError

PLATFORM = "douyin"
PREFIX = "dy"
REFUND_DONE_STATUS = 3       # refund_status: 退款成功
AFTERSALE_DONE_STATUS = 12   # after_sale_status: 售后成功
NO_MONEY_TYPES = {3, 7, 8}   # after_sale_type: 换货, 补寄, 维修 — goods, not money, go back


def shop_order(detail: Mapping[str, Any]) -> Mapping[str, Any]:
    """Accept the API ``data`` object or the ``shop_order_detail`` inside it."""
    inner = detail.get("shop_order_detail")
    return inner if isinstance(inner, Mapping) else detail


def sale_lines(detail: Mapping[str, Any]) -> list[SaleLine]:
    order = shop_order(detail)
    parent = as_id(order.get("order_id"))
    return [_line(sku, parent) for sku in order.get("sku_order_list") or []]


def _line(sku: Mapping[str, Any], parent: str | None) -> SaleLine:
    sub = as_id(sku.get("order_id"))
    if not sub:
        raise MappingError("抖店子订单缺少 order_id")
    author = as_id(sku.get("author_id"))
    extras: dict[str, Any] = {}
    if as_id(sku.get("room_id")) not in (None, "0"):
        extras["live_id"] = as_id(sku.get("room_id"))
    if sku.get("third_cid"):
        extras["platform_category_id"] = str(sku["third_cid"])
    return SaleLine(
        sub_order_id=sub,
        parent_order_id=as_id(sku.get("parent_order_id")) or parent or sub,
        sku=as_id(sku.get("sku_id")) or str(sku.get("out_sku_id") or sku.get("code") or ""),
        name=str(sku.get("product_name") or ""),
        category="",
        quantity=whole_number(sku.get("item_num"), "抖店商品数量"),
        paid_fen=whole_number(sku.get("pay_amount"), "抖店子订单支付金额"),
        host=author if author not in (None, "0") else None,
        host_extras={"host_name": str(sku["author_name"])} if sku.get("author_name") else {},
        extras=extras,
    )


def paid_events(detail: Mapping[str, Any], context: MappingContext) -> list[dict[str, Any]]:
    order = shop_order(detail)
    check_shop(context, order.get("shop_id"))
    buyer = buyer_hash(PLATFORM, order.get("doudian_open_id") or order.get("open_id"), context.buyer_salt)
    events = []
    for sku, line in zip(order.get("sku_order_list") or [], sale_lines(order), strict=True):
        paid_at = from_epoch(sku.get("pay_time")) or from_epoch(order.get("pay_time"))
        if paid_at is None or line.quantity < 1:
            continue  # not paid (yet): nothing to count
        events.append(paid_event(PLATFORM, PREFIX, context, line, paid_at, buyer))
    return events


def refund_events(detail: Mapping[str, Any], context: MappingContext,
                  order_detail: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    process = detail.get("process_info") or {}
    info = process.get("after_sale_info") or detail.get("after_sale_info") or {}
    if not _money_refunded(info):
        return []
    refund_id = as_id(info.get("after_sale_id"))
    if not refund_id:
        raise MappingError("抖店售后单缺少 after_sale_id")
    refunded_at = from_epoch(info.get("update_time")) or from_epoch(info.get("apply_time"))
    if refunded_at is None:
        raise MappingError(f"抖店售后单 {refund_id} 缺少时间")
    order_info = detail.get("order_info") or {}
    targets = order_info.get("sku_order_infos") or []
    if not targets:
        raise MappingError(f"抖店售后单 {refund_id} 未指明退款的子订单")
    known: dict[str, SaleLine] = {}
    buyer = None
    if order_detail is not None:
        order = shop_order(order_detail)
        check_shop(context, order.get("shop_id"))
        known = {line.sub_order_id: line for line in sale_lines(order)}
        buyer = buyer_hash(PLATFORM, order.get("doudian_open_id") or order.get("open_id"), context.buyer_salt)
    parent = as_id(order_info.get("shop_order_id"))
    lines = [known.get(as_id(t.get("sku_order_id")) or "") or _line_from_aftersale(t, parent) for t in targets]
    total = whole_number(info.get("refund_total_amount"), "抖店退款金额")
    shares = split_fen(total, [line.paid_fen for line in lines]) if len(lines) > 1 else [total]
    apply_count = whole_number(info.get("after_sale_apply_count"), "抖店售后件数")
    events = []
    for target, line, share in zip(targets, lines, shares, strict=True):
        quantity = apply_count if len(lines) == 1 and apply_count else whole_number(
            target.get("item_quantity"), "抖店售后件数")
        event = refund_event(
            PLATFORM, PREFIX, context, line, refund_id=refund_id,
            refund_key=refund_id if len(lines) == 1 else f"{refund_id}:{line.sub_order_id}",
            refunded_fen=capped(share, line), quantity=quantity, refunded_at=refunded_at, buyer=buyer,
            no_host_note=NOTE_NO_HOST if order_detail is not None else NOTE_NO_ORDER)
        if event is not None:
            events.append(event)
    return events


def _money_refunded(info: Mapping[str, Any]) -> bool:
    if whole_number(info.get("after_sale_type"), "抖店售后类型") in NO_MONEY_TYPES:
        return False
    return (whole_number(info.get("refund_status"), "抖店退款状态") == REFUND_DONE_STATUS
            or whole_number(info.get("after_sale_status"), "抖店售后状态") == AFTERSALE_DONE_STATUS)


def _line_from_aftersale(target: Mapping[str, Any], parent: str | None) -> SaleLine:
    """A sub-order as far as the aftersale detail describes it (no 达人: that is in the order)."""
    sub = as_id(target.get("sku_order_id"))
    if not sub:
        raise MappingError("抖店售后单的子订单缺少 sku_order_id")
    return SaleLine(sub_order_id=sub, parent_order_id=parent or sub,
                    sku=as_id(target.get("sku_id")) or "", name=str(target.get("product_name") or ""),
                    category="", quantity=whole_number(target.get("item_quantity"), "抖店商品数量"),
                    paid_fen=whole_number(target.get("pay_amount"), "抖店子订单支付金额"))


def refund_ids(order_detail: Mapping[str, Any]) -> list[str]:
    """The 抖店 order detail carries no aftersale ids (only ``after_sale_info`` statuses): the
    pull backstop lists aftersales with ``DouyinShopClient.list_aftersales`` instead."""
    return []
