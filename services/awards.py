"""Award computations from data: pre-aggregate (analytics.awards) + registry facts + the pure rules
(domain.awards, domain.targets) -> lines stored as draft award lists (configstore.awards).

Reading choices made here:
* "annual online sales of the prefecture's farm products" = an enterprise's net sales (paid minus
  refunded) in the Shanghai calendar year, across every campaign, of products whose county is one of
  Xiangxi's 8 county-level units (the event's ``county``).
* Selections per campaign rank the campaign's board; per year they rank the year's sales across
  campaigns. Eligibility facts come from the registry: county of registration in Xiangxi,
  tax_compliant (enterprises), not disqualified (in the campaign; for a year, in any campaign that
  overlaps the year). Ineligible entries are kept on the list's params with their reasons.
* Station transaction volume: the figure organizers enter with the quality score; a county operation
  centre without an entered figure is credited with its county's net sales of the year.
* Target progress: each county region is credited with the net sales of products from that county
  (all campaigns, the year); everything rolls up the tree (州 counts as the "city" level).
"""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from analytics.awards import net_by_county
from analytics.boards import participant_totals
from configstore import awards as store_awards
from configstore import places, registry
from domain.awards import (
    MILESTONE_TIERS,
    CandidateFacts,
    EnterpriseYearSales,
    MilestonePolicy,
    SelectionKind,
    StationLevel,
    StationYear,
    milestone_decisions,
    rank_stations,
    review_flags,
    select_top,
)
from domain.money import require_fen
from domain.periods import year_period
from domain.regions import XIANGXI_COUNTY_CODES
from domain.targets import RegionNode, roll_up
from services.boards import compute_board

SELECTION_BOARDS = {"top_enterprises": "enterprises", "top_influencers": "hosts"}
_TIER_LABEL = {t.tier: t.threshold_label for t in MILESTONE_TIERS}
_REGION_LEVELS = {"prefecture": "city", "county": "county", "township": "township", "village": "village"}
XIANGXI_CODES = tuple(sorted(XIANGXI_COUNTY_CODES))


def _year(scope_key: str) -> int:
    if not (scope_key.isdigit() and len(scope_key) == 4):
        raise ValueError("year must be four digits")
    return int(scope_key)


def _campaigns_in_year(sessions, year: int) -> list[registry.CampaignInfo]:
    first, last = date(year, 1, 1), date(year, 12, 31)
    return [c for c in registry.all_campaigns(sessions) if c.first_day <= last and c.last_day >= first]


def _disqualified(sessions, board: str, scope: str, scope_key: str) -> dict[str, str]:
    if scope == "campaign":
        return registry.disqualified(sessions, scope_key, board)
    reasons: dict[str, str] = {}
    for campaign in _campaigns_in_year(sessions, _year(scope_key)):
        for pid, reason in registry.disqualified(sessions, campaign.slug, board).items():
            reasons.setdefault(pid, f"{campaign.name}：{reason}")
    return reasons


def _tax(sessions) -> dict[str, bool]:
    return {p["id"]: p["tax_compliant"] for p in registry.list_participants(sessions, "enterprises")}


