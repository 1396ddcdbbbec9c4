"""Award rules of 州政办发〔2018〕25号 (Xiangxi prefecture e-commerce policy measures).

Reading choices, made here once:

* "首次突破" (first breaks through) a sales threshold means annual sales STRICTLY above it;
  sales exactly equal to the threshold do not count.
* "首次" is tracked through grants: a tier counts as already reached once it was granted.
* "同类型奖励、补助就高不就低，不重复计算": the three sales milestones are one type, so one
  enterprise's milestone money never adds up beyond the highest tier it reached (default
  policy). Other rewards: each numbered clause of the document is one type, except clause
  (十七), which names two different things (an overseas O2O shop and an overseas warehouse)
  and is kept as two types.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from fractions import Fraction
from typing import Iterable, Mapping, Sequence

from domain.money import format_yuan, require_fen, wan_yuan
from domain.ranking import BoardEntry
from domain.regions import XIANGXI_COUNTY_CODES

# --------------------------------------------------------------------------------------
# One-time rewards and "same type, highest only".


@dataclass(frozen=True)
class OneTimeReward:
    code: str
    reward_type: str  # rewards sharing a type are never added up (highest only)
    clause: str  # clause of 州政办发〔2018〕25号
    label: str
    amount_fen: int


def _reward(code: str, reward_type: str, clause: str, label: str, amount_wan: int) -> OneTimeReward:
    return OneTimeReward(code, reward_type, clause, label, wan_yuan(amount_wan))


ONE_TIME_REWARDS: Mapping[str, OneTimeReward] = {
    r.code: r
    for r in (
        _reward("site_county_centre", "service_site_rating", "（一）", "县市区电商运营中心", 8),
        _reward("site_township_station", "service_site_rating", "（一）", "乡镇（街道）电商服务站", 3),
        _reward("site_village_point", "service_site_rating", "（一）", "村（社区）电商服务点", 1),
        _reward("xiangxi_pavilion_operator", "xiangxi_pavilion", "（二）", "“湘西馆”运营费用补贴", 50),
        _reward("self_built_platform", "self_built_platform", "（三）", "自建电子商务平台", 10),
        _reward("sales_milestone_1", "sales_milestone", "（四）", "年度销售额首次突破1000万元", 5),
        _reward("sales_milestone_2", "sales_milestone", "（四）", "年度销售额首次突破3000万元", 10),
        _reward("sales_milestone_3", "sales_milestone", "（四）", "年度销售额首次突破5000万元", 20),
        _reward("demo_enterprise_national", "demonstration_enterprise", "（五）", "国家级电子商务示范企业", 30),
        _reward("demo_enterprise_provincial", "demonstration_enterprise", "（五）", "省级电子商务示范企业", 20),
        _reward("ecommerce_park", "ecommerce_park", "（九）", "电子商务产业园区", 50),
        _reward("demo_park_national", "demonstration_park", "（十）", "国家级电子商务示范园区（基地）", 100),
        _reward("demo_park_provincial", "demonstration_park", "（十）", "省级电子商务示范园区（基地）", 50),
        _reward("demo_county_national", "demonstration_county", "（十一）", "国家级电子商务进农村综合示范县", 50),
        _reward("demo_county_provincial", "demonstration_county", "（十一）", "省级电子商务进农村综合示范县", 20),
        _reward("delivery_network", "delivery_network", "（十三）", "电子商务物流配送网络", 50),
        _reward("overseas_o2o_shop", "overseas_o2o_shop", "（十七）", "海外湘西特产O2O体验店", 10),
        _reward("overseas_warehouse", "overseas_warehouse", "（十七）", "海外托管仓", 10),
    )
}


def highest_only(rewards_of_same_type: Sequence[OneTimeReward]) -> OneTimeReward:
    """The one reward paid when a party qualifies for several of the same type.

    Equal amounts: the first by code, only so the answer is deterministic.
    """
    if not rewards_of_same_type:
        raise ValueError("highest_only needs at least one reward")
    types = {r.reward_type for r in rewards_of_same_type}
    if len(types) != 1:
        raise ValueError(f"rewards of different types cannot be compared: {sorted(types)}")
    return min(rewards_of_same_type, key=lambda r: (-r.amount_fen, r.code))


# --------------------------------------------------------------------------------------
# Enterprise sales milestones, clause (四).


@dataclass(frozen=True)
class MilestoneTier:
    tier: int
    threshold_fen: int  # annual sales must be strictly above this
    amount_fen: int
    threshold_label: str


MILESTONE_TIERS: tuple[MilestoneTier, ...] = (
    MilestoneTier(1, wan_yuan(1000), wan_yuan(5), "1000万元"),
    MilestoneTier(2, wan_yuan(3000), wan_yuan(10), "3000万元"),
    MilestoneTier(3, wan_yuan(5000), wan_yuan(20), "5000万元"),
)
_TIER_BY_NUMBER = {t.tier: t for t in MILESTONE_TIERS}


class MilestonePolicy(Enum):
    # Default: a higher tier reached later pays only the difference to what was already
    # paid, so the total equals the highest tier reached ("就高不就低，不重复计算").
    PAY_DIFFERENCE = "pay_difference"
    # Alternative reading: each tier is its own "首次突破" reward; a later higher tier pays
    # its whole amount. Lower or equal tiers are still never paid again.
    PAY_FULL_HIGHER_TIER = "pay_full_higher_tier"


@dataclass(frozen=True)
class EnterpriseYearSales:
    enterprise_id: str
    year: int
    # Online sales of the prefecture's farm products in that year, net of refunds.
    annual_sales_fen: int
    tax_compliant: bool

    def __post_init__(self) -> None:
        require_fen(self.annual_sales_fen, "annual_sales_fen")


@dataclass(frozen=True)
class MilestoneGrant:
    enterprise_id: str
    year: int
    tier: int
    amount_fen: int

    def __post_init__(self) -> None:
        require_fen(self.amount_fen, "amount_fen")
        if self.tier not in _TIER_BY_NUMBER:
            raise ValueError(f"unknown milestone tier {self.tier}")


@dataclass(frozen=True)
class MilestoneDecision:
    enterprise_id: str
    year: int
    annual_sales_fen: int
    reached_tier: int | None  # highest tier this year's sales pass, granted or not
    granted: bool
    tier: int | None  # tier granted (None when not granted)
    amount_fen: int  # 0 when not granted
    reason: str


def reached_tier(annual_sales_fen: int) -> MilestoneTier | None:
    """Highest tier whose threshold the sales strictly pass (two passed in one year -> the higher)."""
    passed = [t for t in MILESTONE_TIERS if annual_sales_fen > t.threshold_fen]
    return passed[-1] if passed else None


def milestone_decisions(
    year: int,
    sales: Iterable[EnterpriseYearSales],
    earlier_grants: Iterable[MilestoneGrant],
    *,
    policy: MilestonePolicy = MilestonePolicy.PAY_DIFFERENCE,
) -> list[MilestoneDecision]:
    """Decide the sales-milestone rewards for ``year``, one decision per enterprise with sales
    that year (sorted by enterprise id). Only grants of years before ``year`` count as
    earlier, so re-running a year gives the same answer."""
    rows: dict[str, EnterpriseYearSales] = {}
    for row in sales:
        if row.year != year:
            continue
        if row.enterprise_id in rows:
            raise ValueError(f"duplicate sales row for {row.enterprise_id} in {year}")
        rows[row.enterprise_id] = row
    grants_by_enterprise: dict[str, list[MilestoneGrant]] = {}
    for grant in earlier_grants:
        if grant.year < year:
            grants_by_enterprise.setdefault(grant.enterprise_id, []).append(grant)

    decisions = []
    for enterprise_id in sorted(rows):
        row = rows[enterprise_id]
        tier = reached_tier(row.annual_sales_fen)
        reached = tier.tier if tier else None

        def no(reason: str, enterprise_id: str = enterprise_id, row: EnterpriseYearSales = row,
               reached: int | None = reached) -> MilestoneDecision:
            return MilestoneDecision(enterprise_id, year, row.annual_sales_fen, reached, False, None, 0, reason)

        if tier is None:
            decisions.append(no(f"年度销售额{format_yuan(row.annual_sales_fen)}，未突破1000万元"))
            continue
        if not row.tax_compliant:
            decisions.append(no("未依法纳税，不予奖励"))
            continue
        grants = grants_by_enterprise.get(enterprise_id, [])
        best = max(grants, key=lambda g: g.tier, default=None)
        if best is not None and best.tier == tier.tier:
            decisions.append(no(f"突破{tier.threshold_label}档已于{best.year}年度奖励，不重复奖励"))
            continue
        if best is not None and best.tier > tier.tier:
            best_label = _TIER_BY_NUMBER[best.tier].threshold_label
            decisions.append(
                no(f"已于{best.year}年度获得更高档（突破{best_label}）奖励，就高不就低，不重复奖励")
            )
            continue

        paid_fen = sum(g.amount_fen for g in grants)
        if policy is MilestonePolicy.PAY_DIFFERENCE and paid_fen:
            amount = tier.amount_fen - paid_fen
            if amount <= 0:
                decisions.append(no(f"已累计奖励{format_yuan(paid_fen)}，不低于本档奖励，不重复奖励"))
                continue
            reason = (
                f"年度销售额首次突破{tier.threshold_label}，就高不就低：本档奖励"
                f"{format_yuan(tier.amount_fen)}，扣除已奖励{format_yuan(paid_fen)}，"
                f"补足差额{format_yuan(amount)}"
            )
        else:
            amount = tier.amount_fen
            reason = f"年度销售额首次突破{tier.threshold_label}，且依法纳税，奖励{format_yuan(amount)}"
        decisions.append(
            MilestoneDecision(enterprise_id, year, row.annual_sales_fen, tier.tier, True, tier.tier, amount, reason)
        )
    return decisions


@dataclass(frozen=True)
class ReviewFlag:
    """A granted milestone whose year's sales no longer pass its threshold.

    A prompt for organizers to review, never a revocation."""

    enterprise_id: str
    year: int
    tier: int
    granted_amount_fen: int
    threshold_fen: int
    current_sales_fen: int
    reason: str


def review_flags(
    grants: Iterable[MilestoneGrant], current_sales: Iterable[EnterpriseYearSales]
) -> list[ReviewFlag]:
    """Flag grants whose year's current (post-refund) sales are no longer above the tier's
    threshold. Grants with no sales row for their year are not judged."""
    sales_by_key = {(s.enterprise_id, s.year): s.annual_sales_fen for s in current_sales}
    flags = []
    for grant in sorted(grants, key=lambda g: (g.enterprise_id, g.year, g.tier)):
        current = sales_by_key.get((grant.enterprise_id, grant.year))
        tier = _TIER_BY_NUMBER[grant.tier]
        if current is None or current > tier.threshold_fen:
            continue
        flags.append(
            ReviewFlag(
                enterprise_id=grant.enterprise_id,
                year=grant.year,
                tier=grant.tier,
                granted_amount_fen=grant.amount_fen,
                threshold_fen=tier.threshold_fen,
                current_sales_fen=current,
                reason=(
                    f"退款后{grant.year}年度销售额为{format_yuan(current)}，未突破{tier.threshold_label}"
                    f"（该档已奖励{format_yuan(grant.amount_fen)}），请复核"
                ),
            )
        )
    return flags


# --------------------------------------------------------------------------------------
# Service-site rating, clause (一).
#
# Rule: within each level, composite score = 60 × (volume ÷ the highest volume among the
# level's eligible sites) + 40 % × quality score (0–100), so the best-selling site gets the
# full 60 points for volume and a perfect quality score adds 40. Higher composite ranks
# higher; equal composite -> higher volume; then station id ascending (deterministic only).
# The top QUOTA of each level are rewarded. A site without a quality score, or without
# transactions (volume <= 0), is not eligible and is listed with the reason.


class StationLevel(Enum):
    COUNTY_CENTRE = "county_centre"
    TOWNSHIP_STATION = "township_station"
    VILLAGE_POINT = "village_point"

    @property
    def label(self) -> str:
        return _STATION_LEVEL_INFO[self][0]

    @property
    def quota(self) -> int:
        return _STATION_LEVEL_INFO[self][1]

    @property
    def reward_fen(self) -> int:
        return _STATION_LEVEL_INFO[self][2]


_STATION_LEVEL_INFO = {
    StationLevel.COUNTY_CENTRE: ("县市区电商运营中心", 2, wan_yuan(8)),
    StationLevel.TOWNSHIP_STATION: ("乡镇（街道）电商服务站", 10, wan_yuan(3)),
    StationLevel.VILLAGE_POINT: ("村（社区）电商服务点", 10, wan_yuan(1)),
}
VOLUME_WEIGHT = Fraction(60)  # points for the level's best volume
QUALITY_WEIGHT = Fraction(2, 5)  # 0–100 quality -> 0–40 points


@dataclass(frozen=True)
class StationYear:
    station_id: str
    name: str
    level: StationLevel
    volume_fen: int  # transaction volume for the year
    quality_score: Decimal | int | None  # 0–100, entered by organizers; None = not entered

    def __post_init__(self) -> None:
        require_fen(self.volume_fen, "volume_fen")
        if isinstance(self.quality_score, float):
            raise TypeError("quality_score must be int or Decimal, not float")
        if self.quality_score is not None and not 0 <= self.quality_score <= 100:
            raise ValueError(f"{self.station_id}: quality_score must be within 0..100")


@dataclass(frozen=True)
class RankedStation:
    rank: int
    station_id: str
    name: str
    level: StationLevel
    volume_fen: int
    quality_score: Decimal | int
    composite_score: Fraction  # exact, used for ordering
    rewarded: bool
    reward_fen: int  # 0 when not rewarded

    @property
    def composite_display(self) -> Decimal:
        """Composite score rounded half up to 2 decimals, for lists handed to leaders."""
        exact = Decimal(self.composite_score.numerator) / Decimal(self.composite_score.denominator)
        return exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Ineligible:
    participant_id: str
    name: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class StationLevelResult:
    level: StationLevel
    ranked: tuple[RankedStation, ...]
    ineligible: tuple[Ineligible, ...]

    @property
    def rewarded(self) -> tuple[RankedStation, ...]:
        return tuple(s for s in self.ranked if s.rewarded)


def rank_stations(stations: Iterable[StationYear]) -> dict[StationLevel, StationLevelResult]:
    """Rate one year's service sites per level by the rule above."""
    by_level: dict[StationLevel, list[StationYear]] = {level: [] for level in StationLevel}
    seen: set[str] = set()
    for station in stations:
        if station.station_id in seen:
            raise ValueError(f"duplicate station_id {station.station_id!r}")
        seen.add(station.station_id)
        by_level[station.level].append(station)

    results = {}
    for level, members in by_level.items():
        eligible, ineligible = [], []
        for s in sorted(members, key=lambda s: s.station_id):
            reasons = []
            if s.quality_score is None:
                reasons.append("未录入服务质量评分")
            if s.volume_fen <= 0:
                reasons.append("无交易业绩")
            if reasons:
                ineligible.append(Ineligible(s.station_id, s.name, tuple(reasons)))
            else:
                eligible.append(s)
        top_volume = max((s.volume_fen for s in eligible), default=0)
        scored = [
            (VOLUME_WEIGHT * s.volume_fen / top_volume + QUALITY_WEIGHT * Fraction(s.quality_score), s)
            for s in eligible
        ]
        scored.sort(key=lambda pair: (-pair[0], -pair[1].volume_fen, pair[1].station_id))
        ranked = tuple(
            RankedStation(
                rank=rank,
                station_id=s.station_id,
                name=s.name,
                level=level,
                volume_fen=s.volume_fen,
                quality_score=s.quality_score,
                composite_score=score,
                rewarded=rank <= level.quota,
                reward_fen=level.reward_fen if rank <= level.quota else 0,
            )
            for rank, (score, s) in enumerate(scored, start=1)
        )
        results[level] = StationLevelResult(level, ranked, tuple(ineligible))
    return results


