"""What the writer set aside, for organizers: refunds held until their order arrives, and the same
(source, event_id) sent again with other content (not counted). Portable SQL (ClickHouse 18.16 and
chDB); both tables are ReplacingMergeTree, read with FINAL."""
from __future__ import annotations

from datetime import timezone
from typing import Any

import orjson

from analytics.base import AnalyticsStore


def counts(store: AnalyticsStore) -> dict[str, int]:
    (held,) = store.query("SELECT count() FROM {db}.pending_refunds FINAL WHERE applied = 0")[0]
    (conflicts,) = store.query("SELECT count() FROM {db}.sales_conflicts FINAL")[0]
    return {"held_refunds": int(held), "conflicts": int(conflicts)}


def held_refunds(store: AnalyticsStore, limit: int = 100) -> list[dict[str, Any]]:
    rows = store.query(
        """
        SELECT source, event_id, platform, order_id, received_at, envelope
        FROM {db}.pending_refunds FINAL WHERE applied = 0
        ORDER BY received_at DESC, source, event_id LIMIT %(limit)s
        """, {"limit": int(limit)})
    out = []
    for source, event_id, platform, order_id, received_at, envelope in rows:
        event = orjson.loads(envelope).get("event", {})
        out.append({"source": source, "event_id": event_id, "platform": platform, "order_id": order_id,
                    "received_at": received_at.astimezone(timezone.utc).isoformat(),
                    "amount_fen": int(event.get("amount_fen") or 0), "campaign": event.get("campaign", "")})
    return out


def conflicts(store: AnalyticsStore, limit: int = 100) -> list[dict[str, Any]]:
    rows = store.query(
        """
        SELECT source, event_id, detected_at, stored_raw, incoming_raw
        FROM {db}.sales_conflicts FINAL
        ORDER BY detected_at DESC, source, event_id LIMIT %(limit)s
        """, {"limit": int(limit)})
    out = []
    for source, event_id, detected_at, stored_raw, incoming_raw in rows:
        stored, incoming = orjson.loads(stored_raw), orjson.loads(incoming_raw)
        changed = sorted(k for k in set(stored) | set(incoming) if stored.get(k) != incoming.get(k))
        out.append({"source": source, "event_id": event_id, "detected_at": detected_at.astimezone(timezone.utc).isoformat(),
                    "changed_fields": changed, "stored": stored, "incoming": incoming})
    return out