def compute_selection(sessions: sessionmaker[Session], store, *, kind: str, scope: str, scope_key: str,
                      min_net_gmv_fen: int = 0, min_order_count: int = 0) -> tuple[list[dict], dict[str, Any]]:
    """十佳电商企业 / 十大电商达人 for a campaign or a year: (lines, params)."""
    require_fen(min_net_gmv_fen, "min_net_gmv_fen")
    board = SELECTION_BOARDS[kind]
    if scope == "campaign":
        campaign = registry.get_campaign(sessions, scope_key)
        if campaign is None:
            raise store_awards.NotFound("campaign_not_found", f"活动 {scope_key} 不存在")
        first, last, campaign_slug = campaign.first_day, campaign.last_day, campaign.slug
        campaign_name = campaign.name
    else:
        period = year_period(_year(scope_key))
        first, last, campaign_slug, campaign_name = period.first_day, period.last_day, None, None
    # disqualified participants stay on the board here: select_top lists them as ineligible, with the reason
    ranking = compute_board(sessions, store, dimension=board, first_day=first, last_day=last, campaign=campaign_slug,
                            drop_disqualified=False, buyers_for_top=0).entries
    counties = registry.counties(sessions, board)
    tax = _tax(sessions) if board == "enterprises" else {}
    disqualified = _disqualified(sessions, board, scope, scope_key)
    facts = {e.participant_id: CandidateFacts(e.participant_id, counties.get(e.participant_id) or None,
                                              tax.get(e.participant_id) if board == "enterprises" else None,
                                              disqualified.get(e.participant_id)) for e in ranking}
    selection_kind = SelectionKind(kind)
    selection = select_top(ranking, facts, kind=selection_kind, min_net_gmv_fen=min_net_gmv_fen,
                           min_order_count=min_order_count)
    lines = [{"participant_id": s.participant_id, "name": s.name, "category": selection_kind.label,
              "amount_fen": 0, "metric_fen": s.net_gmv_fen,
              "detail": {"place": s.place, "board_rank": s.board_rank, "order_count": s.order_count}}
             for s in selection.selected]
    params = {"min_net_gmv_fen": min_net_gmv_fen, "min_order_count": min_order_count, "campaign_name": campaign_name,
              "first_day": first.isoformat(), "last_day": last.isoformat(),
              "ineligible": [{"participant_id": i.participant_id, "name": i.name, "reasons": list(i.reasons)}
                             for i in selection.ineligible]}
    return lines, params


def enterprise_year_sales(sessions, store, year: int) -> list[EnterpriseYearSales]:
    period = year_period(year)
    totals = participant_totals(store, board="enterprises", first_day=period.first_day, last_day=period.last_day,
                                   attribution=registry.attribution(sessions, "enterprises"), counties=XIANGXI_CODES)
    tax = _tax(sessions)
    return [EnterpriseYearSales(t.participant_id, year, t.net_gmv_fen, bool(tax.get(t.participant_id)))
            for t in totals if t.participant_id]


def compute_milestones(sessions: sessionmaker[Session], store, *, year: int,
                       policy: MilestonePolicy = MilestonePolicy.PAY_DIFFERENCE) -> tuple[list[dict], dict[str, Any]]:
    """Clause (四) for one year, with grants of earlier years taken from final lists."""
    sales = enterprise_year_sales(sessions, store, year)
    grants = store_awards.milestone_grants(sessions)
    disqualified = _disqualified(sessions, "enterprises", "year", str(year))
    decisions = milestone_decisions(year, [s for s in sales if s.enterprise_id not in disqualified], grants,
                                    policy=policy)
    names = registry.names(sessions, "enterprises")
    lines = [{"participant_id": d.enterprise_id, "name": names.get(d.enterprise_id, d.enterprise_id),
              "category": f"突破{_TIER_LABEL[d.tier]}", "amount_fen": d.amount_fen, "metric_fen": d.annual_sales_fen,
              "detail": {"tier": d.tier, "reason": d.reason}} for d in decisions if d.granted]
    earlier_years = sorted({g.year for g in grants if g.year < year})
    current = [s for y in earlier_years for s in enterprise_year_sales(sessions, store, y)]
    flags = review_flags([g for g in grants if g.year < year], current)
    params = {"policy": policy.value,
              "not_granted": [{"participant_id": d.enterprise_id, "name": names.get(d.enterprise_id, d.enterprise_id),
                               "annual_sales_fen": d.annual_sales_fen, "reason": d.reason}
                              for d in decisions if not d.granted]
                             + [{"participant_id": pid, "name": names.get(pid, pid), "annual_sales_fen": None,
                                 "reason": f"已取消资格：{reason}"} for pid, reason in sorted(disqualified.items())
                                if any(s.enterprise_id == pid for s in sales)],
              "review_flags": [{"participant_id": f.enterprise_id, "year": f.year, "tier": f.tier,
                                "granted_amount_fen": f.granted_amount_fen, "current_sales_fen": f.current_sales_fen,
                                "reason": f.reason} for f in flags]}
    return lines, params