# --------------------------------------------------------------------------------------
# Selections: 十佳电商企业 and 十大电商达人.


class SelectionKind(Enum):
    TOP_ENTERPRISES = "top_enterprises"  # 十佳电商企业; must pay taxes
    TOP_INFLUENCERS = "top_influencers"  # 十大电商达人

    @property
    def label(self) -> str:
        return "十佳电商企业" if self is SelectionKind.TOP_ENTERPRISES else "十大电商达人"


@dataclass(frozen=True)
class CandidateFacts:
    participant_id: str
    county_code: str | None  # county-level division where registered; None = unknown
    tax_compliant: bool | None = None  # required True for enterprises; None = not confirmed
    disqualified_reason: str | None = None


@dataclass(frozen=True)
class SelectedCandidate:
    place: int  # 1..slots within the selection
    board_rank: int  # rank on the board it was selected from
    participant_id: str
    name: str
    net_gmv_fen: int
    order_count: int


@dataclass(frozen=True)
class Selection:
    kind: SelectionKind
    selected: tuple[SelectedCandidate, ...]
    ineligible: tuple[Ineligible, ...]  # every ineligible board entry, in board order


def ineligibility_reasons(
    entry: BoardEntry,
    facts: CandidateFacts | None,
    kind: SelectionKind,
    *,
    min_net_gmv_fen: int,
    min_order_count: int,
) -> tuple[str, ...]:
    reasons = []
    if facts is None or facts.county_code is None:
        reasons.append("缺少注册地信息")
    elif facts.county_code not in XIANGXI_COUNTY_CODES:
        reasons.append(f"注册地不在湘西州（区划代码{facts.county_code}）")
    if kind is SelectionKind.TOP_ENTERPRISES and (facts is None or facts.tax_compliant is not True):
        reasons.append("未依法纳税" if facts is not None and facts.tax_compliant is False else "未确认依法纳税")
    if facts is not None and facts.disqualified_reason:
        reasons.append(f"已取消资格：{facts.disqualified_reason}")
    if entry.net_gmv_fen < min_net_gmv_fen:
        reasons.append(
            f"净成交额{format_yuan(entry.net_gmv_fen)}，低于最低要求{format_yuan(min_net_gmv_fen)}"
        )
    if entry.order_count < min_order_count:
        reasons.append(f"订单数{entry.order_count}笔，低于最低要求{min_order_count}笔")
    return tuple(reasons)


