"""What travels on the connector raw topic: one verified platform message, as the push endpoint
took it in, before any platform API call.

The endpoint appends one record per message that needs enrichment (paid orders, aftersales) and
answers the platform only after the log made them durable; the connector worker reads them back.
The record keeps the message's parsed (decrypted) content, so nothing has to be verified or
decrypted twice, and it is what a dead letter keeps as the original bytes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from connectors.base import ORDER_PAID, REFUND, PushMessage

RAW_VERSION = 1
# PushMessage kinds the worker enriches, and the work each becomes (configstore.connections kinds)
WORK_KINDS = {ORDER_PAID: "order", REFUND: "refund"}


@dataclass(frozen=True)
class RawMessage:
    connection: str
    platform: str
    received_at: float  # epoch seconds, the endpoint's clock
    message_id: str
    kind: str  # "order" | "refund"
    event: str
    order_id: str | None
    refund_id: str | None
    shop_id: str | None
    content: dict[str, Any]


def needs_enrichment(message: PushMessage) -> bool:
    return message.kind in WORK_KINDS


def encode(connection: str, message: PushMessage, received_at: float) -> bytes:
    return orjson.dumps({
        "v": RAW_VERSION, "connection": connection, "platform": message.platform, "received_at": received_at,
        "message_id": message.message_id, "kind": WORK_KINDS[message.kind], "event": message.event,
        "order_id": message.order_id, "refund_id": message.aftersale_id, "shop_id": message.shop_id,
        "sub_order_ids": list(message.sub_order_ids),
        "occurred_at": message.occurred_at.isoformat() if isinstance(message.occurred_at, datetime) else None,
        "content": dict(message.raw),
    }, default=str)


def key(connection: str, message: PushMessage) -> bytes:
    """One order's messages share a partition (and so keep their order)."""
    return f"{connection}:{message.order_id or message.aftersale_id or message.message_id}".encode()


def decode(value: bytes) -> RawMessage:
    record = orjson.loads(value)
    if not isinstance(record, dict) or record.get("v") != RAW_VERSION:
        raise ValueError("not a v1 connector raw record")
    kind = record.get("kind")
    if not isinstance(kind, str) or kind not in WORK_KINDS.values():
        raise ValueError(f"unknown message kind {kind!r}")
    for field in ("connection", "platform", "message_id"):
        if not isinstance(record.get(field), str) or not record[field]:
            raise ValueError(f"raw record without {field}")
    if kind == "order" and not record.get("order_id"):
        raise ValueError("paid-order message without an order id")
    if kind == "refund" and not record.get("refund_id"):
        raise ValueError("aftersale message without an aftersale id")
    return RawMessage(connection=record["connection"], platform=record["platform"],
                      received_at=float(record.get("received_at") or 0.0), message_id=record["message_id"],
                      kind=kind, event=str(record.get("event") or ""), order_id=record.get("order_id"),
                      refund_id=record.get("refund_id"), shop_id=record.get("shop_id"),
                      content=record.get("content") or {})
