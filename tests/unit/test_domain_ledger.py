"""The grant ledger's rules, table-driven: the S8 sequence (no drop, no second payment, refused
finalize), a draft deciding nothing, and the finalize checks."""
import pytest

from domain.awards import (
    CARRIED,
    GRANTED,
    NOT_GRANTED,
    EnterpriseYearSales,
    TaxStatus,
    milestone_decisions,
    milestone_scope,
)
from domain.ledger import Grant, Line, TopUpPolicy, check_version
from domain.money import wan_yuan

OK = TaxStatus.COMPLIANT
W = wan_yuan(1)


class Books:
    """A tiny ledger the way configstore keeps it: only finalized versions write to it."""

    def __init__(self):
        self.grants: list[Grant] = []
        self.versions: dict[int, int] = {}

    def compute(self, year, sales, policy=TopUpPolicy.PAY_DIFFERENCE):
        rows = [EnterpriseYearSales(e, year, fen, OK) for e, fen in sales.items()]
        return milestone_decisions(year, rows, self.grants, policy=policy)

    def lines(self, decisions):
        return [Line(d.enterprise_id, d.enterprise_id, f"sales_milestone_{d.tier}", d.amount_fen)
                for d in decisions if d.on_list]

    def finalize(self, year, lines):
        version = self.versions.get(year, 0) + 1
        check = check_version(milestone_scope(year), year, version, lines, self.grants)
        if not check.conflicts:
            self.versions[year] = version
            self.grants += [Grant(g.recipient_id, g.reward_code, year, g.amount_fen, "pending",
                                  f"{year} 年度名单第 {version} 版", milestone_scope(year)) for g in check.new_grants]
        return check


def test_s8_sequence_no_drop_no_second_payment_refused_finalize():
    books = Books()
    # 2023: S8 passes 10 million yuan; the list is computed and finalized: 50,000 in the ledger
    v1 = books.compute(2023, {"S8": wan_yuan(1_000) + 1})
    assert [(d.enterprise_id, d.outcome, d.amount_fen) for d in v1] == [("S8", GRANTED, 5 * W)]
    assert books.finalize(2023, books.lines(v1)).conflicts == ()
    assert [(g.recipient_id, g.reward_code, g.year, g.amount_fen) for g in books.grants] == [
        ("S8", "sales_milestone_1", 2023, 5 * W)]

    # a refund takes 2023 to 9 million: version 2 keeps S8's line, flagged with the reason
    v2 = books.compute(2023, {"S8": wan_yuan(900)})
    [s8] = v2
    assert (s8.outcome, s8.tier, s8.amount_fen, s8.new_fen) == (CARRIED, 1, 5 * W, 0)
    assert "未突破1000万元" in s8.flags[0] and "请复核" in s8.flags[0]
    assert "未突破1000万元" not in s8.reason  # not listed as "under the threshold": it is on the list

    # version 2 as computed agrees with the ledger; with S8 removed or reduced it is refused
    assert books.finalize(2023, books.lines(v2)).conflicts == ()
    dropped = books.finalize(2023, [])
    assert len(dropped.conflicts) == 1 and "已记入奖励台账" in dropped.conflicts[0] and "删除了该行" in dropped.conflicts[0]
    removed = books.finalize(2023, [Line("S8", "S8", "sales_milestone_1", 5 * W, included=False)])
    assert "移出了该行" in removed.conflicts[0]
    reduced = books.finalize(2023, [Line("S8", "S8", "sales_milestone_1", 2 * W)])
    assert "将金额减为20,000.00元" in reduced.conflicts[0]
    assert len(books.grants) == 1  # nothing refused wrote anything

    # 2024: S8 sells 11 million: tier 1 is never granted again
    v2024 = books.compute(2024, {"S8": wan_yuan(1_100)})
    assert [(d.outcome, d.new_fen, d.reason) for d in v2024] == [
        (NOT_GRANTED, 0, "突破1000万元档已于2023年度奖励，不重复奖励")]
    # a 2024 list that pays S8 tier 1 anyway (a manual line) cannot be finalized
    forced = books.finalize(2024, [Line("S8", "S8", "sales_milestone_1", 5 * W)])
    assert forced.conflicts == ("S8：“年度销售额首次突破1000万元”已于2023年度发放（2023 年度名单第 1 版），不重复计算；"
                                "第 1 版再发50,000.00元将重复发放",)
    assert sum(g.amount_fen for g in books.grants if g.recipient_id == "S8") == 5 * W


