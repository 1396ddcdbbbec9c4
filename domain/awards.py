"""Award rules of 州政办发〔2018〕25号 (Xiangxi prefecture e-commerce policy measures).

Reading choices, made here once:

* "首次突破" (first breaks through) a sales threshold means annual sales STRICTLY above it;
  sales exactly equal to the threshold do not count.
* "首次" is tracked through the grant ledger (domain.ledger): a tier counts as reached once it
  was granted on a final list, in any year; a draft, frozen or published-but-not-final list
  grants nothing yet.
* "且依法纳税" is a fact about the year: an enterprise's tax status is recorded per year as
  依法纳税, 未依法纳税 or 未核实. Only 依法纳税 grants; 未核实 (nothing recorded) never counts
  as compliant: the enterprise is listed as 待核实 with what is missing.
* "同类型奖励、补助就高不就低，不重复计算": the three sales milestones are one type; the rest of
  the catalogue and the reading of "type" are in domain.catalogue, the rule itself in
  domain.ledger.same_type_outcome.
* A recompute never drops ledger money: an enterprise whose grant for the year is in the ledger
  keeps its line, with a review flag and the reason when the year's figures no longer support it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from fractions import Fraction
from typing import Iterable, Mapping, Sequence

from domain.catalogue import MILESTONE_CODES, reward
from domain.ledger import STATUS_NAMES_ZH, Grant, TopUpPolicy, same_type_outcome
from domain.money import format_yuan, require_fen, wan_yuan
from domain.ranking import BoardEntry
from domain.regions import XIANGXI_COUNTY_CODES


class TaxStatus(Enum):
    COMPLIANT = "compliant"
    NON_COMPLIANT = "non_compliant"
    UNVERIFIED = "unverified"

    @property
    def label(self) -> str:
        return TAX_STATUS_NAMES_ZH[self.value]


TAX_STATUS_NAMES_ZH = {"compliant": "依法纳税", "non_compliant": "未依法纳税", "unverified": "未核实"}


# --------------------------------------------------------------------------------------
# Enterprise sales milestones, clause (四).


@dataclass(frozen=True)
class MilestoneTier:
    tier: int
    threshold_fen: int  # annual sales must be strictly above this
    amount_fen: int
    threshold_label: str

    @property
    def reward_code(self) -> str:
        return MILESTONE_CODES[self.tier]


MILESTONE_TIERS: tuple[MilestoneTier, ...] = (
    MilestoneTier(1, wan_yuan(1000), wan_yuan(5), "1000万元"),
    MilestoneTier(2, wan_yuan(3000), wan_yuan(10), "3000万元"),
    MilestoneTier(3, wan_yuan(5000), wan_yuan(20), "5000万元"),
)
TIER_BY_NUMBER = {t.tier: t for t in MILESTONE_TIERS}
_TIER_BY_CODE = {t.reward_code: t for t in MILESTONE_TIERS}
MILESTONE_GROUP = "sales_milestone"


def milestone_scope(year: int) -> tuple[str, str, str]:
    """The award list a year's milestone grants come from (its ledger entries carry this scope)."""
    return ("sales_milestone", "year", str(year))


@dataclass(frozen=True)
class EnterpriseYearSales:
    enterprise_id: str
    year: int
    # Online sales of the prefecture's farm products in that year, net of refunds.
    annual_sales_fen: int
    tax: TaxStatus = TaxStatus.UNVERIFIED  # that year's status

    def __post_init__(self) -> None:
        require_fen(self.annual_sales_fen, "annual_sales_fen")
        if not isinstance(self.tax, TaxStatus):
            raise TypeError("tax must be a TaxStatus")


GRANTED, CARRIED, NOT_GRANTED, UNVERIFIED = "granted", "carried", "not_granted", "unverified"


@dataclass(frozen=True)
class MilestoneDecision:
    enterprise_id: str
    year: int
    annual_sales_fen: int
    reached_tier: int | None  # highest tier this year's sales pass, granted or not
    outcome: str  # granted (new money now) | carried (ledger money only) | not_granted | unverified (待核实)
    tier: int | None  # the line's tier: the highest of the carried and the new grant; None without a line
    amount_fen: int  # the line's total for the year: carried ledger money + new_fen
    new_fen: int  # granted now, on top of what the ledger already holds for this year
    reason: str
    carried: tuple[Grant, ...] = ()  # this year's ledger grants the line keeps
    flags: tuple[str, ...] = ()  # review prompts (refunds, tax status) on carried grants
    missing: tuple[str, ...] = ()  # what a 待核实 enterprise lacks

    @property
    def on_list(self) -> bool:
        return self.outcome in (GRANTED, CARRIED)


