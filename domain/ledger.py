"""The grant ledger's rules: what a new grant may pay given what a recipient already holds, and
whether a list version may be finalized without contradicting the ledger.

The ledger (configstore.ledger) holds every grant that reached a final list or an approved
application: recipient, reward, year, amount, where it came from and its payment status. These
functions read it; they never change it.

Rules, one line each:
* Only live grants count (pending or paid); a revoked one counts for nothing.
* Same group ("同类型"), one-time rewards: a reward the recipient already holds, or a group member
  worth as much or more, is never granted again ("不重复计算").
* Same group, higher reward later: by default it pays the difference, so the recipient's total in
  the group equals the highest reward ("就高不就低"); the switchable policy pays it in full (the
  sales milestones keep that switch).
* Yearly rewards (the station rating, county subsidies) are compared within the same year only; a
  selection's prize (十佳/十大) stands on its own.
* A list version keeps every grant its earlier final versions put in the ledger: a line that
  carries ledger money may be flagged for review, never dropped or reduced by a recompute or an
  adjustment; finalizing a version that drops or reduces one, or that pays more than the rules
  above allow, is refused with the reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Iterable, Sequence

from domain.catalogue import Repeat, Reward, reward
from domain.money import format_yuan, require_fen

STATUSES = ("pending", "paid", "revoked")
STATUS_NAMES_ZH = {"pending": "待支付", "paid": "已支付", "revoked": "已撤销"}


class TopUpPolicy(Enum):
    # Default: a higher reward of the same group pays only the difference to what the recipient
    # already holds in the group, so the total equals the highest reward.
    PAY_DIFFERENCE = "pay_difference"
    # Alternative reading (sales milestones only): each higher tier is its own one-time reward and
    # is paid in full. Equal or lower tiers are still never paid again.
    PAY_FULL_HIGHER_TIER = "pay_full_higher_tier"


@dataclass(frozen=True)
class Grant:
    """A ledger entry as the rules see it."""

    recipient_id: str
    reward_code: str
    year: int
    amount_fen: int
    status: str = "pending"
    source: str = ""  # for people: "2023 年度电商企业年度销售额首次突破奖励第 1 版" / "申报 #12"
    list_scope: tuple[str, str, str] | None = None  # (kind, scope, scope_key) of the award list it came from
    entry_id: int | None = None

    def __post_init__(self) -> None:
        require_fen(self.amount_fen, "amount_fen")
        if self.status not in STATUSES:
            raise ValueError(f"unknown ledger status {self.status!r}")
        reward(self.reward_code)  # unknown codes fail here

    @property
    def reward(self) -> Reward:
        return reward(self.reward_code)

    @property
    def live(self) -> bool:
        return self.status != "revoked"


@dataclass(frozen=True)
class Outcome:
    """What granting a reward to a recipient pays now."""

    payable_fen: int
    superseded: bool  # True: nothing is paid, a same-or-higher reward of the group is already held
    held_fen: int  # what the recipient already holds in the group (live grants)
    reason: str
    by: Grant | None = None  # the grant that supersedes it


def _comparable(new: Reward, grant: Grant, year: int) -> bool:
    if new.repeat is Repeat.PER_LIST:
        return False
    return grant.live and grant.reward.group == new.group and (new.repeat is Repeat.ONCE or grant.year == year)


def _worth(r: Reward) -> tuple[int, int]:
    return (r.amount_fen if r.amount_fen is not None else 0, r.tier)


def same_type_outcome(new: Reward, held: Iterable[Grant], *, year: int, amount_fen: int | None = None,
                      policy: TopUpPolicy = TopUpPolicy.PAY_DIFFERENCE) -> Outcome:
    """The rule "同类型奖励、补助就高不就低，不重复计算" for one recipient.

    ``held``: the recipient's ledger grants (any group, any year; the others are ignored).
    ``amount_fen``: the amount of a reward the document leaves open (set at approval); fixed rewards
    take the catalogue's amount."""
    amount = new.amount_fen if new.fixed else amount_fen
    if amount is None:
        raise ValueError(f"{new.code}: the amount must be given (the document does not fix it)")
    require_fen(amount, "amount_fen")
    same = sorted((g for g in held if _comparable(new, g, year)), key=lambda g: (g.year, g.entry_id or 0))
    held_fen = sum(g.amount_fen for g in same)
    if same:
        best = max(same, key=lambda g: _worth(g.reward))
        if best.reward_code == new.code:
            return Outcome(0, True, held_fen, f"“{new.name}”已于{best.year}年度发放（{best.source or '奖励台账'}），"
                                              f"不重复计算", best)
        if not new.fixed or _worth(best.reward) >= _worth(new):
            return Outcome(0, True, held_fen,
                           f"已于{best.year}年度获得同类型的“{best.reward.name}”（{best.source or '奖励台账'}），"
                           f"就高不就低，不重复计算", best)
    if policy is TopUpPolicy.PAY_FULL_HIGHER_TIER or not held_fen:
        return Outcome(amount, False, held_fen, f"“{new.name}”，{format_yuan(amount)}")
    payable = amount - held_fen
    if payable <= 0:
        return Outcome(0, True, held_fen, f"同类型已累计发放{format_yuan(held_fen)}，不低于“{new.name}”"
                                          f"{format_yuan(amount)}，不重复计算")
    return Outcome(payable, False, held_fen, f"就高不就低：“{new.name}”{format_yuan(amount)}，扣除同类型已发放"
                                             f"{format_yuan(held_fen)}，补足差额{format_yuan(payable)}")


