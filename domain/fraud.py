"""Fraud signals from plain stats. A signal asks an organizer to look; it decides nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from statistics import median_low
from typing import Any, Iterable

from domain.money import format_yuan, require_fen
from domain.periods import SHANGHAI
from domain.ranking import ParticipantTotals, refund_rate

HIGH_REFUND_RATE = "high_refund_rate"
BUYER_ORDER_BURST = "buyer_order_burst"
HOURLY_SPIKE = "hourly_spike"


@dataclass(frozen=True)
class FraudSignal:
    participant_id: str
    kind: str  # HIGH_REFUND_RATE | BUYER_ORDER_BURST | HOURLY_SPIKE
    description: str  # Chinese, for organizers
    evidence: dict[str, Any] = field(hash=False)


def _exact(ratio: float | Decimal | str) -> Fraction:
    # Through str so 0.6 means exactly 6/10, not the nearest binary float.
    return Fraction(str(ratio))


def _percent(ratio: Fraction) -> str:
    return f"{float(ratio) * 100:.1f}%"  # display only


def _local_hour(hour_start_utc: datetime) -> str:
    return hour_start_utc.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:00")


def refund_rate_signals(
    totals: Iterable[ParticipantTotals],
    *,
    threshold: float | Decimal | str = "0.60",
    min_paid_orders: int = 5,
) -> list[FraudSignal]:
    """Refunded/paid strictly above ``threshold``; participants with fewer than
    ``min_paid_orders`` paid orders are not judged (one refund out of two is not a pattern)."""
    limit = _exact(threshold)
    signals = []
    for t in sorted(totals, key=lambda t: t.participant_id):
        if t.order_count < min_paid_orders or t.paid_fen <= 0:
            continue
        rate = Fraction(t.refunded_fen, t.paid_fen)
        if rate <= limit:
            continue
        signals.append(
            FraudSignal(
                participant_id=t.participant_id,
                kind=HIGH_REFUND_RATE,
                description=(
                    f"退款率{_percent(rate)}，超过阈值{_percent(limit)}"
                    f"（已付款订单{t.order_count}笔，退款{t.refund_count}笔）"
                ),
                evidence={
                    "paid_fen": t.paid_fen,
                    "refunded_fen": t.refunded_fen,
                    "order_count": t.order_count,
                    "refund_count": t.refund_count,
                    "refund_rate": refund_rate(t.refunded_fen, t.paid_fen),  # 4 decimals, as on the board
                    "threshold": str(threshold),
                },
            )
        )
    return signals


@dataclass(frozen=True)
class BuyerHourOrders:
    participant_id: str
    buyer_id: str  # as the platform gives it (often already masked)
    hour_start_utc: datetime  # start of the UTC hour bucket
    order_count: int


def buyer_burst_signals(rows: Iterable[BuyerHourOrders], *, min_orders: int = 20) -> list[FraudSignal]:
    """One buyer placing ``min_orders`` or more orders with one participant within one hour."""
    signals = []
    for row in sorted(rows, key=lambda r: (r.participant_id, r.hour_start_utc, r.buyer_id)):
        if row.order_count < min_orders:
            continue
        signals.append(
            FraudSignal(
                participant_id=row.participant_id,
                kind=BUYER_ORDER_BURST,
                description=(
                    f"买家{row.buyer_id}在{_local_hour(row.hour_start_utc)}这一小时内下单"
                    f"{row.order_count}笔（阈值{min_orders}笔）"
                ),
                evidence={
                    "buyer_id": row.buyer_id,
                    "hour_start_utc": row.hour_start_utc.isoformat(),
                    "order_count": row.order_count,
                    "min_orders": min_orders,
                },
            )
        )
    return signals


@dataclass(frozen=True)
class HourlyNet:
    participant_id: str
    hour_start_utc: datetime
    net_gmv_fen: int

    def __post_init__(self) -> None:
        require_fen(self.net_gmv_fen, "net_gmv_fen")


def spike_signals(
    hours: Iterable[HourlyNet],
    *,
    factor: int = 10,
    min_amount_fen: int = 1_000_000,
    window_hours: int = 24,
    min_history_hours: int = 3,
) -> list[FraudSignal]:
    """An hour whose net GMV is at least ``factor`` × the participant's trailing median AND at
    least ``min_amount_fen`` (so 5 yuan after 0.5 yuan is not a spike).

    The trailing median is over the participant's previous ``window_hours`` ACTIVE hours (hours
    present in the input), because live rooms sell in sessions: counting idle hours as zero
    would make every session look like a spike. At least ``min_history_hours`` earlier active
    hours are needed to judge. ``median_low`` keeps the median an observed integer fen value.
    """
    require_fen(min_amount_fen, "min_amount_fen")
    by_participant: dict[str, list[HourlyNet]] = {}
    for row in hours:
        by_participant.setdefault(row.participant_id, []).append(row)

    signals = []
    for participant_id in sorted(by_participant):
        series = sorted(by_participant[participant_id], key=lambda r: r.hour_start_utc)
        for i, row in enumerate(series):
            history = [r.net_gmv_fen for r in series[max(0, i - window_hours):i]]
            if len(history) < min_history_hours:
                continue
            trailing_median = median_low(history)
            if row.net_gmv_fen < min_amount_fen or row.net_gmv_fen < factor * trailing_median:
                continue
            multiple = (
                f"是此前{len(history)}个活跃小时中位数{format_yuan(trailing_median)}的"
                f"{row.net_gmv_fen / trailing_median:.1f}倍"
                if trailing_median > 0
                else f"此前{len(history)}个活跃小时中位数为{format_yuan(trailing_median)}"
            )
            signals.append(
                FraudSignal(
                    participant_id=participant_id,
                    kind=HOURLY_SPIKE,
                    description=(
                        f"{_local_hour(row.hour_start_utc)}这一小时净成交{format_yuan(row.net_gmv_fen)}，{multiple}"
                    ),
                    evidence={
                        "hour_start_utc": row.hour_start_utc.isoformat(),
                        "net_gmv_fen": row.net_gmv_fen,
                        "trailing_median_fen": trailing_median,
                        "history_hours": len(history),
                        "factor": factor,
                        "min_amount_fen": min_amount_fen,
                    },
                )
            )
    return signals
