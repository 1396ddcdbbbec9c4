"""Decoding: an envelope from the log -> the typed row the raw table stores.

An event the API validated (the envelope says `"validated": "v1"`) is not validated a second time:
a structural check makes sure every field the row takes has the type and range the raw table needs,
so even a foreign producer that claims validation cannot put an ill-typed row in the store. Any
other envelope — and a claimed one that fails the structural check — is validated in full against
the contract, and refused (dead-lettered) with the fields that break it.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson

from analytics.rows import SalesRow
from schemas import envelope as envelopes
from schemas.events import (
    EARLIEST_OCCURRED_AT,
    EVENT_TYPES,
    Invalid,
    TimeOutOfRange,
    parse_rfc3339,
    validate_event,
)


class InvalidRecord(ValueError):
    """A record that can never be stored; the message says why (kept with its dead letter)."""


_LATEST_OCCURRED_AT = datetime(2106, 1, 1, tzinfo=timezone.utc)  # ClickHouse DateTime is UInt32 seconds
_STRINGS = ("host", "enterprise", "order_id", "refund_id", "live_id", "county", "buyer", "region_code")
_PRODUCT_STRINGS = ("sku", "name", "category")
_COUNTS = ("quantity", "amount_fen", "peak_viewers", "total_viewers")
_INT64_MAX = 2 ** 63 - 1


def _structure_ok(event: dict[str, Any]) -> datetime | None:
    """The event's UTC time when every field the row takes is well typed and in range, else None."""
    if not (isinstance(event.get("event_id"), str) and event["event_id"] and event.get("type") in EVENT_TYPES
            and isinstance(event.get("platform"), str) and isinstance(event.get("campaign"), str)
            and isinstance(event.get("occurred_at"), str)):
        return None
    for name in _STRINGS:
        if not isinstance(event.get(name, ""), str):
            return None
    product = event.get("product", {})
    if not isinstance(product, dict) or any(not isinstance(product.get(n, ""), str) for n in _PRODUCT_STRINGS):
        return None
    for name in _COUNTS:
        value = event.get(name, 0)
        if type(value) is not int or not 0 <= value <= _INT64_MAX:  # (bool is not an int here)
            return None
    try:
        occurred = parse_rfc3339(event["occurred_at"])
    except (ValueError, TimeOutOfRange):
        return None
    return occurred if EARLIEST_OCCURRED_AT <= occurred < _LATEST_OCCURRED_AT else None


def row_from_envelope(envelope: dict[str, Any], raw_event: bytes) -> SalesRow:
    """The stored row for one unwrapped envelope; InvalidRecord when the event breaks the contract."""
    event = envelope["event"]
    occurred = _structure_ok(event) if envelopes.is_validated(envelope) else None
    if occurred is None:
        checked = validate_event(event)
        if isinstance(checked, Invalid):
            fields = ", ".join(f"{e.field}:{e.code}" for e in checked.errors)
            raise InvalidRecord(f"invalid event ({fields})")
        occurred = checked.occurred_at_utc
    product = event.get("product") or {}
    received = envelope.get("received_at")  # set by the API; a foreign producer may leave it out
    return SalesRow(
        event_id=event["event_id"], type=event["type"], occurred_at=occurred,
        received_at=(datetime.fromtimestamp(int(received), timezone.utc) if received else occurred),
        source=str(envelope.get("source", "")), platform=event["platform"], campaign=event["campaign"],
        host=event.get("host", ""), enterprise=event.get("enterprise", ""), order_id=event.get("order_id", ""),
        refund_id=event.get("refund_id", ""), live_id=event.get("live_id", ""), sku=product.get("sku", ""),
        product_name=product.get("name", ""), category=product.get("category", ""), county=event.get("county", ""),
        region_code=event.get("region_code", ""),
        buyer=event.get("buyer", ""), quantity=int(event.get("quantity", 0)), amount_fen=int(event.get("amount_fen", 0)),
        peak_viewers=int(event.get("peak_viewers", 0)), total_viewers=int(event.get("total_viewers", 0)),
        raw=raw_event.decode("utf-8"),
    )


def row_from_record(value: bytes) -> SalesRow:
    """One log record's row: the envelope parsed once, the event's bytes taken out of it as they are
    (re-encoded only when the envelope is laid out another way)."""
    unwrapped = envelopes.unwrap(value)
    raw = envelopes.event_bytes(value, unwrapped)
    return row_from_envelope(unwrapped, raw if raw is not None else orjson.dumps(unwrapped["event"]))