def select_top(
    full_ranking: Sequence[BoardEntry],
    facts: Mapping[str, CandidateFacts],
    *,
    kind: SelectionKind,
    min_net_gmv_fen: int = 0,
    min_order_count: int = 0,
    slots: int = 10,
) -> Selection:
    """Take the first ``slots`` eligible entries of a full board (``rank_participants(...,
    limit=None)``, already in tie-break order); ineligible ones are skipped so the next
    eligible moves up."""
    require_fen(min_net_gmv_fen, "min_net_gmv_fen")
    selected: list[SelectedCandidate] = []
    ineligible: list[Ineligible] = []
    for entry in full_ranking:
        reasons = ineligibility_reasons(
            entry, facts.get(entry.participant_id), kind,
            min_net_gmv_fen=min_net_gmv_fen, min_order_count=min_order_count,
        )
        if reasons:
            ineligible.append(Ineligible(entry.participant_id, entry.name, reasons))
        elif len(selected) < slots:
            selected.append(
                SelectedCandidate(
                    place=len(selected) + 1,
                    board_rank=entry.rank,
                    participant_id=entry.participant_id,
                    name=entry.name,
                    net_gmv_fen=entry.net_gmv_fen,
                    order_count=entry.order_count,
                )
            )
    return Selection(kind, tuple(selected), tuple(ineligible))
