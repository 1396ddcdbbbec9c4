"""Milestones (clause 四) with the grant ledger and per-year tax status, station rating, selections."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import pytest

from domain.awards import (
    CARRIED,
    GRANTED,
    MILESTONE_TIERS,
    NOT_GRANTED,
    UNVERIFIED,
    XIANGXI_COUNTY_CODES,
    CandidateFacts,
    EnterpriseYearSales,
    Ineligible,
    ReviewFlag,
    SelectionKind,
    StationLevel,
    StationYear,
    TaxStatus,
    milestone_decisions,
    milestone_scope,
    rank_stations,
    review_flags,
    select_top,
)
from domain.ledger import Grant, TopUpPolicy
from domain.ranking import ParticipantTotals, rank_participants

DIFF = TopUpPolicy.PAY_DIFFERENCE
FULL = TopUpPolicy.PAY_FULL_HIGHER_TIER
OK, NO, UNKNOWN = TaxStatus.COMPLIANT, TaxStatus.NON_COMPLIANT, TaxStatus.UNVERIFIED

# Thresholds and amounts written out in fen so a wrong constant fails the tests.
T1, T2, T3 = 1_000_000_000, 3_000_000_000, 5_000_000_000  # 1000万 / 3000万 / 5000万 yuan
A1, A2, A3 = 5_000_000, 10_000_000, 20_000_000  # 5万 / 10万 / 20万 yuan
CODE = {1: "sales_milestone_1", 2: "sales_milestone_2", 3: "sales_milestone_3"}


def grant(year, tier, amount, recipient="ent-1", status="pending"):
    """A ledger grant from that year's final milestone list."""
    return Grant(recipient, CODE[tier], year, amount, status, f"{year} 年度名单第 1 版", milestone_scope(year))


def test_milestone_table():
    assert [(t.tier, t.threshold_fen, t.amount_fen, t.reward_code) for t in MILESTONE_TIERS] == [
        (1, T1, A1, "sales_milestone_1"), (2, T2, A2, "sales_milestone_2"), (3, T3, A3, "sales_milestone_3"),
    ]


@pytest.mark.parametrize(
    "sales_fen, tax, reached, outcome, amount, reason",
    [
        (0, OK, None, NOT_GRANTED, 0, "年度销售额0.00元，未突破1000万元"),
        (T1, OK, None, NOT_GRANTED, 0, "年度销售额10,000,000.00元，未突破1000万元"),  # equal is not 突破
        (T1 + 1, OK, 1, GRANTED, A1, "年度销售额首次突破1000万元，且依法纳税，奖励50,000.00元"),
        (T2, OK, 1, GRANTED, A1, "年度销售额首次突破1000万元，且依法纳税，奖励50,000.00元"),
        (T2 + 1, OK, 2, GRANTED, A2, "年度销售额首次突破3000万元，且依法纳税，奖励100,000.00元"),
        (T3, OK, 2, GRANTED, A2, "年度销售额首次突破3000万元，且依法纳税，奖励100,000.00元"),
        # crossing several thresholds in one year pays only the highest
        (T3 + 1, OK, 3, GRANTED, A3, "年度销售额首次突破5000万元，且依法纳税，奖励200,000.00元"),
        (9_000_000_000, OK, 3, GRANTED, A3, "年度销售额首次突破5000万元，且依法纳税，奖励200,000.00元"),
        (T3 + 1, NO, 3, NOT_GRANTED, 0, "未依法纳税，不予奖励"),
        (T1 + 1, NO, 1, NOT_GRANTED, 0, "未依法纳税，不予奖励"),
        # unknown tax status never grants: 待核实, with what is missing
        (T1 + 1, UNKNOWN, 1, UNVERIFIED, 0,
         "年度销售额10,000,000.01元，突破1000万元，但2026年度纳税状态未核实：待核实后重新计算"),
        (T1, UNKNOWN, None, NOT_GRANTED, 0, "年度销售额10,000,000.00元，未突破1000万元"),
    ],
)
def test_milestone_single_year(sales_fen, tax, reached, outcome, amount, reason):
    [decision] = milestone_decisions(2026, [EnterpriseYearSales("ent-1", 2026, sales_fen, tax)], [])
    assert (decision.reached_tier, decision.outcome, decision.amount_fen, decision.new_fen, decision.reason) == (
        reached, outcome, amount, amount, reason)
    assert decision.tier == (reached if outcome == GRANTED else None)
    assert decision.on_list == (outcome == GRANTED)
    assert decision.missing == (("2026年度依法纳税核实结果",) if outcome == UNVERIFIED else ())


