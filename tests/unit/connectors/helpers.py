"""Helpers shared by the connector tests: a fixed clock, a mapping context, event validation."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

import pytest

from connectors.base import MappingContext, Page, PlatformRateLimited, PlatformUnavailable, Window
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


def window(start_offset: int, end_offset: int) -> Window:
    """A listing window relative to ``T0`` (seconds)."""
    return Window(datetime.fromtimestamp(T0 + start_offset, tz=timezone.utc),
                  datetime.fromtimestamp(T0 + end_offset, tz=timezone.utc))


def injected_failures_are_classified(fake: Any, call: Callable[[], Any]) -> PlatformRateLimited:
    """The fake's rate limit raises ``PlatformRateLimited``, its 502 ``PlatformUnavailable``,
    and both are one-offs: the next call succeeds. Returns the rate-limit error for checks."""
    fake.fail_next("rate_limit")
    with pytest.raises(PlatformRateLimited) as limited:
        call()
    fake.fail_next("server_error")
    with pytest.raises(PlatformUnavailable):
        call()
    assert call()
    return limited.value


def first_two_pages(client: Any, listing_window: Window) -> tuple[Page, Page]:
    """List with pages of two: the first page and the one its cursor points to."""
    client.page_size = 2
    first = client.list_orders(listing_window)
    return first, client.list_orders(listing_window, first.next_cursor)


def valid_by_order_id(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Validate events against the contract and index them by their (sub-)order id."""
    assert_valid(events)
    return {e["order_id"]: e for e in events}