def reached_tier(annual_sales_fen: int) -> MilestoneTier | None:
    """Highest tier whose threshold the sales strictly pass (two passed in one year -> the higher)."""
    passed = [t for t in MILESTONE_TIERS if annual_sales_fen > t.threshold_fen]
    return passed[-1] if passed else None


def _grant_text(g: Grant) -> str:
    return f"“{g.reward.name}”{format_yuan(g.amount_fen)}（{g.source or '奖励台账'}，{STATUS_NAMES_ZH[g.status]}）"


def _carried_flags(year: int, sales_fen: int, tax: TaxStatus, carried: Sequence[Grant]) -> tuple[str, ...]:
    flags = []
    for g in carried:
        tier = _TIER_BY_CODE[g.reward_code]
        if sales_fen <= tier.threshold_fen:
            flags.append(f"退款后{year}年度销售额为{format_yuan(sales_fen)}，未突破{tier.threshold_label}"
                         f"（该档已奖励{format_yuan(g.amount_fen)}，已记入奖励台账：{g.source or '奖励台账'}），请复核；"
                         f"台账记录保留，不因重新计算删除")
        if tax is TaxStatus.NON_COMPLIANT:
            flags.append(f"{year}年度纳税状态现为“未依法纳税”（突破{tier.threshold_label}档已奖励"
                         f"{format_yuan(g.amount_fen)}，已记入奖励台账），请复核")
    return tuple(flags)


def _superseded_reason(outcome, tier: MilestoneTier) -> str:
    by = outcome.by
    if by is not None and by.reward_code == tier.reward_code:
        return f"突破{tier.threshold_label}档已于{by.year}年度奖励，不重复奖励"
    if by is not None:
        return f"已于{by.year}年度获得更高档（突破{_TIER_BY_CODE[by.reward_code].threshold_label}）奖励，就高不就低，不重复奖励"
    return f"已累计奖励{format_yuan(outcome.held_fen)}，不低于本档奖励，不重复奖励"


def milestone_decisions(
    year: int,
    sales: Iterable[EnterpriseYearSales],
    ledger: Iterable[Grant],
    *,
    policy: TopUpPolicy = TopUpPolicy.PAY_DIFFERENCE,
) -> list[MilestoneDecision]:
    """Decide the sales-milestone rewards for ``year``: one decision per enterprise with sales that
    year or with this year's grants in the ledger, sorted by enterprise id.

    ``ledger``: every ledger grant (other groups are ignored). Grants of this year's own list are
    carried on the line whatever the sales are now; grants of any other year count as reached."""
    rows: dict[str, EnterpriseYearSales] = {}
    for row in sales:
        if row.year != year:
            continue
        if row.enterprise_id in rows:
            raise ValueError(f"duplicate sales row for {row.enterprise_id} in {year}")
        rows[row.enterprise_id] = row
    scope = milestone_scope(year)
    held_by: dict[str, list[Grant]] = {}
    for grant in ledger:
        if grant.live and grant.reward.group == MILESTONE_GROUP:
            held_by.setdefault(grant.recipient_id, []).append(grant)

    decisions = []
    carried_ids = {g.recipient_id for gs in held_by.values() for g in gs if g.list_scope == scope}
    for enterprise_id in sorted(set(rows) | carried_ids):
        row = rows.get(enterprise_id, EnterpriseYearSales(enterprise_id, year, 0))
        held = held_by.get(enterprise_id, [])
        carried = tuple(g for g in held if g.list_scope == scope)
        tier = reached_tier(row.annual_sales_fen)
        reached = tier.tier if tier else None
        new_fen = 0
        missing: tuple[str, ...] = ()
        granted: MilestoneTier | None = None  # the tier this computation pays (part of), if any
        if tier is None:
            reason, outcome = f"年度销售额{format_yuan(row.annual_sales_fen)}，未突破1000万元", NOT_GRANTED
        elif row.tax is TaxStatus.UNVERIFIED:
            missing = (f"{year}年度依法纳税核实结果",)
            reason, outcome = (f"年度销售额{format_yuan(row.annual_sales_fen)}，突破{tier.threshold_label}，"
                               f"但{year}年度纳税状态未核实：待核实后重新计算"), UNVERIFIED
        elif row.tax is TaxStatus.NON_COMPLIANT:
            reason, outcome = "未依法纳税，不予奖励", NOT_GRANTED
        else:
            decided = same_type_outcome(_reward_of(tier), held, year=year, policy=policy)
            if decided.superseded:
                reason, outcome = _superseded_reason(decided, tier), NOT_GRANTED
            else:
                new_fen, outcome = decided.payable_fen, GRANTED
                granted = tier if new_fen else None
                if decided.held_fen and policy is TopUpPolicy.PAY_DIFFERENCE:
                    reason = (f"年度销售额首次突破{tier.threshold_label}，就高不就低：本档奖励"
                              f"{format_yuan(tier.amount_fen)}，扣除已奖励{format_yuan(decided.held_fen)}，"
                              f"补足差额{format_yuan(new_fen)}")
                else:
                    reason = f"年度销售额首次突破{tier.threshold_label}，且依法纳税，奖励{format_yuan(new_fen)}"
        flags = _carried_flags(year, row.annual_sales_fen, row.tax, carried)
        if carried:
            kept = "；".join(_grant_text(g) for g in carried)
            reason = f"已记入奖励台账：{kept}" + (f"；本次新增：{reason}" if new_fen else "")
            outcome = GRANTED if new_fen else CARRIED
            tiers = [_TIER_BY_CODE[g.reward_code].tier for g in carried] + ([granted.tier] if granted else [])
            line_tier: int | None = max(tiers)
        else:
            line_tier = granted.tier if granted else None
        decisions.append(MilestoneDecision(
            enterprise_id, year, row.annual_sales_fen, reached, outcome, line_tier,
            sum(g.amount_fen for g in carried) + new_fen, new_fen, reason, carried, flags, missing))
    return decisions


