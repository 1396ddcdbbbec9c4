"""Helpers the tests share: signing webhooks like a real sender, and building events."""
from __future__ import annotations

import itertools
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from liveboard.sender import sign_headers

SHANGHAI_OFFSET = timezone(timedelta(hours=8))
_counter = itertools.count(1)


signed_headers = sign_headers  # one signer for product and tests


def order_event(*, campaign: str, host: str, enterprise: str, amount_fen: int, event_type: str = "order.paid",
                occurred_at: datetime | None = None, event_id: str | None = None, order_id: str | None = None,
                quantity: int = 1, county: str = "433101", platform: str = "douyin", buyer: str | None = None,
                category: str = "tea", sku: str = "GZMJ-250", name: str = "古丈毛尖 250g", **extra: Any) -> dict[str, Any]:
    n = next(_counter)
    occurred_at = occurred_at or datetime.now(SHANGHAI_OFFSET)
    event = {
        "event_id": event_id or f"evt-{uuid.uuid4().hex[:12]}-{n}",
        "type": event_type,
        "occurred_at": occurred_at.astimezone(SHANGHAI_OFFSET).isoformat(timespec="seconds"),
        "platform": platform,
        "campaign": campaign,
        "host": host,
        "enterprise": enterprise,
        "order_id": order_id or f"ord-{n}",
        "product": {"sku": sku, "name": name, "category": category},
        "county": county,
        "quantity": quantity,
        "amount_fen": amount_fen,
    }
    if buyer:
        event["buyer"] = buyer
    event.update(extra)
    return event


def body_of(payload: Any) -> bytes:
    return orjson.dumps(payload)


# -- session services, stopped side by side -----------------------------------------------------

SESSION_END_GRACE_S = 5.0  # their data is removed next: a service still busy after this is killed
STOP_TIMES: dict[str, float] = {}  # service -> seconds its stop took (the test run's summary shows them)
_STOPPING: list[threading.Thread] = []


def stop_in_background(service) -> None:
    """Begin stopping a session's service (or cluster) now; `wait_for_stops` waits for all of them.
    Side by side, not one after another."""
    def stop() -> None:
        began = time.monotonic()
        service.stop(timeout=SESSION_END_GRACE_S)
        STOP_TIMES[type(service).__name__] = time.monotonic() - began

    stopping = threading.Thread(target=stop, name=f"stop-{type(service).__name__}")
    stopping.start()
    _STOPPING.append(stopping)


def wait_for_stops() -> None:
    while _STOPPING:
        _STOPPING.pop().join()