@dataclass(frozen=True)
class Line:
    """One money line of a list version about to be finalized."""

    recipient_id: str
    name: str
    reward_code: str  # the (highest) reward the line stands for
    amount_fen: int  # the line's total for this year: carried ledger money plus anything new
    included: bool = True


@dataclass(frozen=True)
class NewGrant:
    recipient_id: str
    name: str
    reward_code: str
    amount_fen: int


@dataclass(frozen=True)
class Check:
    conflicts: tuple[str, ...]  # refusals, in Chinese; empty = may be finalized
    new_grants: tuple[NewGrant, ...]  # what finalizing writes to the ledger


def check_version(scope: tuple[str, str, str], year: int, version: int, lines: Sequence[Line],
                  ledger: Iterable[Grant], *, policy: TopUpPolicy = TopUpPolicy.PAY_DIFFERENCE) -> Check:
    """May this version of a list (``scope`` = kind, scope, key) be finalized, and what does it add?"""
    grants = [g for g in ledger if g.live]
    carried: dict[str, list[Grant]] = {}
    for g in grants:
        if g.list_scope == scope:
            carried.setdefault(g.recipient_id, []).append(g)
    by_recipient = {line.recipient_id: line for line in lines}
    conflicts: list[str] = []
    for recipient, held in sorted(carried.items()):
        total = sum(g.amount_fen for g in held)
        what = "、".join(f"“{g.reward.name}”{format_yuan(g.amount_fen)}（{g.source}，{STATUS_NAMES_ZH[g.status]}）"
                        for g in held)
        line = by_recipient.get(recipient)
        if line is None or not line.included:
            conflicts.append(f"{line.name if line else recipient}的{what}已记入奖励台账；第 {version} 版"
                             f"{'删除了该行' if line is None else '移出了该行'}。台账记录不会因重新计算或调整而删除："
                             f"请保留该行（可标注复核意见），或由管理员在奖励台账中撤销该笔奖励并写明原因")
        elif line.amount_fen < total:
            conflicts.append(f"{line.name}的{what}已记入奖励台账；第 {version} 版将金额减为"
                             f"{format_yuan(line.amount_fen)}。已记入台账的金额不能减少：请恢复金额，"
                             f"或由管理员在奖励台账中撤销该笔奖励并写明原因")
    new_grants: list[NewGrant] = []
    for line in lines:
        if not line.included or line.amount_fen <= 0:
            continue
        kept = sum(g.amount_fen for g in carried.get(line.recipient_id, []))
        new_part = line.amount_fen - kept
        if new_part <= 0:
            continue
        held = [g for g in grants if g.recipient_id == line.recipient_id]
        outcome = same_type_outcome(reward(line.reward_code), held, year=year, amount_fen=line.amount_fen,
                                    policy=policy)
        if outcome.superseded:
            conflicts.append(f"{line.name}：{outcome.reason}；第 {version} 版再发{format_yuan(new_part)}将重复发放")
        elif new_part > outcome.payable_fen:
            conflicts.append(f"{line.name}：按“就高不就低”最多可再发{format_yuan(outcome.payable_fen)}"
                             f"（{outcome.reason}），第 {version} 版为{format_yuan(new_part)}")
        else:
            new_grants.append(NewGrant(line.recipient_id, line.name, line.reward_code, new_part))
    return Check(tuple(conflicts), tuple(new_grants))