def test_a_draft_decides_nothing_and_the_second_final_is_refused():
    books = Books()
    draft_2017 = books.compute(2017, {"E1": wan_yuan(1_200)})  # left in draft: not in the ledger
    assert [d.outcome for d in draft_2017] == [GRANTED]
    v2018 = books.compute(2018, {"E1": wan_yuan(1_300)})
    assert [(d.outcome, d.new_fen) for d in v2018] == [(GRANTED, 5 * W)]  # assumed: nothing granted in 2017
    assert books.finalize(2018, books.lines(v2018)).conflicts == ()
    late = books.finalize(2017, books.lines(draft_2017))  # finalizing the old draft now would pay twice
    assert late.conflicts and "已于2018年度发放" in late.conflicts[0]
    recomputed = books.compute(2017, {"E1": wan_yuan(1_200)})  # recomputing 2017 reads the ledger
    assert [(d.outcome, d.on_list) for d in recomputed] == [(NOT_GRANTED, False)]


@pytest.mark.parametrize(
    "ledger, lines, policy, conflicts, new",
    [
        pytest.param([], [("E1", 2, 10 * W)], "diff", 0, [("E1", 10 * W)], id="fresh-grant"),
        pytest.param([(2025, 1, 5 * W)], [("E1", 2, 5 * W)], "diff", 0, [("E1", 5 * W)], id="difference-ok"),
        pytest.param([(2025, 1, 5 * W)], [("E1", 2, 10 * W)], "diff", 1, [], id="full-amount-under-diff-refused"),
        pytest.param([(2025, 1, 5 * W)], [("E1", 2, 10 * W)], "full", 0, [("E1", 10 * W)], id="full-policy-ok"),
        pytest.param([(2025, 2, 10 * W)], [("E1", 1, 5 * W)], "full", 1, [], id="lower-after-higher-refused"),
        pytest.param([(2025, 1, 5 * W, "revoked")], [("E1", 1, 5 * W)], "diff", 0, [("E1", 5 * W)],
                     id="revoked-frees-the-tier"),
        pytest.param([], [("E1", 1, 0)], "diff", 0, [], id="zero-lines-write-nothing"),
    ],
)
def test_check_version(ledger, lines, policy, conflicts, new):
    grants = [Grant("E1", f"sales_milestone_{t}", y, a, *rest, source=f"{y}", list_scope=milestone_scope(y))
              for y, t, a, *rest in ledger]
    check = check_version(milestone_scope(2026), 2026, 1,
                          [Line(r, r, f"sales_milestone_{t}", a) for r, t, a in lines], grants,
                          policy=TopUpPolicy.PAY_DIFFERENCE if policy == "diff" else TopUpPolicy.PAY_FULL_HIGHER_TIER)
    assert len(check.conflicts) == conflicts
    assert [(g.recipient_id, g.amount_fen) for g in check.new_grants] == new


def test_station_rating_yearly_lines_are_carried_and_may_recur_in_another_year():
    scope = ("station_rating", "year", "2026")
    held = [Grant("17", "site_township_station", 2026, 3 * W, source="2026 第 1 版", list_scope=scope),
            Grant("17", "site_township_station", 2025, 3 * W, source="2025 第 1 版",
                  list_scope=("station_rating", "year", "2025"))]
    same = check_version(scope, 2026, 2, [Line("17", "乾州服务站", "site_township_station", 3 * W)], held)
    assert same.conflicts == () and same.new_grants == ()  # carried, nothing new
    dropped = check_version(scope, 2026, 2, [], held)
    assert len(dropped.conflicts) == 1
    next_year = check_version(("station_rating", "year", "2027"), 2027, 1,
                              [Line("17", "乾州服务站", "site_township_station", 3 * W)], held)
    assert next_year.conflicts == () and [g.amount_fen for g in next_year.new_grants] == [3 * W]
