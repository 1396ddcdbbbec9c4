from datetime import datetime, timedelta, timezone

import pytest

from domain.ranking import (
    BoardEntry,
    ParticipantTotals,
    RankCard,
    rank_card,
    rank_participants,
    refund_rate,
)

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def totals(pid, net, *, minute=0, refunded=0, refund_count=0, orders=1, units=1, buyers=1):
    return ParticipantTotals(
        participant_id=pid,
        net_gmv_fen=net,
        paid_fen=net + refunded,
        refunded_fen=refunded,
        order_count=orders,
        refund_count=refund_count,
        units=units,
        buyers=buyers,
        reached_at=T0 + timedelta(minutes=minute),
    )


@pytest.mark.parametrize(
    "rows, expected_order",
    [
        pytest.param(
            [totals("a", 30_000), totals("b", 50_000), totals("c", 10_000)],
            ["b", "a", "c"],
            id="net-gmv-desc",
        ),
        pytest.param(
            [totals("a", 50_000, minute=5), totals("b", 50_000, minute=1)],
            ["b", "a"],
            id="tie-earlier-reached-first-b",
        ),
        pytest.param(
            [totals("a", 50_000, minute=1), totals("b", 50_000, minute=5)],
            ["a", "b"],
            id="tie-earlier-reached-first-a",
        ),
        pytest.param(
            [totals("a", 50_000, refund_count=2, refunded=100), totals("b", 50_000, refund_count=1, refunded=100)],
            ["b", "a"],
            id="tie-same-time-fewer-refunds-first",
        ),
        pytest.param(
            [totals("a", 50_000, refund_count=0), totals("b", 50_000, refund_count=3, refunded=10)],
            ["a", "b"],
            id="tie-same-time-fewer-refunds-first-other-way",
        ),
        pytest.param(
            [totals("a", 50_000, minute=2, refund_count=0), totals("b", 50_000, minute=1, refund_count=5, refunded=10)],
            ["b", "a"],  # reaching first outranks having fewer refunds
            id="tie-time-beats-refund-count",
        ),
        pytest.param(
            [totals("h2", 50_000), totals("h10", 50_000)],
            ["h10", "h2"],  # plain string order: "h10" < "h2"
            id="tie-everything-id-ascending",
        ),
        pytest.param(
            [totals("a", 50_001, minute=9), totals("b", 50_000, minute=0)],
            ["a", "b"],
            id="one-fen-more-beats-earlier",
        ),
        pytest.param(
            [totals("a", 0), totals("b", -100, refunded=200), totals("c", 1)],
            ["c"],
            id="zero-and-negative-net-not-ranked",
        ),
        pytest.param([], [], id="empty"),
    ],
)
def test_order_and_tie_breaks(rows, expected_order):
    board = rank_participants(rows, names={})
    assert [e.participant_id for e in board] == expected_order
    assert [e.rank for e in board] == list(range(1, len(expected_order) + 1))


@pytest.mark.parametrize(
    "excluded, limit, expected",
    [
        pytest.param({"a": "刷单"}, 10, [("b", 1), ("c", 2), ("d", 3)], id="leader-disqualified-next-moves-up"),
        pytest.param({"b": "隐藏"}, 2, [("a", 1), ("c", 2)], id="excluded-before-limit"),
        pytest.param({}, 2, [("a", 1), ("b", 2)], id="limit-cuts"),
        pytest.param({"zz": "不在榜上"}, None, [("a", 1), ("b", 2), ("c", 3), ("d", 4)], id="unknown-excluded-ignored"),
    ],
)
def test_excluded_removed_before_ranking(excluded, limit, expected):
    rows = [totals("a", 90_000), totals("b", 80_000), totals("c", 70_000), totals("d", 60_000)]
    board = rank_participants(rows, names={}, excluded=excluded, limit=limit)
    assert [(e.participant_id, e.rank) for e in board] == expected


def test_movement_up_down_same_new():
    rows = [totals("a", 90_000), totals("b", 80_000), totals("c", 70_000), totals("d", 60_000)]
    board = rank_participants(rows, names={}, previous_ranks={"a": 2, "b": 1, "c": 3, "gone": 4})
    assert [(e.participant_id, e.previous_rank, e.movement) for e in board] == [
        ("a", 2, "up"),
        ("b", 1, "down"),
        ("c", 3, "same"),
        ("d", None, "new"),
    ]


@pytest.mark.parametrize("limit, expected_len", [(10, 10), (None, 12), (0, 0), (3, 3), (20, 12)])
def test_limit(limit, expected_len):
    rows = [totals(f"p{i:02d}", 1_000 * (13 - i)) for i in range(1, 13)]
    board = rank_participants(rows, names={}, limit=limit)
    assert len(board) == expected_len
    assert [e.participant_id for e in board] == [f"p{i:02d}" for i in range(1, expected_len + 1)]