def test_unknown_tax_status_is_the_default_and_never_grants():
    [decision] = milestone_decisions(2026, [EnterpriseYearSales("ent-1", 2026, T3 + 1)], [])
    assert (decision.outcome, decision.amount_fen, decision.on_list) == (UNVERIFIED, 0, False)


@pytest.mark.parametrize(
    "tax_by_year, expected",
    [
        # the status of the year decided counts, not another year's
        ({2025: OK, 2026: NO}, (NOT_GRANTED, 0)),
        ({2025: NO, 2026: OK}, (GRANTED, A1)),
        ({2025: OK, 2026: UNKNOWN}, (UNVERIFIED, 0)),
    ],
)
def test_tax_status_is_per_year(tax_by_year, expected):
    sales = [EnterpriseYearSales("ent-1", year, T1 + 1, tax) for year, tax in tax_by_year.items()]
    [decision] = milestone_decisions(2026, sales, [])
    assert (decision.outcome, decision.amount_fen) == expected


@pytest.mark.parametrize(
    "earlier, sales_fen, policy, expected",
    [
        # (outcome, line tier, new_fen, reason or None)
        pytest.param(
            [(2025, 1, A1)], T3 + 1, DIFF,
            (GRANTED, 3, 15_000_000,
             "年度销售额首次突破5000万元，就高不就低：本档奖励200,000.00元，扣除已奖励50,000.00元，补足差额150,000.00元"),
            id="tier1-then-tier3-difference",
        ),
        pytest.param(
            [(2025, 1, A1)], T3 + 1, FULL,
            (GRANTED, 3, A3, "年度销售额首次突破5000万元，且依法纳税，奖励200,000.00元"),
            id="tier1-then-tier3-full",
        ),
        pytest.param([(2025, 1, A1)], T2 + 1, DIFF, (GRANTED, 2, 5_000_000, None), id="tier1-then-tier2-difference"),
        pytest.param([(2025, 1, A1)], T2 + 1, FULL, (GRANTED, 2, A2, None), id="tier1-then-tier2-full"),
        pytest.param([(2024, 1, A1), (2025, 2, 5_000_000)], T3 + 1, DIFF, (GRANTED, 3, 10_000_000, None),
                     id="three-years-difference"),
        pytest.param([(2024, 1, A1), (2025, 2, A2)], T3 + 1, FULL, (GRANTED, 3, A3, None), id="three-years-full"),
        pytest.param([(2025, 2, A2)], T2 + 1, DIFF,
                     (NOT_GRANTED, None, 0, "突破3000万元档已于2025年度奖励，不重复奖励"), id="same-tier-again"),
        pytest.param([(2025, 2, A2)], T2 + 500, FULL,
                     (NOT_GRANTED, None, 0, "突破3000万元档已于2025年度奖励，不重复奖励"), id="same-tier-again-full"),
        pytest.param([(2025, 3, A3)], T1 + 1, DIFF,
                     (NOT_GRANTED, None, 0, "已于2025年度获得更高档（突破5000万元）奖励，就高不就低，不重复奖励"),
                     id="lower-after-higher"),
        pytest.param([(2025, 3, A3)], T2 + 1, FULL,
                     (NOT_GRANTED, None, 0, "已于2025年度获得更高档（突破5000万元）奖励，就高不就低，不重复奖励"),
                     id="lower-after-higher-full"),
        pytest.param([(2025, 1, A2)], T2 + 1, DIFF,  # an over-paid earlier grant leaves no difference
                     (NOT_GRANTED, None, 0, "已累计奖励100,000.00元，不低于本档奖励，不重复奖励"), id="no-difference-left"),
        # a LATER year's grant counts too: the ledger, not the calendar, says what was reached
        pytest.param([(2027, 1, A1)], T1 + 1, DIFF,
                     (NOT_GRANTED, None, 0, "突破1000万元档已于2027年度奖励，不重复奖励"), id="later-year-grant-counts"),
        pytest.param([(2025, 1, A1, "ent-1", "revoked")], T1 + 1, DIFF, (GRANTED, 1, A1, None), id="revoked-grant-counts-nothing"),
        pytest.param([(2025, 1, A1, "ent-1", "paid")], T1 + 1, DIFF, (NOT_GRANTED, None, 0, None), id="paid-grant-counts"),
        pytest.param([(2025, 1, A1)], T1, DIFF,
                     (NOT_GRANTED, None, 0, "年度销售额10,000,000.00元，未突破1000万元"), id="below-after-grant"),
    ],
)
def test_milestone_across_years(earlier, sales_fen, policy, expected):
    outcome, tier, new_fen, reason = expected
    ledger = [grant(*g) for g in earlier]
    [decision] = milestone_decisions(2026, [EnterpriseYearSales("ent-1", 2026, sales_fen, OK)], ledger, policy=policy)
    assert (decision.outcome, decision.tier, decision.new_fen) == (outcome, tier, new_fen)
    if reason is not None:
        assert decision.reason == reason


