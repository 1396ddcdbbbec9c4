"""Decoding: an envelope from the log -> the typed row the raw table stores."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from analytics.rows import SalesRow
from schemas.events import Invalid, validate_event


class InvalidRecord(ValueError):
    """A record that can never be stored; the message says why (kept with its dead letter)."""


def row_from_envelope(envelope: dict[str, Any], raw_event: bytes) -> SalesRow:
    """The stored row for one unwrapped envelope; InvalidRecord when the event breaks the contract."""
    event = envelope["event"]
    checked = validate_event(event)
    if isinstance(checked, Invalid):
        fields = ", ".join(f"{e.field}:{e.code}" for e in checked.errors)
        raise InvalidRecord(f"invalid event ({fields})")
    product = event.get("product") or {}
    received = envelope.get("received_at")  # set by the API; a foreign producer may leave it out
    return SalesRow(
        event_id=event["event_id"], type=event["type"], occurred_at=checked.occurred_at_utc,
        received_at=(datetime.fromtimestamp(int(received), timezone.utc) if received else checked.occurred_at_utc),
        source=str(envelope.get("source", "")), platform=event["platform"], campaign=event["campaign"],
        host=event.get("host", ""), enterprise=event.get("enterprise", ""), order_id=event.get("order_id", ""),
        refund_id=event.get("refund_id", ""), live_id=event.get("live_id", ""), sku=product.get("sku", ""),
        product_name=product.get("name", ""), category=product.get("category", ""), county=event.get("county", ""),
        region_code=event.get("region_code", ""),
        buyer=event.get("buyer", ""), quantity=int(event.get("quantity", 0)), amount_fen=int(event.get("amount_fen", 0)),
        peak_viewers=int(event.get("peak_viewers", 0)), total_viewers=int(event.get("total_viewers", 0)),
        raw=raw_event.decode("utf-8"),
    )
