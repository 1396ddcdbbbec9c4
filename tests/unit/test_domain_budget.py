"""Budgets of clause (十八): defaults, the county floor, committed and paid, warnings."""
import pytest

from domain.budget import (
    DEFAULT_PREFECTURE_BUDGET_FEN,
    MIN_COUNTY_BUDGET_FEN,
    PREFECTURE,
    Charge,
    approval_warning,
    budget_error,
    budget_lines,
)
from domain.money import wan_yuan

HOLDERS = {PREFECTURE: "州级专项资金", "433101": "吉首市"}


def test_defaults_are_the_documents_figures():
    assert (DEFAULT_PREFECTURE_BUDGET_FEN, MIN_COUNTY_BUDGET_FEN) == (wan_yuan(1000), wan_yuan(500))
    lines = budget_lines(2026, HOLDERS, {}, [])
    assert [(l.holder, l.budget_fen, l.committed_fen, l.default) for l in lines] == [
        (PREFECTURE, wan_yuan(1000), 0, True), ("433101", wan_yuan(500), 0, True)]


def test_committed_and_paid_per_holder_and_year():
    charges = [Charge(PREFECTURE, 2026, wan_yuan(30), "pending"), Charge(PREFECTURE, 2026, wan_yuan(5), "paid"),
               Charge(PREFECTURE, 2026, wan_yuan(50), "revoked"), Charge(PREFECTURE, 2025, wan_yuan(7), "paid"),
               Charge("433101", 2026, wan_yuan(3), "paid")]
    prefecture, county = budget_lines(2026, HOLDERS, {PREFECTURE: wan_yuan(900)}, charges)
    assert (prefecture.budget_fen, prefecture.committed_fen, prefecture.paid_fen, prefecture.unpaid_fen,
            prefecture.remaining_fen, prefecture.default) == (
        wan_yuan(900), wan_yuan(35), wan_yuan(5), wan_yuan(30), wan_yuan(865), False)
    assert (county.committed_fen, county.paid_fen, county.over) == (wan_yuan(3), wan_yuan(3), False)


@pytest.mark.parametrize(
    "budget_wan, committed_wan, amount_wan, warning",
    [
        (1000, 900, 100, None),  # exactly the budget: fits
        (1000, 900, 101, "州级专项资金2026年度预算10,000,000.00元，已承诺9,000,000.00元，本次1,010,000.00元后合计"
                         "10,010,000.00元，将超出预算10,000.00元"),
        (1000, 1200, 1, "州级专项资金2026年度预算10,000,000.00元，已承诺12,000,000.00元，本次10,000.00元后合计"
                        "12,010,000.00元，将超出预算2,010,000.00元"),
    ],
)
def test_approval_warning(budget_wan, committed_wan, amount_wan, warning):
    [line] = budget_lines(2026, {PREFECTURE: "州级专项资金"}, {PREFECTURE: wan_yuan(budget_wan)},
                          [Charge(PREFECTURE, 2026, wan_yuan(committed_wan), "pending")])
    assert approval_warning(line, wan_yuan(amount_wan)) == warning
    assert line.as_dict()["over"] == (committed_wan > budget_wan)
    assert (line.as_dict()["warning"] is not None) == (committed_wan > budget_wan)


@pytest.mark.parametrize(
    "holder, amount, error",
    [
        (PREFECTURE, wan_yuan(800), None),  # the prefecture may set another figure
        ("433101", wan_yuan(500), None),
        ("433101", wan_yuan(600), None),
        ("433101", wan_yuan(499), "县市电子商务发展专项资金额度不少于5,000,000.00元（州政办发〔2018〕25号第（十八）条），"
                                  "不能设为4,990,000.00元"),
        (PREFECTURE, 0, "预算金额应大于 0"),
    ],
)
def test_budget_error(holder, amount, error):
    assert budget_error(holder, amount) == error
