from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from domain.fraud import (
    BUYER_ORDER_BURST,
    HIGH_REFUND_RATE,
    HOURLY_SPIKE,
    BuyerHourOrders,
    FraudSignal,
    HourlyNet,
    buyer_burst_signals,
    refund_rate_signals,
    spike_signals,
)
from domain.ranking import ParticipantTotals

H0 = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)  # 18:00 in Shanghai


def stats(pid, paid, refunded, orders, refunds=0):
    return ParticipantTotals(
        participant_id=pid, net_gmv_fen=paid - refunded, paid_fen=paid, refunded_fen=refunded,
        order_count=orders, refund_count=refunds, units=orders, buyers=orders, reached_at=H0,
    )


@pytest.mark.parametrize(
    "paid, refunded, orders, kwargs, flagged",
    [
        (10_000, 6_000, 5, {}, False),  # exactly 60 %: not above
        (10_000, 6_001, 5, {}, True),
        (10_000, 9_000, 4, {}, False),  # too few paid orders to judge
        (10_000, 9_000, 4, {"min_paid_orders": 4}, True),
        (0, 0, 9, {}, False),
        (10_000, 5_001, 5, {"threshold": 0.5}, True),
        (10_000, 5_000, 5, {"threshold": Decimal("0.5")}, False),
        (3, 2, 5, {"threshold": "0.6666"}, True),  # 0.66667 > 0.6666
        (3, 2, 5, {"threshold": "0.6667"}, False),
    ],
)
def test_refund_rate_signals(paid, refunded, orders, kwargs, flagged):
    signals = refund_rate_signals([stats("h1", paid, refunded, orders)], **kwargs)
    assert [s.participant_id for s in signals] == (["h1"] if flagged else [])


def test_refund_rate_signal_content():
    signals = refund_rate_signals([stats("h2", 10_000, 7_000, 12, refunds=3), stats("h1", 10_000, 100, 12)])
    assert signals == [
        FraudSignal(
            participant_id="h2",
            kind=HIGH_REFUND_RATE,
            description="退款率70.0%，超过阈值60.0%（已付款订单12笔，退款3笔）",
            evidence={
                "paid_fen": 10_000, "refunded_fen": 7_000, "order_count": 12, "refund_count": 3,
                "refund_rate": 0.7, "threshold": "0.60",
            },
        )
    ]


@pytest.mark.parametrize(
    "count, kwargs, flagged",
    [(19, {}, False), (20, {}, True), (25, {}, True), (9, {"min_orders": 10}, False), (10, {"min_orders": 10}, True)],
)
def test_buyer_burst_threshold(count, kwargs, flagged):
    signals = buyer_burst_signals([BuyerHourOrders("h1", "b1", H0, count)], **kwargs)
    assert len(signals) == (1 if flagged else 0)


def test_buyer_burst_content_and_order():
    rows = [
        BuyerHourOrders("h2", "b***9", H0, 30),
        BuyerHourOrders("h1", "b***1", H0 + timedelta(hours=2), 25),
        BuyerHourOrders("h1", "b***2", H0, 3),
    ]
    signals = buyer_burst_signals(rows)
    assert signals[0] == FraudSignal(
        participant_id="h1",
        kind=BUYER_ORDER_BURST,
        description="买家b***1在2026-11-23 20:00这一小时内下单25笔（阈值20笔）",
        evidence={"buyer_id": "b***1", "hour_start_utc": "2026-11-23T12:00:00+00:00", "order_count": 25, "min_orders": 20},
    )
    assert [(s.participant_id, s.evidence["buyer_id"]) for s in signals] == [("h1", "b***1"), ("h2", "b***9")]


def hourly(pid, values, start=H0):
    return [HourlyNet(pid, start + timedelta(hours=i), v) for i, v in enumerate(values)]


@pytest.mark.parametrize(
    "values, kwargs, expected_hours",
    [
        # history 1000/2000/3000 yuan -> median_low 2000 yuan; 10x = 20,000 yuan = 2,000,000 fen
        ([100_000, 200_000, 300_000, 2_000_000], {}, [3]),
        ([100_000, 200_000, 300_000, 1_999_999], {}, []),
        # 10x the median but under the minimum amount
        ([10, 20, 30, 999_999], {}, []),
        ([10, 20, 30, 999_999], {"min_amount_fen": 999_999}, [3]),
        # not enough history yet
        ([100, 5_000_000], {}, []),
        ([100, 200, 5_000_000], {}, []),
        ([100, 200, 5_000_000], {"min_history_hours": 2}, [2]),
        # median_low of an even history takes the lower middle: [100, 200, 300, 400] -> 200
        ([100_000, 200_000, 300_000, 400_000, 2_000_000], {}, [4]),
        # idle active hours (net 0) give a median of 0: any amount above the minimum stands out
        ([0, 0, 0, 1_000_000], {}, [3]),
        ([100_000, 200_000, 300_000, 2_000_000], {"factor": 11}, []),
    ],
)
def test_spike_signals(values, kwargs, expected_hours):
    signals = spike_signals(hourly("h1", values), **kwargs)
    assert [s.evidence["hour_start_utc"] for s in signals] == [
        (H0 + timedelta(hours=h)).isoformat() for h in expected_hours
    ]


def test_spike_trailing_window_counts_active_hours():
    # 25 big hours, then 24 small ones, then 1,000,000: with a 24-hour window the median is the
    # small level (spike); with a 49-hour window median_low lands on a big hour (no spike).
    values = [1_000_000] * 25 + [10_000] * 24 + [1_000_000]
    assert [s.evidence["history_hours"] for s in spike_signals(hourly("h1", values))] == [24]
    assert spike_signals(hourly("h1", values), window_hours=49) == []


def test_spike_gaps_between_sessions_do_not_count_as_zero():
    # three sessions a day apart; the idle hours in between are not in the input
    rows = [
        HourlyNet("h1", H0, 500_000),
        HourlyNet("h1", H0 + timedelta(days=1), 600_000),
        HourlyNet("h1", H0 + timedelta(days=2), 550_000),
        HourlyNet("h1", H0 + timedelta(days=3), 1_200_000),
    ]
    assert spike_signals(rows) == []


def test_spike_signal_content():
    rows = hourly("h2", [10, 10, 10, 10]) + hourly("h1", [100_000, 200_000, 300_000, 2_000_000])
    signals = spike_signals(list(reversed(rows)))  # input order does not matter
    assert signals == [
        FraudSignal(
            participant_id="h1",
            kind=HOURLY_SPIKE,
            description="2026-11-23 21:00这一小时净成交20,000.00元，是此前3个活跃小时中位数2,000.00元的10.0倍",
            evidence={
                "hour_start_utc": "2026-11-23T13:00:00+00:00",
                "net_gmv_fen": 2_000_000,
                "trailing_median_fen": 200_000,
                "history_hours": 3,
                "factor": 10,
                "min_amount_fen": 1_000_000,
            },
        )
    ]


def test_spike_zero_median_description():
    [signal] = spike_signals(hourly("h1", [0, 0, 0, 1_000_000]))
    assert signal.description == "2026-11-23 21:00这一小时净成交10,000.00元，此前3个活跃小时中位数为0.00元"


def test_signals_are_hashable_despite_evidence_dict():
    [signal] = buyer_burst_signals([BuyerHourOrders("h1", "b1", H0, 20)])
    assert isinstance(hash(signal), int)


def test_hourly_net_rejects_float():
    with pytest.raises(TypeError):
        HourlyNet("h1", H0, 1.5)