@pytest.mark.parametrize(
    "policy, expected_amounts",
    [(DIFF, [A1, 5_000_000, 10_000_000, 0]), (FULL, [A1, A2, A3, 0])],
)
def test_milestone_history_total_never_exceeds_highest_tier_by_default(policy, expected_amounts):
    yearly_sales = {2023: T1 + 1, 2024: T2 + 1, 2025: T3 + 1, 2026: T3 + 1}
    ledger: list[Grant] = []
    amounts = []
    for year, sales in yearly_sales.items():
        [decision] = milestone_decisions(year, [EnterpriseYearSales("ent-1", year, sales, OK)], ledger, policy=policy)
        amounts.append(decision.new_fen)
        if decision.new_fen:
            ledger.append(grant(year, decision.tier, decision.new_fen))
    assert amounts == expected_amounts
    assert sum(amounts) == {DIFF: A3, FULL: A1 + A2 + A3}[policy]


def test_recompute_of_a_year_keeps_its_ledger_line_with_a_flag():
    """Refunds took the year under the threshold after the grant: the line stays, flagged."""
    ledger = [grant(2023, 1, A1, "S8")]
    [decision] = milestone_decisions(2023, [EnterpriseYearSales("S8", 2023, 900_000_000, OK)], ledger)
    assert (decision.outcome, decision.tier, decision.amount_fen, decision.new_fen) == (CARRIED, 1, A1, 0)
    assert decision.on_list and decision.carried == tuple(ledger)
    assert decision.reason == "已记入奖励台账：“年度销售额首次突破1000万元”50,000.00元（2023 年度名单第 1 版，待支付）"
    assert decision.flags == ("退款后2023年度销售额为9,000,000.00元，未突破1000万元（该档已奖励50,000.00元，"
                              "已记入奖励台账：2023 年度名单第 1 版），请复核；台账记录保留，不因重新计算删除",)


def test_recompute_keeps_the_line_even_without_any_sales_row():
    [decision] = milestone_decisions(2023, [], [grant(2023, 2, A2, "S8")])
    assert (decision.enterprise_id, decision.outcome, decision.amount_fen, decision.annual_sales_fen) == (
        "S8", CARRIED, A2, 0)
    assert len(decision.flags) == 1


