"""What travels on the sales topic: the original event plus how and when it arrived.

The producer side (backend/) and the consumer side (consumers/) share only this module.

    {"v":1,"source":…,"received_at":…,"webhook_id":…[,"validated":"v1"],"event":<the event>}

The event is written last, as the bytes it arrived in where it arrived alone (`wrap_raw`: no
re-encoding), so the writer takes its stored `raw` straight out of the envelope (`event_bytes`).
`"validated": "v1"` says the API checked the event against the v1 contract before appending it;
the writer then checks only the structure its row needs, and validates anything else in full.
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


VALIDATED = "v1"  # the contract version the API validated an event against
_EVENT_KEY = b',"event":'


def head(*, source: str, received_at: datetime | int, webhook_id: str, validated: bool = False) -> bytes:
    """Everything of an envelope before its event: shared by every event of one request."""
    fields: dict[str, Any] = {"v": ENVELOPE_VERSION, "source": source,
                              "received_at": received_at if isinstance(received_at, int) else int(received_at.timestamp()),
                              "webhook_id": webhook_id}
    if validated:
        fields["validated"] = VALIDATED
    return orjson.dumps(fields)[:-1] + _EVENT_KEY


def wrap_raw(head_bytes: bytes, event_json: bytes) -> bytes:
    """An envelope around an event's JSON bytes as they are (they must be one JSON object)."""
    return head_bytes + event_json + b"}"


def wrap(event: dict[str, Any], *, source: str, received_at: datetime, webhook_id: str,
         validated: bool = False) -> bytes:
    return wrap_raw(head(source=source, received_at=received_at, webhook_id=webhook_id, validated=validated),
                    orjson.dumps(event))


def unwrap(value: bytes) -> dict[str, Any]:
    envelope = orjson.loads(value)
    if not isinstance(envelope, dict) or envelope.get("v") != ENVELOPE_VERSION or not isinstance(envelope.get("event"), dict):
        raise ValueError("not a v1 envelope")
    return envelope


def is_validated(envelope: dict[str, Any]) -> bool:
    return envelope.get("validated") == VALIDATED


def event_bytes(value: bytes, envelope: dict[str, Any]) -> bytes | None:
    """The event's JSON bytes inside `value` (the unwrapped `envelope` of it) when the envelope is laid
    out as `wrap_raw` writes it — its head re-encoded from its own fields matches byte for byte and the
    event comes last — else None (the caller re-encodes the parsed event)."""
    fields = list(envelope)
    if fields[-1] != "event" or not isinstance(envelope.get("received_at"), int) \
            or not isinstance(envelope.get("source"), str) or not isinstance(envelope.get("webhook_id"), str):
        return None
    validated = envelope.get("validated")
    if fields[:-1] != (["v", "source", "received_at", "webhook_id"] + (["validated"] if validated is not None else [])) \
            or validated not in (None, VALIDATED):
        return None
    prefix = head(source=envelope["source"], received_at=envelope["received_at"], webhook_id=envelope["webhook_id"],
                  validated=validated is not None)
    end = len(value.rstrip())
    if not value.startswith(prefix) or value[end - 1:end] != b"}":
        return None
    return value[len(prefix):end - 1]


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
