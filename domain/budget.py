"""Budgets of clause (十八): the prefecture's special fund (1000 万元 a year) and each county's own
fund (at least 500 万元 a year), against what approvals committed and what was paid.

Committed = every live ledger grant charged to the fund for the year (pending or paid); paid = those
marked paid. A revoked grant is neither. An approval that would take committed past the budget
gets a warning with the figures; it is the approver's call (recorded with the approval)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from domain.money import format_yuan, require_fen, wan_yuan

PREFECTURE = "prefecture"
DEFAULT_PREFECTURE_BUDGET_FEN = wan_yuan(1000)
MIN_COUNTY_BUDGET_FEN = wan_yuan(500)  # "额度不少于 500 万元": the default and the floor


@dataclass(frozen=True)
class Charge:
    holder: str  # PREFECTURE or a county code
    year: int
    amount_fen: int
    status: str  # pending | paid | revoked

    def __post_init__(self) -> None:
        require_fen(self.amount_fen, "amount_fen")


@dataclass(frozen=True)
class BudgetLine:
    holder: str
    name: str
    year: int
    budget_fen: int
    committed_fen: int
    paid_fen: int
    default: bool  # True: no budget entered for the year, the document's figure is used

    @property
    def remaining_fen(self) -> int:
        return self.budget_fen - self.committed_fen

    @property
    def unpaid_fen(self) -> int:
        return self.committed_fen - self.paid_fen

    @property
    def over(self) -> bool:
        return self.committed_fen > self.budget_fen

    def as_dict(self) -> dict:
        return {"holder": self.holder, "name": self.name, "year": self.year, "budget_fen": self.budget_fen,
                "committed_fen": self.committed_fen, "paid_fen": self.paid_fen, "unpaid_fen": self.unpaid_fen,
                "remaining_fen": self.remaining_fen, "over": self.over, "default": self.default,
                "warning": over_budget_text(self) if self.over else None}


def default_budget(holder: str) -> int:
    return DEFAULT_PREFECTURE_BUDGET_FEN if holder == PREFECTURE else MIN_COUNTY_BUDGET_FEN


def budget_error(holder: str, amount_fen: int) -> str | None:
    """Why a budget figure cannot be set (Chinese), or None."""
    require_fen(amount_fen, "amount_fen")
    if amount_fen <= 0:
        return "预算金额应大于 0"
    if holder != PREFECTURE and amount_fen < MIN_COUNTY_BUDGET_FEN:
        return (f"县市电子商务发展专项资金额度不少于{format_yuan(MIN_COUNTY_BUDGET_FEN)}"
                f"（州政办发〔2018〕25号第（十八）条），不能设为{format_yuan(amount_fen)}")
    return None


def budget_lines(year: int, holders: Mapping[str, str], budgets: Mapping[str, int],
                 charges: Iterable[Charge]) -> list[BudgetLine]:
    """One line per holder (``holders``: code -> name, in display order) for ``year``."""
    committed: dict[str, int] = {}
    paid: dict[str, int] = {}
    for charge in charges:
        if charge.year != year or charge.status == "revoked":
            continue
        committed[charge.holder] = committed.get(charge.holder, 0) + charge.amount_fen
        if charge.status == "paid":
            paid[charge.holder] = paid.get(charge.holder, 0) + charge.amount_fen
    return [BudgetLine(holder, name, year, budgets.get(holder, default_budget(holder)), committed.get(holder, 0),
                       paid.get(holder, 0), holder not in budgets) for holder, name in holders.items()]


def over_budget_text(line: BudgetLine) -> str:
    return (f"{line.name}{line.year}年度预算{format_yuan(line.budget_fen)}，已承诺{format_yuan(line.committed_fen)}，"
            f"超出预算{format_yuan(line.committed_fen - line.budget_fen)}")


def approval_warning(line: BudgetLine, amount_fen: int) -> str | None:
    """The warning an approval of ``amount_fen`` against this fund needs, or None when it fits."""
    require_fen(amount_fen, "amount_fen")
    after = line.committed_fen + amount_fen
    if after <= line.budget_fen:
        return None
    return (f"{line.name}{line.year}年度预算{format_yuan(line.budget_fen)}，已承诺{format_yuan(line.committed_fen)}，"
            f"本次{format_yuan(amount_fen)}后合计{format_yuan(after)}，将超出预算{format_yuan(after - line.budget_fen)}")
