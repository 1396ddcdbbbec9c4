"""Every reward of seed 004 in the catalogue, and "同类型奖励、补助就高不就低，不重复计算" for each
same-type group, whichever way round the rewards come."""
import pytest

from domain.catalogue import CATALOGUE, Basis, Funding, Recipient, Repeat, applicable, group_members, reward
from domain.ledger import Grant, TopUpPolicy, same_type_outcome
from domain.money import wan_yuan

S, R, A, SEL = Basis.SALES, Basis.RATING, Basis.APPLICATION, Basis.SELECTION

TABLE = [
    # code, clause, amount (万元, None = set at approval), group, basis, recipient, funding, repeat
    ("site_county_centre", "（一）", 8, "service_site_rating", R, "station", "prefecture", "yearly"),
    ("site_township_station", "（一）", 3, "service_site_rating", R, "station", "prefecture", "yearly"),
    ("site_village_point", "（一）", 1, "service_site_rating", R, "station", "prefecture", "yearly"),
    ("xiangxi_pavilion_operator", "（二）", 50, "xiangxi_pavilion", A, "organisation", "prefecture", "once"),
    ("xiangxi_pavilion_branch", "（二）", None, "xiangxi_pavilion_branch", A, "enterprise", "county", "yearly"),
    ("self_built_platform", "（三）", 10, "self_built_platform", A, "enterprise", "prefecture", "once"),
    ("sales_milestone_1", "（四）", 5, "sales_milestone", S, "enterprise", "prefecture", "once"),
    ("sales_milestone_2", "（四）", 10, "sales_milestone", S, "enterprise", "prefecture", "once"),
    ("sales_milestone_3", "（四）", 20, "sales_milestone", S, "enterprise", "prefecture", "once"),
    ("local_sales_support", "（四）", None, "local_sales_support", A, "organisation", "county", "yearly"),
    ("demo_enterprise_national", "（五）", 30, "demonstration_enterprise", A, "enterprise", "prefecture", "once"),
    ("demo_enterprise_provincial", "（五）", 20, "demonstration_enterprise", A, "enterprise", "prefecture", "once"),
    ("ecommerce_park", "（九）", 50, "ecommerce_park", A, "organisation", "prefecture", "once"),
    ("demo_park_national", "（十）", 100, "demonstration_park", A, "organisation", "prefecture", "once"),
    ("demo_park_provincial", "（十）", 50, "demonstration_park", A, "organisation", "prefecture", "once"),
    ("demo_county_national", "（十一）", 50, "demonstration_county", A, "county", "prefecture", "once"),
    ("demo_county_provincial", "（十一）", 20, "demonstration_county", A, "county", "prefecture", "once"),
    ("delivery_network", "（十三）", 50, "delivery_network", A, "enterprise", "prefecture", "once"),
    ("industry_association", "（十六）", None, "industry_association", A, "organisation", "county", "yearly"),
    ("overseas_o2o_shop", "（十七）", 10, "overseas_o2o_shop", A, "enterprise", "prefecture", "once"),
    ("overseas_warehouse", "（十七）", 10, "overseas_warehouse", A, "enterprise", "prefecture", "once"),
    # the bureau's selections (seed 000): honours, a prize optional, each selection on its own
    ("selection_top_enterprises", "（评选）", None, "selection_top_enterprises", SEL, "enterprise", "prefecture",
     "per_list"),
    ("selection_top_influencers", "（评选）", None, "selection_top_influencers", SEL, "host", "prefecture", "per_list"),
]


@pytest.mark.parametrize("code, clause, amount_wan, group, basis, recipient, funding, repeat", TABLE)
def test_catalogue_entry(code, clause, amount_wan, group, basis, recipient, funding, repeat):
    r = reward(code)
    assert (r.clause, r.amount_fen, r.group, r.basis, r.recipient, r.funding, r.repeat) == (
        clause, None if amount_wan is None else wan_yuan(amount_wan), group, basis, Recipient(recipient),
        Funding(funding), Repeat(repeat))
    assert r.conditions and r.name and r.group_name
    assert r.as_dict()["code"] == code


def test_catalogue_is_complete_and_the_unknown_is_refused():
    assert [row[0] for row in TABLE] == list(CATALOGUE)
    assert {r.code for r in applicable()} == {row[0] for row in TABLE if row[4] is A}
    assert [r.code for r in group_members("demonstration_enterprise")] == [
        "demo_enterprise_national", "demo_enterprise_provincial"]
    with pytest.raises(ValueError):
        reward("no_such_reward")


def pay_in_order(claims, policy=TopUpPolicy.PAY_DIFFERENCE):
    """Claims (code, year[, amount]) decided one after the other for one recipient: what each pays."""
    held: list[Grant] = []
    paid = []
    for code, year, *amount in claims:
        outcome = same_type_outcome(reward(code), held, year=year, amount_fen=amount[0] if amount else None,
                                    policy=policy)
        paid.append(outcome.payable_fen)
        if outcome.payable_fen:
            held.append(Grant("R1", code, year, outcome.payable_fen, source=f"{year}"))
    return paid