def test_recompute_flags_a_tax_status_turned_non_compliant():
    [decision] = milestone_decisions(2023, [EnterpriseYearSales("S8", 2023, T1 + 1, NO)], [grant(2023, 1, A1, "S8")])
    assert decision.outcome == CARRIED and decision.flags == (
        "2023年度纳税状态现为“未依法纳税”（突破1000万元档已奖励50,000.00元，已记入奖励台账），请复核",)


def test_recompute_of_a_year_that_now_reaches_a_higher_tier_adds_the_difference_to_the_line():
    [decision] = milestone_decisions(2023, [EnterpriseYearSales("S8", 2023, T2 + 1, OK)], [grant(2023, 1, A1, "S8")])
    assert (decision.outcome, decision.tier, decision.amount_fen, decision.new_fen) == (GRANTED, 2, A2, A2 - A1)
    assert decision.reason.startswith("已记入奖励台账：") and "补足差额50,000.00元" in decision.reason


def test_milestone_many_enterprises_sorted_and_other_years_ignored():
    sales = [
        EnterpriseYearSales("ent-b", 2026, T2 + 1, OK),
        EnterpriseYearSales("ent-a", 2026, T1 + 1, NO),
        EnterpriseYearSales("ent-a", 2025, T3 + 1, OK),  # other year: not decided now
        EnterpriseYearSales("ent-c", 2026, 12_345, OK),
    ]
    decisions = milestone_decisions(2026, sales, [grant(2025, 1, A1, "ent-c")])
    assert [(d.enterprise_id, d.outcome, d.amount_fen) for d in decisions] == [
        ("ent-a", NOT_GRANTED, 0),
        ("ent-b", GRANTED, A2),
        ("ent-c", NOT_GRANTED, 0),
    ]


def test_milestone_rejects_duplicates_and_bad_input():
    row = EnterpriseYearSales("ent-1", 2026, T1 + 1, OK)
    with pytest.raises(ValueError, match="duplicate"):
        milestone_decisions(2026, [row, row], [])
    with pytest.raises(TypeError):
        EnterpriseYearSales("ent-1", 2026, 1.0e9, OK)
    with pytest.raises(TypeError):
        EnterpriseYearSales("ent-1", 2026, 1, True)  # a bare bool is not a tax status
    with pytest.raises(ValueError):
        Grant("ent-1", "sales_milestone_4", 2025, A3)


@pytest.mark.parametrize(
    "granted, current_sales, expected",
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
def test_review_flags(granted, current_sales, expected):
    flags = review_flags([grant(*granted)], [EnterpriseYearSales("ent-1", y, s, OK) for y, s in current_sales])
    assert flags == ([] if expected is None else [expected])


def test_review_flags_only_for_the_affected_enterprise():
    ledger = [grant(2026, 1, A1, "ent-b"), grant(2026, 1, A1, "ent-a"), grant(2026, 1, A1, "ent-c", "revoked")]
    sales = [EnterpriseYearSales("ent-a", 2026, T1 + 1, OK), EnterpriseYearSales("ent-b", 2026, T1 - 1, OK),
             EnterpriseYearSales("ent-c", 2026, 0, OK)]
    assert [(f.enterprise_id, f.current_sales_fen) for f in review_flags(ledger, sales)] == [("ent-b", T1 - 1)]


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
    facts = {f"e{i:02d}": CandidateFacts(f"e{i:02d}", "433101", tax=OK) for i in range(1, 18)}
    facts["e02"] = CandidateFacts("e02", "430102", tax=OK)
    facts["e03"] = CandidateFacts("e03", "433126", tax=NO)
    facts["e04"] = CandidateFacts("e04", "433130", tax=OK, disqualified_reason="刷单")
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
        Ineligible("e05", "e05", ("缺少注册地信息", "纳税状态未核实（待核实）")),
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
