"""Boards computed from scratch over the events a test sent: the independent calculation that the
published boards must equal. Deliberately plain Python, sharing no SQL with the product."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timezone
from typing import Callable, Iterable
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def independent_board(events: Iterable[dict], *, resolve: Callable[[dict], str | None],
                      excluded=frozenset(), day: date | None = None) -> list[tuple[int, str, int]]:
    """The top ten as (rank, participant id, net fen): net per participant, ties by first-reached,
    fewer refunds, id."""
    net, last, refunds = defaultdict(int), {}, defaultdict(int)
    for e in events:
        occurred = datetime.fromisoformat(e["occurred_at"]).astimezone(timezone.utc)
        if day is not None and occurred.astimezone(SHANGHAI).date() != day:
            continue
        pid = resolve(e)
        if pid is None or pid in excluded:
            continue
        sign = 1 if e["type"] == "order.paid" else -1
        net[pid] += sign * e["amount_fen"]
        last[pid] = max(last.get(pid, occurred), occurred)
        refunds[pid] += e["type"] == "order.refunded"
    ranked = sorted((p for p in net if net[p] > 0), key=lambda p: (-net[p], last[p], refunds[p], p))
    return [(rank, p, net[p]) for rank, p in enumerate(ranked[:10], start=1)]


def net_fen(events: Iterable[dict]) -> int:
    return sum(e["amount_fen"] * (1 if e["type"] == "order.paid" else -1) for e in events)


def settle_refunds(events: Iterable[dict]) -> tuple[list[dict], list[dict]]:
    """(what the boards count, refunds held): a refund counts against the order it names (same
    source platform and order id) only when that order's payment is among `events`, with the order's
    host and enterprise, and never for more than is left of the order; other refunds wait."""
    events = list(events)
    left: dict[tuple[str, str], int] = defaultdict(int)
    orders: dict[tuple[str, str], dict] = {}
    for e in events:
        if e["type"] == "order.paid":
            key = (e["platform"], e["order_id"])
            left[key] += e["amount_fen"]
            orders.setdefault(key, e)
    counted, held = [], []
    for e in sorted(events, key=lambda e: e["type"] != "order.paid"):  # payments first
        if e["type"] != "order.refunded":
            counted.append(e)
            continue
        key = (e["platform"], e["order_id"])
        if key not in orders:
            held.append(e)
            continue
        amount = min(e["amount_fen"], left[key])
        left[key] -= amount
        order = orders[key]
        counted.append({**e, "amount_fen": amount, "host": order["host"], "enterprise": order["enterprise"]})
    return counted, held