@pytest.mark.parametrize(
    "claims, expected_wan",
    [
        # national + provincial demonstration enterprise: 30万 in total, never 50万
        ([("demo_enterprise_national", 2024), ("demo_enterprise_provincial", 2024)], [30, 0]),
        ([("demo_enterprise_provincial", 2023), ("demo_enterprise_national", 2024)], [20, 10]),
        ([("demo_park_national", 2024), ("demo_park_provincial", 2025)], [100, 0]),
        ([("demo_park_provincial", 2024), ("demo_park_national", 2025)], [50, 50]),
        ([("demo_county_provincial", 2019), ("demo_county_national", 2020)], [20, 30]),
        ([("demo_county_national", 2019), ("demo_county_provincial", 2020)], [50, 0]),
        # one-time rewards are never paid twice
        ([("self_built_platform", 2020), ("self_built_platform", 2021)], [10, 0]),
        ([("xiangxi_pavilion_operator", 2019), ("xiangxi_pavilion_operator", 2022)], [50, 0]),
        ([("ecommerce_park", 2019), ("ecommerce_park", 2020)], [50, 0]),
        ([("delivery_network", 2019), ("delivery_network", 2019)], [50, 0]),
        ([("overseas_o2o_shop", 2019), ("overseas_o2o_shop", 2021)], [10, 0]),
        ([("overseas_warehouse", 2019), ("overseas_warehouse", 2021)], [10, 0]),
        # different types add up: a park and a demonstration park, an O2O shop and a warehouse
        ([("ecommerce_park", 2019), ("demo_park_provincial", 2020)], [50, 50]),
        ([("overseas_o2o_shop", 2019), ("overseas_warehouse", 2019)], [10, 10]),
        ([("self_built_platform", 2019), ("demo_enterprise_provincial", 2019), ("delivery_network", 2019)],
         [10, 20, 50]),
        # sales milestones: one type, the highest tier in total
        ([("sales_milestone_1", 2019), ("sales_milestone_3", 2020), ("sales_milestone_2", 2021)], [5, 15, 0]),
        # the yearly station rating: once a year, again the next year
        ([("site_village_point", 2019), ("site_village_point", 2019), ("site_village_point", 2020)], [1, 0, 1]),
        ([("site_township_station", 2019), ("site_county_centre", 2019)], [3, 5]),
        # county money, amount set at approval: once a year per recipient
        ([("xiangxi_pavilion_branch", 2024, wan_yuan(3)), ("xiangxi_pavilion_branch", 2024, wan_yuan(2)),
          ("xiangxi_pavilion_branch", 2025, wan_yuan(2))], [3, 0, 2]),
        ([("local_sales_support", 2024, wan_yuan(1)), ("local_sales_support", 2025, wan_yuan(1))], [1, 1]),
        ([("industry_association", 2024, wan_yuan(6)), ("industry_association", 2024, wan_yuan(6))], [6, 0]),
        # two selections' prizes in one year both stand
        ([("selection_top_influencers", 2026, wan_yuan(1)), ("selection_top_influencers", 2026, wan_yuan(1))], [1, 1]),
    ],
)
def test_same_type_highest_only(claims, expected_wan):
    assert pay_in_order(claims) == [wan_yuan(w) for w in expected_wan]


def test_same_type_full_policy_pays_higher_tiers_in_full_but_never_a_lower_one():
    claims = [("sales_milestone_1", 2019), ("sales_milestone_2", 2020), ("sales_milestone_1", 2021)]
    assert pay_in_order(claims, TopUpPolicy.PAY_FULL_HIGHER_TIER) == [wan_yuan(5), wan_yuan(10), 0]


def test_same_type_reasons_and_superseding_grant():
    held = [Grant("R1", "demo_enterprise_national", 2024, wan_yuan(30), source="申报 #7")]
    outcome = same_type_outcome(reward("demo_enterprise_provincial"), held, year=2025)
    assert outcome.superseded and outcome.by == held[0]
    assert outcome.reason == "已于2024年度获得同类型的“国家级电子商务示范企业”（申报 #7），就高不就低，不重复计算"
    top_up = same_type_outcome(reward("demo_enterprise_national"),
                               [Grant("R1", "demo_enterprise_provincial", 2023, wan_yuan(20), source="申报 #3")], year=2024)
    assert (top_up.payable_fen, top_up.held_fen) == (wan_yuan(10), wan_yuan(20))
    assert top_up.reason == ("就高不就低：“国家级电子商务示范企业”300,000.00元，扣除同类型已发放200,000.00元，"
                             "补足差额100,000.00元")
    with pytest.raises(ValueError):  # an open amount must be given
        same_type_outcome(reward("industry_association"), [], year=2024)