def compute_stations(sessions: sessionmaker[Session], store, *, year: int) -> tuple[list[dict], dict[str, Any]]:
    """Clause (一): 2 county centres, 10 township stations, 10 village points per year."""
    scores = store_awards.station_scores(sessions, year)
    period = year_period(year)
    county_net = net_by_county(store, first_day=period.first_day, last_day=period.last_day)
    stations = []
    for s in places.list_stations(sessions):
        quality, volume = scores.get(s["id"], (None, None))
        if volume is None:
            volume = county_net.get(s["region_code"], 0) if s["kind"] == "county_centre" else 0
        stations.append(StationYear(str(s["id"]), s["name"], StationLevel(s["kind"]), volume, quality))
    results = rank_stations(stations)
    lines, others = [], []
    for level in StationLevel:
        result = results[level]
        for r in result.ranked:
            row = {"participant_id": r.station_id, "name": r.name, "category": level.label,
                   "amount_fen": r.reward_fen, "metric_fen": r.volume_fen,
                   "detail": {"level": level.value, "rank": r.rank, "quality_score": str(r.quality_score),
                              "composite_score": str(r.composite_display)}}
            (lines if r.rewarded else others).append(row)
        others += [{"participant_id": i.participant_id, "name": i.name, "category": level.label,
                    "reasons": list(i.reasons)} for i in result.ineligible]
    return lines, {"not_rewarded": others}


def compute_and_store(sessions: sessionmaker[Session], store, *, kind: str, scope: str, scope_key: str,
                      min_net_gmv_fen: int = 0, min_order_count: int = 0,
                      policy: str = MilestonePolicy.PAY_DIFFERENCE.value) -> dict:
    """Compute one list and store it as a draft (see configstore.awards.save_computed)."""
    store_awards._validate_scope(kind, scope, scope_key)
    if kind in SELECTION_BOARDS:
        lines, params = compute_selection(sessions, store, kind=kind, scope=scope, scope_key=scope_key,
                                          min_net_gmv_fen=min_net_gmv_fen, min_order_count=min_order_count)
    elif kind == "sales_milestone":
        try:
            chosen = MilestonePolicy(policy)
        except ValueError:
            raise store_awards.ConfigError("invalid_policy", "补差政策只能是 pay_difference（补足差额，默认）或 "
                                                             "pay_full_higher_tier（高档全额）") from None
        lines, params = compute_milestones(sessions, store, year=_year(scope_key), policy=chosen)
    else:
        lines, params = compute_stations(sessions, store, year=_year(scope_key))
    return store_awards.save_computed(sessions, kind=kind, scope=scope, scope_key=scope_key, items=lines,
                                      params=params)


def target_progress(sessions: sessionmaker[Session], store, *, year: int) -> dict[str, Any]:
    """Every region with its target (if set), its sales and "完成年度任务的 X%"."""
    regions = places.list_regions(sessions)
    codes = {r["code"] for r in regions}
    goals = store_awards.targets(sessions, year)
    period = year_period(year)
    by_county = net_by_county(store, first_day=period.first_day, last_day=period.last_day)
    credited = {code: net for code, net in by_county.items() if code in codes}
    nodes = [RegionNode(r["code"], r["name"], _REGION_LEVELS[r["level"]], r["parent_code"], goals.get(r["code"]))
             for r in regions]
    progress = roll_up(nodes, credited)
    return {"year": year, "uncredited_fen": sum(net for code, net in by_county.items() if code not in codes),
            "regions": [{"code": p.code, "name": p.name, "level": p.level, "parent_code": p.parent_code,
                         "annual_target_fen": p.annual_target_fen, "direct_sales_fen": p.direct_sales_fen,
                         "actual_sales_fen": p.actual_sales_fen,
                         "percent": str(p.percent) if p.percent is not None else None, "label": p.label}
                        for p in progress.values()]}
