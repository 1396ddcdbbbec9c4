"""One piece of work -> the v1 sales events it yields, through the platform's open API.

* ``order``: the order detail -> one ``order.paid`` per sub-order, plus the completed refunds the
  order names (快手, 微信小店, 有赞; 抖店's detail names none, its pull lists aftersales instead).
* ``refund``: the aftersale detail and its order's detail -> the ``order.refunded`` events, and the
  order's ``order.paid`` events too (free: the detail is fetched anyway for the 达人), so a lost
  paid push is healed by its refund.

Every event id is the library's deterministic one, so doing a piece of work again (a re-push, a
replay, the pull backstop finding what a push already brought) yields the same events, which
the sales writer stores once. Each event's campaign is chosen from its order's pay time
(``connectors.campaigns``): a refund counts where its order counted.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors._events import as_id
from connectors.base import MappingError
from connectors.campaigns import CampaignDays, choose_campaign
from connectors.service import Connection
from schemas.events import Invalid, parse_rfc3339, validate_event

PLACEHOLDER_CAMPAIGN = "pending"
# where an aftersale detail names its order, per platform (有赞's refund detail is the trade itself)
_REFUND_ORDER_ID = {
    "douyin_shop": lambda d: (d.get("order_info") or {}).get("shop_order_id"),
    "kuaishou_shop": lambda d: d.get("oid"),
    "wechat_shop": lambda d: d.get("order_id"),
}


class NotConfigured(Exception):
    """The connection cannot place sales yet (its campaigns are gone): retried once fixed."""


def order_id_of_refund(platform: str, detail: dict[str, Any]) -> str | None:
    find = _REFUND_ORDER_ID.get(platform)
    return as_id(find(detail)) if find else None


def events_for(connection: Connection, client: Any, *, kind: str, order_id: str | None, refund_id: str | None,
               campaigns: list[CampaignDays], now: datetime) -> list[dict[str, Any]]:
    if not campaigns:
        raise NotConfigured(f"连接 {connection.name} 的活动均不存在，无法确定销售计入哪个活动")
    connector = connection.connector
    context = connection.context(PLACEHOLDER_CAMPAIGN)
    youzan = connection.info.platform == "youzan"
    if kind == "order":
        if not order_id:
            raise MappingError("消息未指明订单号")
        order = client.order_detail(order_id)
        paid = connector.paid_events(order, context)
        refund_ids = connector.refund_ids(order)
        refunds: list[dict[str, Any]] = []
        if youzan and refund_ids:  # every refund of a trade is in the trade detail
            refunds = connector.refund_events(order, context, order)
        elif refund_ids:
            for refund_id_ in refund_ids:
                refunds += connector.refund_events(client.refund_detail(refund_id_, order_id=order_id), context, order)
    else:
        if not refund_id:
            raise MappingError("消息未指明售后单号")
        detail = client.refund_detail(refund_id, order_id=order_id)
        order_id = order_id or order_id_of_refund(connection.info.platform, detail)
        order = detail if youzan else (client.order_detail(order_id) if order_id else None)
        paid = connector.paid_events(order, context) if order is not None else []
        refunds = connector.refund_events(detail, context, order)
    events = paid + refunds
    _place(events, paid, campaigns)
    for event in events:
        checked = validate_event(event, now=now)
        if isinstance(checked, Invalid):
            fields = "; ".join(f"{e.field}: {e.message}" for e in checked.errors)
            raise MappingError(f"映射出的事件 {event.get('event_id')} 不符合事件契约：{fields}")
    return events


def _place(events: list[dict[str, Any]], paid: list[dict[str, Any]], campaigns: list[CampaignDays]) -> None:
    """Each event's campaign: by the pay time of its (sub-)order; a refund whose order detail was not
    available goes by its own time."""
    paid_at = {e["order_id"]: e["occurred_at"] for e in paid}
    for event in events:
        moment = parse_rfc3339(paid_at.get(event["order_id"], event["occurred_at"]))
        event["campaign"] = choose_campaign(campaigns, moment)
