from datetime import datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import pytest

from domain.awards import (
    MILESTONE_TIERS,
    ONE_TIME_REWARDS,
    XIANGXI_COUNTY_CODES,
    CandidateFacts,
    EnterpriseYearSales,
    Ineligible,
    MilestoneDecision,
    MilestoneGrant,
    MilestonePolicy,
    OneTimeReward,
    ReviewFlag,
    SelectionKind,
    StationLevel,
    StationYear,
    highest_only,
    milestone_decisions,
    rank_stations,
    review_flags,
    select_top,
)
from domain.ranking import ParticipantTotals, rank_participants

DIFF = MilestonePolicy.PAY_DIFFERENCE
FULL = MilestonePolicy.PAY_FULL_HIGHER_TIER

# Thresholds and amounts written out in fen so a wrong constant fails the tests.
T1, T2, T3 = 1_000_000_000, 3_000_000_000, 5_000_000_000  # 1000万 / 3000万 / 5000万 yuan
A1, A2, A3 = 5_000_000, 10_000_000, 20_000_000  # 5万 / 10万 / 20万 yuan


def test_milestone_table():
    assert [(t.tier, t.threshold_fen, t.amount_fen) for t in MILESTONE_TIERS] == [
        (1, T1, A1), (2, T2, A2), (3, T3, A3),
    ]


@pytest.mark.parametrize(
    "sales_fen, tax_compliant, reached, granted, amount, reason",
    [
        (0, True, None, False, 0, "年度销售额0.00元，未突破1000万元"),
        (T1, True, None, False, 0, "年度销售额10,000,000.00元，未突破1000万元"),  # equal is not 突破
        (T1 + 1, True, 1, True, A1, "年度销售额首次突破1000万元，且依法纳税，奖励50,000.00元"),
        (T2, True, 1, True, A1, "年度销售额首次突破1000万元，且依法纳税，奖励50,000.00元"),
        (T2 + 1, True, 2, True, A2, "年度销售额首次突破3000万元，且依法纳税，奖励100,000.00元"),
        (T3, True, 2, True, A2, "年度销售额首次突破3000万元，且依法纳税，奖励100,000.00元"),
        # crossing several thresholds in one year pays only the highest
        (T3 + 1, True, 3, True, A3, "年度销售额首次突破5000万元，且依法纳税，奖励200,000.00元"),
        (9_000_000_000, True, 3, True, A3, "年度销售额首次突破5000万元，且依法纳税，奖励200,000.00元"),
        (T3 + 1, False, 3, False, 0, "未依法纳税，不予奖励"),
        (T1 + 1, False, 1, False, 0, "未依法纳税，不予奖励"),
    ],
)
def test_milestone_single_year(sales_fen, tax_compliant, reached, granted, amount, reason):
    decisions = milestone_decisions(2026, [EnterpriseYearSales("ent-1", 2026, sales_fen, tax_compliant)], [])
    assert decisions == [
        MilestoneDecision(
            enterprise_id="ent-1", year=2026, annual_sales_fen=sales_fen, reached_tier=reached,
            granted=granted, tier=reached if granted else None, amount_fen=amount, reason=reason,
        )
    ]


