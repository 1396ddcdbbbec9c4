"""Award computations from data: pre-aggregate (analytics.awards) + registry facts + the grant ledger
+ the pure rules (domain.awards, domain.ledger, domain.regions, domain.targets) -> lines stored as draft
award lists (configstore.awards), and the workflow step that tells the winners.

Reading choices made here:
* "annual online sales of the prefecture's farm products" = an enterprise's net sales (paid minus
  refunded) in the Shanghai calendar year, across every campaign, of products whose county is one of
  Xiangxi's 8 county-level units (the event's ``county``).
* Tax status is the recorded status of the year decided (configstore.tax); a selection over a
  campaign needs every year the campaign touches to be 依法纳税.
* Only final lists write the ledger. Computing milestones for a year whose previous year has no final
  list warns and states the assumption (nothing was granted that year); enterprises that a non-final
  list of another year also grants are named, since only one of the two can ever be finalized.
* Selections per campaign rank the campaign's board; per year they rank the year's sales across
  campaigns. Eligibility facts come from the registry: county of registration in Xiangxi, tax status
  (enterprises), not disqualified (in the campaign; for a year, in any campaign that overlaps the
  year). Ineligible entries are kept on the list's params with their reasons.
* Sales are credited to the most precise region known (domain.regions.credited_region) and rolled up
  the tree from the village to the province; a station's transaction volume is the sales credited
  to its area (its region and everything below it). Organizers enter only the quality score.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Callable

from sqlalchemy.orm import Session, sessionmaker

from analytics.awards import sales_by_place
from analytics.boards import participant_totals
from configstore import awards as store_awards
from configstore import ledger, places, registry, tax
from domain.awards import (
    TIER_BY_NUMBER,
    CandidateFacts,
    EnterpriseYearSales,
    SelectionKind,
    StationLevel,
    StationYear,
    TaxStatus,
    milestone_decisions,
    rank_stations,
    review_flags,
    select_top,
)
from domain.catalogue import STATION_CODES
from domain.ledger import TopUpPolicy
from domain.money import format_yuan, require_fen
from domain.periods import year_period
from domain.regions import XIANGXI_COUNTY_CODES, credit_sales
from domain.targets import RegionNode, roll_up
from services.boards import compute_board

SELECTION_BOARDS = {"top_enterprises": "enterprises", "top_influencers": "hosts"}
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


def _tax_over(sessions, years: range) -> dict[str, TaxStatus]:
    """Each enterprise's status over several years: compliant only if compliant in every one."""
    worst: dict[str, TaxStatus] = {}
    order = (TaxStatus.COMPLIANT, TaxStatus.UNVERIFIED, TaxStatus.NON_COMPLIANT)
    for year in years:
        for pid, status in tax.statuses(sessions, year).items():
            if order.index(status) >= order.index(worst.get(pid, TaxStatus.COMPLIANT)):
                worst[pid] = status
    return worst


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
    taxes = _tax_over(sessions, range(first.year, last.year + 1)) if board == "enterprises" else {}
    disqualified = _disqualified(sessions, board, scope, scope_key)
    facts = {e.participant_id: CandidateFacts(e.participant_id, counties.get(e.participant_id) or None,
                                              taxes.get(e.participant_id) if board == "enterprises" else None,
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
    statuses = tax.statuses(sessions, year)
    return [EnterpriseYearSales(t.participant_id, year, t.net_gmv_fen,
                                statuses.get(t.participant_id, TaxStatus.UNVERIFIED))
            for t in totals if t.participant_id]


def _previous_year_warning(sessions, year: int) -> str | None:
    previous = [row for row in store_awards.list_lists(sessions, kind="sales_milestone", scope="year",
                                                       scope_key=str(year - 1))]
    if any(row["state"] == "final" for row in previous):
        return None
    if previous:
        latest = previous[-1]
        where = f"当前为第 {latest['version']} 版{latest['state_name']}"
    else:
        where = "尚未计算"
    return (f"{year - 1} 年度的销售额奖励名单尚未定稿（{where}）。只有已定稿名单记入奖励台账：本次计算假定 {year - 1} "
            f"年度未发放任何销售额奖励；{year - 1} 年度名单日后定稿时，如与已定稿的名单重复发放同一档，定稿将被拒绝")


def _pending_elsewhere(sessions, year: int, granted: dict[str, int]) -> list[str]:
    """Enterprises this year's draft grants that a non-final list of another year grants too."""
    notes = []
    for row in store_awards.list_lists(sessions, kind="sales_milestone", scope="year"):
        if row["scope_key"] == str(year) or row["state"] == "final":
            continue
        other = store_awards.get_list(sessions, row["id"])
        latest = store_awards.list_lists(sessions, kind="sales_milestone", scope="year", scope_key=row["scope_key"])
        if latest[-1]["id"] != row["id"]:
            continue  # only the newest version of the other year matters
        for item in other["items"]:
            tier = item["detail"].get("tier")
            if item["included"] and item["amount_fen"] > 0 and item["participant_id"] in granted:
                notes.append(f"{item['name']}（{item['participant_id']}）在 {row['scope_key']} 年度第 {row['version']} 版"
                             f"（{row['state_name']}）名单中也获得“突破{TIER_BY_NUMBER[int(tier)].threshold_label}”奖励；"
                             f"两份名单只能有一份定稿发放该档")
    return notes


def compute_milestones(sessions: sessionmaker[Session], store, *, year: int,
                       policy: TopUpPolicy = TopUpPolicy.PAY_DIFFERENCE) -> tuple[list[dict], dict[str, Any]]:
    """Clause (四) for one year against the grant ledger (final lists only)."""
    sales = enterprise_year_sales(sessions, store, year)
    grants = ledger.read_grants(sessions, groups=["sales_milestone"])
    disqualified = _disqualified(sessions, "enterprises", "year", str(year))
    decisions = milestone_decisions(year, [s for s in sales if s.enterprise_id not in disqualified], grants,
                                    policy=policy)
    names = registry.names(sessions, "enterprises")

    def name(pid: str) -> str:
        return names.get(pid, pid)

    lines = [{"participant_id": d.enterprise_id, "name": name(d.enterprise_id),
              "category": f"突破{TIER_BY_NUMBER[d.tier].threshold_label}", "amount_fen": d.amount_fen,
              "metric_fen": d.annual_sales_fen,
              "detail": {"tier": d.tier, "reason": d.reason, "new_fen": d.new_fen, "flags": list(d.flags),
                         "ledger": [{"entry_id": g.entry_id, "amount_fen": g.amount_fen, "source": g.source,
                                     "status": g.status} for g in d.carried]}}
             for d in decisions if d.on_list and d.tier is not None]  # a line always has its tier
    other_years = sorted({g.year for g in grants if g.year != year and g.live})
    current = [s for y in other_years for s in enterprise_year_sales(sessions, store, y)]
    flags = [{"participant_id": d.enterprise_id, "year": year, "tier": d.tier, "granted_amount_fen": d.amount_fen,
              "current_sales_fen": d.annual_sales_fen, "reason": flag} for d in decisions for flag in d.flags]
    flags += [{"participant_id": f.enterprise_id, "year": f.year, "tier": f.tier,
               "granted_amount_fen": f.granted_amount_fen, "current_sales_fen": f.current_sales_fen,
               "reason": f.reason} for f in review_flags([g for g in grants if g.year != year], current)]
    warnings = [w for w in [_previous_year_warning(sessions, year)] if w]
    warnings += _pending_elsewhere(sessions, year, {d.enterprise_id: d.tier for d in decisions
                                                     if d.new_fen and d.tier is not None})
    params = {"policy": policy.value, "warnings": warnings,
              "not_granted": [{"participant_id": d.enterprise_id, "name": name(d.enterprise_id),
                               "annual_sales_fen": d.annual_sales_fen, "reason": d.reason}
                              for d in decisions if d.outcome == "not_granted"]
                             + [{"participant_id": pid, "name": name(pid), "annual_sales_fen": None,
                                 "reason": f"已取消资格：{reason}"} for pid, reason in sorted(disqualified.items())
                                if any(s.enterprise_id == pid for s in sales)],
              "unverified": [{"participant_id": d.enterprise_id, "name": name(d.enterprise_id),
                              "annual_sales_fen": d.annual_sales_fen, "reason": d.reason, "missing": list(d.missing)}
                             for d in decisions if d.outcome == "unverified"],
              "review_flags": flags}
    return lines, params


# -- regions: where sales are credited -------------------------------------------------------------
def region_progress(sessions: sessionmaker[Session], store, *, year: int) -> tuple[dict, int]:
    """Every region's progress for the year (domain.targets.RegionProgress by code) and the sales that
    could not be placed anywhere in the tree."""
    regions = places.list_regions(sessions)
    known = {r["code"] for r in regions}
    period = year_period(year)
    rows = sales_by_place(store, first_day=period.first_day, last_day=period.last_day,
                          hosts=registry.attribution(sessions, "hosts"),
                          enterprises=registry.attribution(sessions, "enterprises"))
    direct, uncredited = credit_sales(rows, registry.participant_regions(sessions), known)
    goals = store_awards.targets(sessions, year)
    nodes = [RegionNode(r["code"], r["name"], r["level"], r["parent_code"], goals.get(r["code"])) for r in regions]
    return roll_up(nodes, direct), uncredited


def compute_stations(sessions: sessionmaker[Session], store, *, year: int) -> tuple[list[dict], dict[str, Any]]:
    """Clause (一): 2 county centres, 10 township stations, 10 village points per year; each station's
    volume is the sales credited to its area."""
    scores = store_awards.station_scores(sessions, year)
    progress, _ = region_progress(sessions, store, year=year)
    stations = []
    for s in places.list_stations(sessions):
        node = progress.get(s["region_code"])
        stations.append(StationYear(str(s["id"]), s["name"], StationLevel(s["kind"]),
                                    node.actual_sales_fen if node else 0, scores.get(s["id"])))
    results = rank_stations(stations)
    lines: list[dict[str, object]] = []
    others: list[dict[str, object]] = []
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
    lines = _carry_station_grants(sessions, year, lines, others)
    return lines, {"not_rewarded": others}


def _carry_station_grants(sessions, year: int, lines: list[dict], others: list[dict]) -> list[dict]:
    """A station whose rating of this year is in the ledger keeps its line even if it no longer ranks."""
    scope = ("station_rating", "year", str(year))
    on_list = {line["participant_id"] for line in lines}
    carried = [g for g in ledger.read_grants(sessions) if g.list_scope == scope and g.live]
    for grant in carried:
        if grant.recipient_id in on_list:
            continue
        was = next((o for o in others if o["participant_id"] == grant.recipient_id), None)
        why = (f"重新计算后未进入奖励名额（{'；'.join(was.get('reasons') or [])}）" if was and was.get("reasons")
               else f"重新计算后未进入奖励名额（第 {was['detail']['rank']} 名）" if was else "重新计算后不在评定范围内")
        flag = (f"{why}；该站点的“{grant.reward.name}”奖励{format_yuan(grant.amount_fen)}已记入奖励台账"
                f"（{grant.source}），台账记录保留，请复核")
        lines.append({"participant_id": grant.recipient_id, "name": was["name"] if was else grant.recipient_id,
                      "category": grant.reward.name, "amount_fen": grant.amount_fen,
                      "metric_fen": (was or {}).get("metric_fen", 0),
                      "detail": {"level": next(k for k, v in STATION_CODES.items() if v == grant.reward_code),
                                 "carried": True, "flags": [flag]}})
        if was is not None:
            others.remove(was)
    return lines


def compute_and_store(sessions: sessionmaker[Session], store, *, kind: str, scope: str, scope_key: str,
                      min_net_gmv_fen: int = 0, min_order_count: int = 0,
                      policy: str = TopUpPolicy.PAY_DIFFERENCE.value) -> dict:
    """Compute one list and store it as a draft (see configstore.awards.save_computed)."""
    store_awards._validate_scope(kind, scope, scope_key)
    if kind in SELECTION_BOARDS:
        lines, params = compute_selection(sessions, store, kind=kind, scope=scope, scope_key=scope_key,
                                          min_net_gmv_fen=min_net_gmv_fen, min_order_count=min_order_count)
    elif kind == "sales_milestone":
        try:
            chosen = TopUpPolicy(policy)
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
    progress, uncredited = region_progress(sessions, store, year=year)
    return {"year": year, "uncredited_fen": uncredited,
            "regions": [{"code": p.code, "name": p.name, "level": p.level, "parent_code": p.parent_code,
                         "annual_target_fen": p.annual_target_fen, "direct_sales_fen": p.direct_sales_fen,
                         "actual_sales_fen": p.actual_sales_fen,
                         "percent": str(p.percent) if p.percent is not None else None, "label": p.label}
                        for p in progress.values()]}


# -- the workflow, and telling the winners ------------------------------------------------------------
def transition_list(sessions: sessionmaker[Session], list_id: int, to_state: str, *, notify: Callable | None = None,
                    **options) -> dict:
    """configstore.awards.transition, plus ``notify(session, list)`` in the same transaction when a list
    reaches 公示中 or 已定稿 (services.notices tells the winners)."""
    def on_change(session: Session, award_list: dict) -> None:
        if notify is not None and award_list["state"] in ("notice", "final"):
            notify(session, award_list)

    return store_awards.transition(sessions, list_id, to_state, on_change=on_change, **options)
