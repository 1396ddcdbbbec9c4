"""有赞 trade details -> v1 sales events.

Trade (``youzan.trade.get`` 4.0.0 ``data``; fields from the Java SDK model ``YouzanTradeGetResult``
as copied in public projects, and a real ``full_order_info`` dump in
``inNovationGG/petnote_admin_server`` ``test.js``):

* ``full_order_info.order_info``: ``tid``, ``pay_time`` / ``update_time``
  ("yyyy-MM-dd HH:mm:ss", Beijing time), ``node_kdt_id`` / ``root_kdt_id``;
* ``full_order_info.buyer_info``: ``yz_open_id`` (buyer), ``fans_id``;
* ``full_order_info.orders[]``: ``oid`` (订单明细id, the sub-order), ``sku_id``, ``outer_sku_id``,
  ``item_id``, ``title``, ``num``, ``payment`` ("商品最终均摊价，单位：元", a yuan string);
* ``refund_order[]``: ``refund_id``, ``oids[]``, ``refund_fee`` (yuan string), ``refund_state``
  (60 = 退款成功).

有赞 orders name no 达人: every event is unattributed (``host`` = ``unattributed`` with a note).
Yuan strings are converted to fen exactly with ``Decimal``. A refund naming several ``oids`` is
split over them in proportion to what each sub-order paid, exactly to the fen.
⚠ ``refund_order`` carries no time: the refund is dated by the trade's ``update_time``.
"""
from __future__ import annotations

from typing import Any, Mapping

from connectors._events import (
    SaleLine,
    as_id,
    buyer_hash,
    capped,
    check_shop,
    from_cst_text,
    inferred_refund_quantity,
    paid_event,
    refund_event,
    split_fen,
    whole_number,
    yuan_to_fen,
)
from connectors.base import MappingContext, MappingError

PLATFORM = "youzan"
PREFIX = "yz"
REFUND_SUCCESS_STATE = 60
NOTE_NO_HOST = "达人未登记：有赞订单不含带货达人信息"


def _full(detail: Mapping[str, Any]) -> Mapping[str, Any]:
    inner = detail.get("full_order_info")
    return inner if isinstance(inner, Mapping) else detail


def _check_shop(context: MappingContext, info: Mapping[str, Any]) -> None:
    shops = {str(info[k]) for k in ("node_kdt_id", "root_kdt_id", "kdt_id") if info.get(k)}
    if shops and context.shop_id not in shops:
        check_shop(context, sorted(shops)[0])


def sale_lines(detail: Mapping[str, Any]) -> list[SaleLine]:
    full = _full(detail)
    tid = as_id((full.get("order_info") or {}).get("tid"))
    if not tid:
        raise MappingError("有赞订单缺少 tid")
    lines = []
    for order in full.get("orders") or []:
        oid = as_id(order.get("oid"))
        if not oid:
            raise MappingError(f"有赞订单 {tid} 的商品明细缺少 oid")
        sku = as_id(order.get("sku_id"))
        lines.append(SaleLine(
            sub_order_id=oid, parent_order_id=tid,
            sku=str(order.get("outer_sku_id") or "") or (sku if sku not in (None, "0") else "")
            or as_id(order.get("item_id")) or "",
            name=str(order.get("title") or ""), category="",
            quantity=whole_number(order.get("num"), "有赞商品数量"),
            paid_fen=yuan_to_fen(order.get("payment"), "有赞商品实付金额"),
        ))
    return lines


def _buyer(full: Mapping[str, Any], context: MappingContext) -> str | None:
    buyer = full.get("buyer_info") or {}
    raw = buyer.get("yz_open_id") or buyer.get("buyer_id") or buyer.get("fans_id")
    return buyer_hash(PLATFORM, raw, context.buyer_salt)


def paid_events(detail: Mapping[str, Any], context: MappingContext) -> list[dict[str, Any]]:
    full = _full(detail)
    info = full.get("order_info") or {}
    _check_shop(context, info)
    paid_at = from_cst_text(info.get("pay_time"))
    if paid_at is None:
        return []
    buyer = _buyer(full, context)
    return [paid_event(PLATFORM, PREFIX, context, line, paid_at, buyer, NOTE_NO_HOST)
            for line in sale_lines(detail) if line.quantity >= 1]


def refund_events(detail: Mapping[str, Any], context: MappingContext,
                  order_detail: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """``detail`` is the trade detail (it holds ``refund_order``); ``order_detail`` is accepted
    for the common signature and used if ``detail`` lacks the trade part."""
    trade = detail if _full(detail).get("orders") else (order_detail or detail)
    full = _full(trade)
    info = full.get("order_info") or {}
    _check_shop(context, info)
    lines = {line.sub_order_id: line for line in sale_lines(trade)}
    refunded_at = from_cst_text(info.get("update_time")) or from_cst_text(info.get("pay_time"))
    buyer = _buyer(full, context)
    events = []
    for refund in detail.get("refund_order") or []:
        if whole_number(refund.get("refund_state"), "有赞退款状态") != REFUND_SUCCESS_STATE:
            continue
        refund_id = as_id(refund.get("refund_id"))
        oids = [o for o in (_oid(x) for x in refund.get("oids") or []) if o]
        if not refund_id or not oids:
            raise MappingError("有赞退款单缺少 refund_id 或 oids")
        missing = [o for o in oids if o not in lines]
        if missing:
            raise MappingError(f"有赞退款单 {refund_id} 指向订单中不存在的明细 {missing}")
        if refunded_at is None:
            raise MappingError(f"有赞退款单 {refund_id} 缺少时间")
        total = yuan_to_fen(refund.get("refund_fee"), "有赞退款金额")
        shares = split_fen(total, [lines[o].paid_fen for o in oids]) if len(oids) > 1 else [total]
        for oid, share in zip(oids, shares, strict=True):
            line = lines[oid]
            refunded = capped(share, line)
            event = refund_event(PLATFORM, PREFIX, context, line, refund_id=refund_id,
                                 refund_key=refund_id if len(oids) == 1 else f"{refund_id}:{oid}",
                                 refunded_fen=refunded, quantity=inferred_refund_quantity(refunded, line),
                                 refunded_at=refunded_at, buyer=buyer, no_host_note=NOTE_NO_HOST)
            if event is not None:
                events.append(event)
    return events


def _oid(value: Any) -> str | None:
    return as_id(value.get("oid")) if isinstance(value, Mapping) else as_id(value)


def refund_ids(order_detail: Mapping[str, Any]) -> list[str]:
    return [r for r in (as_id(x.get("refund_id")) for x in order_detail.get("refund_order") or []
                        if isinstance(x, Mapping)) if r]