@pytest.mark.parametrize(
    "earlier, sales_fen, policy, expected",
    [
        # (granted, tier, amount_fen, reason)
        pytest.param(
            [(2025, 1, A1)], T3 + 1, DIFF,
            (True, 3, 15_000_000,
             "年度销售额首次突破5000万元，就高不就低：本档奖励200,000.00元，扣除已奖励50,000.00元，补足差额150,000.00元"),
            id="tier1-then-tier3-difference",
        ),
        pytest.param(
            [(2025, 1, A1)], T3 + 1, FULL,
            (True, 3, A3, "年度销售额首次突破5000万元，且依法纳税，奖励200,000.00元"),
            id="tier1-then-tier3-full",
        ),
        pytest.param(
            [(2025, 1, A1)], T2 + 1, DIFF,
            (True, 2, 5_000_000,
             "年度销售额首次突破3000万元，就高不就低：本档奖励100,000.00元，扣除已奖励50,000.00元，补足差额50,000.00元"),
            id="tier1-then-tier2-difference",
        ),
        pytest.param([(2025, 1, A1)], T2 + 1, FULL, (True, 2, A2, None), id="tier1-then-tier2-full"),
        pytest.param(
            [(2024, 1, A1), (2025, 2, 5_000_000)], T3 + 1, DIFF, (True, 3, 10_000_000, None),
            id="three-years-difference",
        ),
        pytest.param([(2024, 1, A1), (2025, 2, A2)], T3 + 1, FULL, (True, 3, A3, None), id="three-years-full"),
        pytest.param(
            [(2025, 2, A2)], T2 + 1, DIFF,
            (False, None, 0, "突破3000万元档已于2025年度奖励，不重复奖励"),
            id="same-tier-again-difference",
        ),
        pytest.param(
            [(2025, 2, A2)], T2 + 500, FULL,
            (False, None, 0, "突破3000万元档已于2025年度奖励，不重复奖励"),
            id="same-tier-again-full",
        ),
        pytest.param(
            [(2025, 3, A3)], T1 + 1, DIFF,
            (False, None, 0, "已于2025年度获得更高档（突破5000万元）奖励，就高不就低，不重复奖励"),
            id="lower-after-higher-difference",
        ),
        pytest.param(
            [(2025, 3, A3)], T2 + 1, FULL,
            (False, None, 0, "已于2025年度获得更高档（突破5000万元）奖励，就高不就低，不重复奖励"),
            id="lower-after-higher-full",
        ),
        pytest.param(
            [(2025, 1, A2)], T2 + 1, DIFF,  # an over-paid earlier grant leaves no difference
            (False, None, 0, "已累计奖励100,000.00元，不低于本档奖励，不重复奖励"),
            id="no-difference-left",
        ),
        pytest.param(
            [(2026, 1, A1), (2027, 3, A3)], T1 + 1, DIFF,  # same-year and later grants are not "earlier"
            (True, 1, A1, "年度销售额首次突破1000万元，且依法纳税，奖励50,000.00元"),
            id="rerun-of-a-granted-year",
        ),
        pytest.param(
            [(2025, 1, A1)], T1, DIFF, (False, None, 0, "年度销售额10,000,000.00元，未突破1000万元"),
            id="below-after-grant",
        ),
    ],
)
def test_milestone_across_years(earlier, sales_fen, policy, expected):
    granted, tier, amount, reason = expected
    grants = [MilestoneGrant("ent-1", year, t, amt) for year, t, amt in earlier]
    [decision] = milestone_decisions(
        2026, [EnterpriseYearSales("ent-1", 2026, sales_fen, True)], grants, policy=policy
    )
    assert (decision.granted, decision.tier, decision.amount_fen) == (granted, tier, amount)
    if reason is not None:
        assert decision.reason == reason


@pytest.mark.parametrize(
    "policy, expected_amounts",
    [(DIFF, [A1, 5_000_000, 10_000_000, 0]), (FULL, [A1, A2, A3, 0])],
)
def test_milestone_history_total_never_exceeds_highest_tier_by_default(policy, expected_amounts):
    yearly_sales = {2023: T1 + 1, 2024: T2 + 1, 2025: T3 + 1, 2026: T3 + 1}
    grants: list[MilestoneGrant] = []
    amounts = []
    for year, sales in yearly_sales.items():
        [decision] = milestone_decisions(year, [EnterpriseYearSales("ent-1", year, sales, True)], grants, policy=policy)
        amounts.append(decision.amount_fen)
        if decision.granted:
            grants.append(MilestoneGrant("ent-1", year, decision.tier, decision.amount_fen))
    assert amounts == expected_amounts
    assert sum(amounts) == {DIFF: A3, FULL: A1 + A2 + A3}[policy]