def test_default_limit_is_ten():
    rows = [totals(f"p{i:02d}", 1_000 * (13 - i)) for i in range(1, 13)]
    assert len(rank_participants(rows, names={})) == 10


def test_full_entry_fields_and_name_fallback():
    rows = [
        totals("host-1", 20_000, refunded=10_000, refund_count=1, orders=4, units=6, buyers=3, minute=2),
        totals("host-2", 5_000, orders=1),
    ]
    board = rank_participants(rows, names={"host-1": "湘西阿妹"}, previous_ranks={"host-2": 1})
    assert board == [
        BoardEntry(
            rank=1, previous_rank=None, movement="new", participant_id="host-1", name="湘西阿妹",
            net_gmv_fen=20_000, paid_fen=30_000, refunded_fen=10_000, order_count=4, refund_count=1,
            units=6, buyers=3, refund_rate=0.3333, reached_at=T0 + timedelta(minutes=2),
        ),
        BoardEntry(
            rank=2, previous_rank=1, movement="down", participant_id="host-2", name="host-2",
            net_gmv_fen=5_000, paid_fen=5_000, refunded_fen=0, order_count=1, refund_count=0,
            units=1, buyers=1, refund_rate=0.0, reached_at=T0,
        ),
    ]


@pytest.mark.parametrize(
    "refunded, paid, expected",
    [(1, 3, 0.3333), (2, 3, 0.6667), (0, 0, 0.0), (50, 100, 0.5), (0, 100, 0.0), (100, 100, 1.0)],
)
def test_refund_rate(refunded, paid, expected):
    assert refund_rate(refunded, paid) == expected


def test_duplicate_participant_rejected():
    with pytest.raises(ValueError, match="duplicate"):
        rank_participants([totals("a", 1), totals("a", 2)], names={})


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"net_gmv_fen": 100, "paid_fen": 100, "refunded_fen": 10}, ValueError),  # net != paid - refunded
        ({"net_gmv_fen": 1.5, "paid_fen": 1.5, "refunded_fen": 0}, TypeError),  # floats never carry money
        ({"reached_at": datetime(2026, 11, 23, 12, 0)}, ValueError),  # naive
    ],
)
def test_totals_validation(kwargs, error):
    base = dict(
        participant_id="a", net_gmv_fen=100, paid_fen=100, refunded_fen=0, order_count=1,
        refund_count=0, units=1, buyers=1, reached_at=T0,
    )
    with pytest.raises(error):
        ParticipantTotals(**{**base, **kwargs})


# Full ranking of 12 for the rank cards: p02 and p03 tie on amount, p02 reached it first.
CARD_NETS = [10_000, 9_000, 9_000, 7_000, 6_000, 5_000, 4_000, 3_000, 2_000, 1_500, 1_200, 800]


@pytest.fixture
def full_ranking():
    rows = [totals(f"p{i:02d}", net, minute=i) for i, net in enumerate(CARD_NETS, start=1)]
    return rank_participants(rows, names={}, previous_ranks={"p11": 9, "p04": 4}, limit=None)


@pytest.mark.parametrize(
    "pid, top_n, expected",
    [
        ("p01", 10, (1, 10_000, None, "new", None, 0, True)),
        ("p03", 10, (3, 9_000, None, "new", 0, 0, True)),  # tied on amount, lost the tie-break
        ("p04", 10, (4, 7_000, 4, "same", 2_000, 0, True)),
        ("p10", 10, (10, 1_500, None, "new", 500, 0, True)),
        ("p11", 10, (11, 1_200, 9, "down", 300, 301, False)),
        ("p12", 10, (12, 800, None, "new", 400, 701, False)),
        ("p04", 3, (4, 7_000, 4, "same", 2_000, 2_001, False)),
        ("p03", 3, (3, 9_000, None, "new", 0, 0, True)),
        ("p12", 1, (12, 800, None, "new", 400, 9_201, False)),
    ],
)
def test_rank_card(full_ranking, pid, top_n, expected):
    rank, net, previous, move, gap_above, gap_top, in_top = expected
    assert rank_card(full_ranking, pid, top_n=top_n) == RankCard(
        participant_id=pid, rank=rank, net_gmv_fen=net, previous_rank=previous, movement=move,
        gap_to_above_fen=gap_above, gap_to_top_n_fen=gap_top, in_top_n=in_top, total_ranked=12, top_n=top_n,
    )


def test_rank_card_unranked_is_none(full_ranking):
    assert rank_card(full_ranking, "nobody") is None
    assert rank_card([], "p01") is None


def test_rank_card_short_board_everyone_in_top_n(full_ranking):
    short = full_ranking[:4]
    card = rank_card(short, "p04")
    assert (card.in_top_n, card.gap_to_top_n_fen, card.total_ranked) == (True, 0, 4)
