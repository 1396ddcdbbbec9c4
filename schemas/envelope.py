"""What travels on the sales topic: the original event plus how and when it arrived.

The producer side (backend/) and the consumer side (consumers/) share only this module.
"""
from __future__ import annotations

import base64
from datetime import datetime, timezone
from typing import Any

import orjson

ENVELOPE_VERSION = 1


def partition_key(event: dict[str, Any], source: str = "") -> bytes:
    """An order's events (paid, refunds) share a partition, so one writer sees them in order and a
    refund that arrives before its order is applied by the writer that later stores the order.
    Events without an order (live events) are keyed by their own id."""
    order_id = event.get("order_id")
    if order_id:
        return f"{event.get('platform', '')}:{order_id}".encode()
    return f"{source}:{event.get('event_id', '')}".encode()


def wrap(event: dict[str, Any], *, source: str, received_at: datetime, webhook_id: str) -> bytes:
    return orjson.dumps({
        "v": ENVELOPE_VERSION,
        "source": source,
        "received_at": int(received_at.timestamp()),
        "webhook_id": webhook_id,
        "event": event,
    })


def unwrap(value: bytes) -> dict[str, Any]:
    envelope = orjson.loads(value)
    if not isinstance(envelope, dict) or envelope.get("v") != ENVELOPE_VERSION or not isinstance(envelope.get("event"), dict):
        raise ValueError("not a v1 envelope")
    return envelope


def dead_letter(original: bytes, reason: str, *, topic: str, partition: int, offset: int) -> bytes:
    """A dead letter keeps the original bytes exactly (base64) and says why it was set aside."""
    return orjson.dumps({
        "reason": reason,
        "original_b64": base64.b64encode(original).decode(),
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "failed_at": datetime.now(timezone.utc).isoformat(),
    })