def test_milestone_many_enterprises_sorted_and_other_years_ignored():
    sales = [
        EnterpriseYearSales("ent-b", 2026, T2 + 1, True),
        EnterpriseYearSales("ent-a", 2026, T1 + 1, False),
        EnterpriseYearSales("ent-a", 2025, T3 + 1, True),  # other year: not decided now
        EnterpriseYearSales("ent-c", 2026, 12_345, True),
    ]
    decisions = milestone_decisions(2026, sales, [MilestoneGrant("ent-c", 2025, 1, A1)])
    assert [(d.enterprise_id, d.granted, d.amount_fen) for d in decisions] == [
        ("ent-a", False, 0),
        ("ent-b", True, A2),
        ("ent-c", False, 0),
    ]


def test_milestone_rejects_duplicates_and_bad_input():
    row = EnterpriseYearSales("ent-1", 2026, T1 + 1, True)
    with pytest.raises(ValueError, match="duplicate"):
        milestone_decisions(2026, [row, row], [])
    with pytest.raises(TypeError):
        EnterpriseYearSales("ent-1", 2026, 1.0e9, True)
    with pytest.raises(ValueError):
        MilestoneGrant("ent-1", 2025, 4, A3)


@pytest.mark.parametrize(
    "grant, current_sales, expected",
    [
        pytest.param(
            (2026, 2, A2), [(2026, 2_999_000_000)],
            ReviewFlag(
                enterprise_id="ent-1", year=2026, tier=2, granted_amount_fen=A2, threshold_fen=T2,
                current_sales_fen=2_999_000_000,
                reason="退款后2026年度销售额为29,990,000.00元，未突破3000万元（该档已奖励100,000.00元），请复核",
            ),
            id="refunds-under-granted-tier",
        ),
        pytest.param(
            (2026, 2, A2), [(2026, T2)],
            ReviewFlag(
                enterprise_id="ent-1", year=2026, tier=2, granted_amount_fen=A2, threshold_fen=T2,
                current_sales_fen=T2,
                reason="退款后2026年度销售额为30,000,000.00元，未突破3000万元（该档已奖励100,000.00元），请复核",
            ),
            id="exactly-at-threshold-is-flagged",
        ),
        pytest.param((2026, 2, A2), [(2026, T2 + 1)], None, id="still-above"),
        pytest.param(
            (2025, 3, 15_000_000), [(2025, T1 + 1)],
            ReviewFlag(
                enterprise_id="ent-1", year=2025, tier=3, granted_amount_fen=15_000_000, threshold_fen=T3,
                current_sales_fen=T1 + 1,
                reason="退款后2025年度销售额为10,000,000.01元，未突破5000万元（该档已奖励150,000.00元），请复核",
            ),
            id="difference-grant-flagged-against-its-own-tier",
        ),
        pytest.param((2026, 1, A1), [], None, id="no-sales-row-not-judged"),
        pytest.param((2026, 1, A1), [(2025, 0)], None, id="other-year-not-judged"),
    ],
)
def test_review_flags(grant, current_sales, expected):
    year, tier, amount = grant
    flags = review_flags(
        [MilestoneGrant("ent-1", year, tier, amount)],
        [EnterpriseYearSales("ent-1", y, s, True) for y, s in current_sales],
    )
    assert flags == ([] if expected is None else [expected])


def test_review_flags_only_for_the_affected_enterprise():
    grants = [MilestoneGrant("ent-b", 2026, 1, A1), MilestoneGrant("ent-a", 2026, 1, A1)]
    sales = [EnterpriseYearSales("ent-a", 2026, T1 + 1, True), EnterpriseYearSales("ent-b", 2026, T1 - 1, True)]
    assert [(f.enterprise_id, f.current_sales_fen) for f in review_flags(grants, sales)] == [("ent-b", T1 - 1)]


# --- station rating ---------------------------------------------------------------------

CC, TS, VP = StationLevel.COUNTY_CENTRE, StationLevel.TOWNSHIP_STATION, StationLevel.VILLAGE_POINT


