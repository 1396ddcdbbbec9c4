"""Helpers shared by the connector tests: a fixed clock, a mapping context, event validation."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


from connectors.base import MappingContext
from schemas.events import Invalid, validate_event

# 2026-05-20 12:00:00 +08:00, a fixed moment so ids and times are reproducible
T0 = 1779249600


def context_for(shop_id: str) -> MappingContext:
    return MappingContext(campaign="xiangxi-peach-2026", county="433127", shop_id=shop_id)


def assert_valid(events: list[dict[str, Any]]) -> None:
    """Every event passes the v1 contract (validated as if received now, well after T0)."""
    now = datetime(2026, 12, 31, tzinfo=timezone.utc)
    for event in events:
        result = validate_event(event, now=now)
        assert not isinstance(result, Invalid), (event, result.errors)