def _reward_of(tier: MilestoneTier):
    return reward(tier.reward_code)


@dataclass(frozen=True)
class ReviewFlag:
    """A ledger milestone grant whose year's sales no longer pass its threshold.

    A prompt for organizers to review, never a revocation."""

    enterprise_id: str
    year: int
    tier: int
    granted_amount_fen: int
    threshold_fen: int
    current_sales_fen: int
    reason: str


def review_flags(grants: Iterable[Grant], current_sales: Iterable[EnterpriseYearSales]) -> list[ReviewFlag]:
    """Flag milestone grants whose year's current (post-refund) sales are no longer above the tier's
    threshold. Grants with no sales row for their year are not judged."""
    sales_by_key = {(s.enterprise_id, s.year): s.annual_sales_fen for s in current_sales}
    flags = []
    for grant in sorted((g for g in grants if g.live and g.reward_code in _TIER_BY_CODE),
                        key=lambda g: (g.recipient_id, g.year, g.reward_code)):
        current = sales_by_key.get((grant.recipient_id, grant.year))
        tier = _TIER_BY_CODE[grant.reward_code]
        if current is None or current > tier.threshold_fen:
            continue
        flags.append(ReviewFlag(
            enterprise_id=grant.recipient_id, year=grant.year, tier=tier.tier, granted_amount_fen=grant.amount_fen,
            threshold_fen=tier.threshold_fen, current_sales_fen=current,
            reason=(f"退款后{grant.year}年度销售额为{format_yuan(current)}，未突破{tier.threshold_label}"
                    f"（该档已奖励{format_yuan(grant.amount_fen)}），请复核")))
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
        eligible: list[tuple[StationYear, Decimal | int]] = []  # with its (recorded) quality score
        ineligible: list[Ineligible] = []
        for s in sorted(members, key=lambda s: s.station_id):
            reasons = []
            if s.quality_score is None:
                reasons.append("未录入服务质量评分")
            if s.volume_fen <= 0:
                reasons.append("无交易业绩")
            if reasons or s.quality_score is None:
                ineligible.append(Ineligible(s.station_id, s.name, tuple(reasons)))
            else:
                eligible.append((s, s.quality_score))
        top_volume = max((s.volume_fen for s, _ in eligible), default=0)
        scored = [
            (VOLUME_WEIGHT * s.volume_fen / top_volume + QUALITY_WEIGHT * Fraction(quality), s, quality)
            for s, quality in eligible
        ]
        scored.sort(key=lambda entry: (-entry[0], -entry[1].volume_fen, entry[1].station_id))
        ranked = tuple(
            RankedStation(
                rank=rank,
                station_id=s.station_id,
                name=s.name,
                level=level,
                volume_fen=s.volume_fen,
                quality_score=quality,
                composite_score=score,
                rewarded=rank <= level.quota,
                reward_fen=level.reward_fen if rank <= level.quota else 0,
            )
            for rank, (score, s, quality) in enumerate(scored, start=1)
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
    tax: TaxStatus | None = None  # enterprises: the status for the selection's year(s); must be compliant
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
    if kind is SelectionKind.TOP_ENTERPRISES and (facts is None or facts.tax is not TaxStatus.COMPLIANT):
        reasons.append("未依法纳税" if facts is not None and facts.tax is TaxStatus.NON_COMPLIANT
                       else "纳税状态未核实（待核实）")
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