def test_county_centres_quota_two_and_ineligible_listed():
    stations = [
        StationYear("cc-a", "吉首市电商运营中心", CC, 1_000_000, 80),  # 60 + 32 = 92
        StationYear("cc-b", "凤凰县电商运营中心", CC, 800_000, 95),  # 48 + 38 = 86
        StationYear("cc-c", "花垣县电商运营中心", CC, 900_000, 70),  # 54 + 28 = 82
        StationYear("cc-d", "保靖县电商运营中心", CC, 5_000_000, None),
        StationYear("cc-e", "古丈县电商运营中心", CC, 0, 90),
        StationYear("cc-f", "永顺县电商运营中心", CC, -10, None),
    ]
    result = rank_stations(stations)[CC]
    assert [(s.rank, s.station_id, s.composite_score, s.rewarded, s.reward_fen) for s in result.ranked] == [
        (1, "cc-a", Fraction(92), True, 8_000_000),
        (2, "cc-b", Fraction(86), True, 8_000_000),
        (3, "cc-c", Fraction(82), False, 0),
    ]
    assert [s.station_id for s in result.rewarded] == ["cc-a", "cc-b"]
    assert result.ineligible == (
        Ineligible("cc-d", "保靖县电商运营中心", ("未录入服务质量评分",)),
        Ineligible("cc-e", "古丈县电商运营中心", ("无交易业绩",)),
        Ineligible("cc-f", "永顺县电商运营中心", ("未录入服务质量评分", "无交易业绩")),
    )


def test_station_ties_higher_volume_then_id():
    stations = [
        StationYear("t3", "甲", TS, 1_000_000, 50),  # 60 + 20 = 80
        StationYear("t2", "乙", TS, 750_000, Decimal("87.5")),  # 45 + 35 = 80
        StationYear("t1", "丙", TS, 750_000, Decimal("87.5")),  # same as t2
    ]
    ranked = rank_stations(stations)[TS].ranked
    assert [(s.station_id, s.composite_score) for s in ranked] == [
        ("t3", Fraction(80)), ("t1", Fraction(80)), ("t2", Fraction(80)),
    ]


@pytest.mark.parametrize("level, reward_fen", [(TS, 3_000_000), (VP, 1_000_000)])
def test_township_and_village_quota_ten(level, reward_fen):
    stations = [StationYear(f"s{i:02d}", f"站{i}", level, 100_000 * (13 - i), 100) for i in range(1, 13)]
    ranked = rank_stations(stations)[level].ranked
    assert [s.station_id for s in ranked] == [f"s{i:02d}" for i in range(1, 13)]
    assert [s.reward_fen for s in ranked] == [reward_fen] * 10 + [0, 0]
    assert sum(s.reward_fen for s in ranked) == 10 * reward_fen


def test_levels_are_rated_separately():
    stations = [
        StationYear("cc-1", "县中心", CC, 100, 10),
        StationYear("vp-1", "村点", VP, 9_000_000, 10),  # a far bigger volume in another level
    ]
    result = rank_stations(stations)
    assert result[CC].ranked[0].composite_score == Fraction(64)  # 60 + 4: best of its own level
    assert result[VP].ranked[0].composite_score == Fraction(64)
    assert result[TS].ranked == () and result[TS].ineligible == ()


@pytest.mark.parametrize(
    "volume, quality, expected_display",
    [
        (100_000, 0, Decimal("7.50")),  # 60 × 1/8
        (100_000, Decimal("0.0125"), Decimal("7.51")),  # 7.505 rounds half up
        (300_000, Decimal("33.3"), Decimal("35.82")),  # 22.5 + 13.32
        (800_000, 100, Decimal("100.00")),
    ],
)
def test_composite_display(volume, quality, expected_display):
    stations = [StationYear("top", "顶", VP, 800_000, 0), StationYear("x", "x", VP, volume, quality)]
    entry = next(s for s in rank_stations(stations)[VP].ranked if s.station_id == "x")
    assert entry.composite_display == expected_display


def test_composite_is_exact_not_float():
    stations = [StationYear("a", "a", VP, 700_000, 0), StationYear("b", "b", VP, 100_000, 0)]
    b = rank_stations(stations)[VP].ranked[1]
    assert b.composite_score == Fraction(60, 7)
    assert b.composite_display == Decimal("8.57")


@pytest.mark.parametrize(
    "quality, error",
    [(101, ValueError), (-1, ValueError), (80.0, TypeError)],
)
def test_station_quality_validation(quality, error):
    with pytest.raises(error):
        StationYear("s", "s", VP, 1, quality)


def test_duplicate_station_rejected():
    with pytest.raises(ValueError, match="duplicate"):
        rank_stations([StationYear("s", "s", VP, 1, 1), StationYear("s", "s", TS, 1, 1)])


def test_station_level_constants():
    assert [(lv.label, lv.quota, lv.reward_fen) for lv in StationLevel] == [
        ("县市区电商运营中心", 2, 8_000_000),
        ("乡镇（街道）电商服务站", 10, 3_000_000),
        ("村（社区）电商服务点", 10, 1_000_000),
    ]


# --- selections -------------------------------------------------------------------------

T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)


def _board():
    # e01..e17, net descending by 1万 yuan steps: e01 = 1,700,000 fen ... e17 = 100,000 fen
    rows = []
    for i in range(1, 18):
        net = (18 - i) * 100_000
        rows.append(
            ParticipantTotals(
                participant_id=f"e{i:02d}", net_gmv_fen=net, paid_fen=net, refunded_fen=0,
                order_count=2 if i == 6 else 10, refund_count=0, units=10, buyers=5,
                reached_at=T0 + timedelta(minutes=i),
            )
        )
    return rank_participants(rows, names={"e01": "湘西香伴农业"}, limit=None)


def _facts():
    facts = {f"e{i:02d}": CandidateFacts(f"e{i:02d}", "433101", tax_compliant=True) for i in range(1, 18)}
    facts["e02"] = CandidateFacts("e02", "430102", tax_compliant=True)
    facts["e03"] = CandidateFacts("e03", "433126", tax_compliant=False)
    facts["e04"] = CandidateFacts("e04", "433130", tax_compliant=True, disqualified_reason="刷单")
    del facts["e05"]
    return facts


def test_select_top_enterprises():
    selection = select_top(
        _board(), _facts(), kind=SelectionKind.TOP_ENTERPRISES, min_net_gmv_fen=150_000, min_order_count=3
    )
    assert [(s.place, s.board_rank, s.participant_id) for s in selection.selected] == [
        (1, 1, "e01"), (2, 7, "e07"), (3, 8, "e08"), (4, 9, "e09"), (5, 10, "e10"),
        (6, 11, "e11"), (7, 12, "e12"), (8, 13, "e13"), (9, 14, "e14"), (10, 15, "e15"),
    ]
    assert selection.selected[0].name == "湘西香伴农业"
    assert selection.selected[0].net_gmv_fen == 1_700_000
    # e16 is eligible but the ten places are taken; it is neither selected nor ineligible.
    assert selection.ineligible == (
        Ineligible("e02", "e02", ("注册地不在湘西州（区划代码430102）",)),
        Ineligible("e03", "e03", ("未依法纳税",)),
        Ineligible("e04", "e04", ("已取消资格：刷单",)),
        Ineligible("e05", "e05", ("缺少注册地信息", "未确认依法纳税")),
        Ineligible("e06", "e06", ("订单数2笔，低于最低要求3笔",)),
        Ineligible("e17", "e17", ("净成交额1,000.00元，低于最低要求1,500.00元",)),
    )


def test_select_top_influencers_do_not_need_tax_facts():
    facts = _facts()
    facts["e09"] = CandidateFacts("e09", "433123")  # tax unknown: irrelevant for influencers
    selection = select_top(
        _board(), facts, kind=SelectionKind.TOP_INFLUENCERS, min_net_gmv_fen=150_000, min_order_count=3
    )
    assert [s.participant_id for s in selection.selected] == [
        "e01", "e03", "e07", "e08", "e09", "e10", "e11", "e12", "e13", "e14",
    ]
    assert [(i.participant_id, i.reasons) for i in selection.ineligible] == [
        ("e02", ("注册地不在湘西州（区划代码430102）",)),
        ("e04", ("已取消资格：刷单",)),
        ("e05", ("缺少注册地信息",)),
        ("e06", ("订单数2笔，低于最低要求3笔",)),
        ("e17", ("净成交额1,000.00元，低于最低要求1,500.00元",)),
    ]


def test_select_top_fewer_eligible_than_slots():
    selection = select_top(_board()[:3], _facts(), kind=SelectionKind.TOP_ENTERPRISES)
    assert [s.participant_id for s in selection.selected] == ["e01"]
    assert [i.participant_id for i in selection.ineligible] == ["e02", "e03"]


def test_selection_labels_and_county_codes():
    assert SelectionKind.TOP_ENTERPRISES.label == "十佳电商企业"
    assert SelectionKind.TOP_INFLUENCERS.label == "十大电商达人"
    assert sorted(XIANGXI_COUNTY_CODES) == [
        "433101", "433122", "433123", "433124", "433125", "433126", "433127", "433130",
    ]


# --- other one-time rewards, highest only -------------------------------------------------

@pytest.mark.parametrize(
    "code, reward_type, amount_fen",
    [
        ("site_county_centre", "service_site_rating", 8_000_000),
        ("site_township_station", "service_site_rating", 3_000_000),
        ("site_village_point", "service_site_rating", 1_000_000),
        ("xiangxi_pavilion_operator", "xiangxi_pavilion", 50_000_000),
        ("self_built_platform", "self_built_platform", 10_000_000),
        ("sales_milestone_1", "sales_milestone", 5_000_000),
        ("sales_milestone_2", "sales_milestone", 10_000_000),
        ("sales_milestone_3", "sales_milestone", 20_000_000),
        ("demo_enterprise_national", "demonstration_enterprise", 30_000_000),
        ("demo_enterprise_provincial", "demonstration_enterprise", 20_000_000),
        ("ecommerce_park", "ecommerce_park", 50_000_000),
        ("demo_park_national", "demonstration_park", 100_000_000),
        ("demo_park_provincial", "demonstration_park", 50_000_000),
        ("demo_county_national", "demonstration_county", 50_000_000),
        ("demo_county_provincial", "demonstration_county", 20_000_000),
        ("delivery_network", "delivery_network", 50_000_000),
        ("overseas_o2o_shop", "overseas_o2o_shop", 10_000_000),
        ("overseas_warehouse", "overseas_warehouse", 10_000_000),
    ],
)
def test_one_time_reward_table(code, reward_type, amount_fen):
    reward = ONE_TIME_REWARDS[code]
    assert (reward.code, reward.reward_type, reward.amount_fen) == (code, reward_type, amount_fen)


def test_one_time_reward_table_is_complete():
    assert len(ONE_TIME_REWARDS) == 18


R = ONE_TIME_REWARDS


@pytest.mark.parametrize(
    "codes, expected",
    [
        (["demo_enterprise_national", "demo_enterprise_provincial"], "demo_enterprise_national"),
        (["demo_enterprise_provincial", "demo_enterprise_national"], "demo_enterprise_national"),
        (["demo_park_provincial", "demo_park_national"], "demo_park_national"),
        (["sales_milestone_1", "sales_milestone_3", "sales_milestone_2"], "sales_milestone_3"),
        (["demo_county_provincial"], "demo_county_provincial"),
    ],
)
def test_highest_only(codes, expected):
    assert highest_only([R[c] for c in codes]) == R[expected]


def test_highest_only_equal_amounts_first_by_code():
    a = OneTimeReward("b-code", "t", "（x）", "乙", 100)
    b = OneTimeReward("a-code", "t", "（x）", "甲", 100)
    assert highest_only([a, b]) is b


@pytest.mark.parametrize(
    "codes",
    [[], ["demo_enterprise_national", "demo_park_provincial"], ["overseas_o2o_shop", "overseas_warehouse"]],
)
def test_highest_only_rejects(codes):
    with pytest.raises(ValueError):
        highest_only([R[c] for c in codes])
