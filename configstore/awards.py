"""Award lists in the config store: versions, the publication workflow, adjustments, review steps,
station quality scores and regional targets.

Workflow of one version: 草稿 draft → 已冻结 frozen → 公示中 notice (with its start and end dates)
→ 已定稿 final. A frozen list can go back to draft; a list in notice can go back to draft when an
objection needs a fix. A final list is immutable: recomputing or adjusting it creates a new
version (draft, ``based_on_id`` = the final one), which goes through the same steps; the old final
version stays as it was. Every change goes through the ORM, so the audit log (configstore/audit.py)
records it with before/after in the same transaction.

Finalizing writes the grant ledger (configstore.ledger) in the same transaction: each line's money
that the ledger does not hold yet becomes an entry. It is refused when the version would contradict
the ledger (domain.ledger.check_version: a line with ledger money dropped or reduced, a tier paid
twice, more than "就高不就低" allows), and it needs an explicit confirmation when it takes a fund past
its budget.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from configstore import ledger
from configstore.audit import current_actor
from configstore.award_models import (
    AwardItem,
    AwardList,
    AwardReview,
    GrantLedgerEntry,
    RegionTarget,
    StationScore,
)
from configstore.db import as_utc, transaction
from configstore.errors import ConfigError, Conflict, NotFound, require_transition
from configstore.models import Campaign, Enterprise, Host, Region, ServiceStation
from configstore.registry import SHANGHAI
from domain.awards import MILESTONE_TIERS
from domain.budget import approval_warning
from domain.catalogue import MILESTONE_CODES, SELECTION_CODES, STATION_CODES
from domain.ledger import Line, TopUpPolicy, check_version

KINDS = {"top_enterprises": "十佳电商企业", "top_influencers": "十大电商达人",
         "sales_milestone": "电商企业年度销售额首次突破奖励", "station_rating": "电商服务站点评定"}
SCOPES = {"campaign": "活动", "year": "年度"}
STATES = ("draft", "frozen", "notice", "final")
STATE_NAMES_ZH = {"draft": "草稿", "frozen": "已冻结", "notice": "公示中", "final": "已定稿"}
TRANSITIONS = {"draft": ("frozen",), "frozen": ("draft", "notice"), "notice": ("draft", "final"), "final": ()}
REVIEW_STEPS = ("county_prereview", "prefecture_office", "expert_review", "government_approval")
REVIEW_STEP_NAMES_ZH = {"county_prereview": "县市区初审", "prefecture_office": "州开放型经济领导小组办公室审核",
                        "expert_review": "专家评审", "government_approval": "州政府审定"}
DECISIONS = {"approved": "通过", "rejected": "不通过"}


def shanghai_today() -> date:
    return datetime.now(timezone.utc).astimezone(SHANGHAI).date()


def _iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    return as_utc(value).isoformat() if isinstance(value, datetime) else value.isoformat()


def _review_dict(review: AwardReview) -> dict:
    return {"step": review.step, "step_name": REVIEW_STEP_NAMES_ZH[review.step], "decision": review.decision,
            "decision_name": DECISIONS[review.decision], "reviewer": review.reviewer, "note": review.note,
            "at": _iso(review.at)}


def _item_dict(item: AwardItem) -> dict:
    return {"id": item.id, "position": item.position, "participant_id": item.participant_id, "name": item.name,
            "category": item.category, "amount_fen": item.amount_fen, "metric_fen": item.metric_fen,
            "detail": item.detail, "included": item.included, "adjusted": item.adjusted,
            "adjustment_reason": item.adjustment_reason, "adjusted_by": item.adjusted_by,
            "reviews": [_review_dict(r) for r in item.reviews]}


def list_dict(row: AwardList, *, items: bool = True) -> dict:
    data = {"id": row.id, "kind": row.kind, "kind_name": KINDS[row.kind], "scope": row.scope,
            "scope_name": SCOPES[row.scope], "scope_key": row.scope_key, "version": row.version, "state": row.state,
            "state_name": STATE_NAMES_ZH[row.state], "params": row.params, "notice_start": _iso(row.notice_start),
            "notice_end": _iso(row.notice_end), "based_on_id": row.based_on_id, "computed_at": _iso(row.computed_at),
            "created_by": row.created_by, "frozen_at": _iso(row.frozen_at), "finalized_at": _iso(row.finalized_at),
            "state_changed_at": _iso(row.state_changed_at)}
    if items:
        data["items"] = [_item_dict(i) for i in row.items]
        data["total_fen"] = sum(i.amount_fen for i in row.items if i.included)
    return data


def _validate_scope(kind: str, scope: str, scope_key: str) -> None:
    if kind not in KINDS:
        raise ConfigError("invalid_award_kind", f"奖项类型只能是 {', '.join(KINDS)}")
    if scope not in SCOPES:
        raise ConfigError("invalid_award_scope", "奖项范围只能是 campaign（活动）或 year（年度）")
    if kind in ("sales_milestone", "station_rating") and scope != "year":
        raise ConfigError("invalid_award_scope", f"{KINDS[kind]}按年度评定，范围只能是 year")
    if scope == "year" and not (scope_key.isdigit() and len(scope_key) == 4):
        raise ConfigError("invalid_award_scope", "年度范围的 key 应为四位年份，例如 2026")


def _latest(session: Session, kind: str, scope: str, scope_key: str) -> AwardList | None:
    return session.scalar(select(AwardList).where(AwardList.kind == kind, AwardList.scope == scope,
                                                  AwardList.scope_key == scope_key)
                          .order_by(AwardList.version.desc()).limit(1))


def _new_item(position: int, data: dict) -> AwardItem:
    return AwardItem(position=position, participant_id=data["participant_id"], name=data["name"],
                     category=data.get("category", ""), amount_fen=int(data.get("amount_fen", 0)),
                     metric_fen=int(data.get("metric_fen", 0)), detail=data.get("detail", {}), included=True,
                     adjusted=False)


def save_computed(factory: sessionmaker[Session], *, kind: str, scope: str, scope_key: str, items: Iterable[dict],
                  params: dict[str, Any]) -> dict:
    """Store a computation: replaces the items of the current draft, or starts version 1, or (after
    a final version) a new draft version. A frozen list or one in notice is not recomputed."""
    _validate_scope(kind, scope, scope_key)
    items = list(items)
    with transaction(factory) as session:
        current = _latest(session, kind, scope, scope_key)
        if current is not None and current.state in ("frozen", "notice"):
            raise Conflict("award_list_locked", f"{KINDS[kind]}第 {current.version} 版"
                                                f"{STATE_NAMES_ZH[current.state]}，不能重新计算；请先退回草稿")
        if current is not None and current.state == "draft":
            row = current
            for old in list(row.items):
                session.delete(old)
            session.flush()
            row.params, row.computed_at = params, datetime.now(timezone.utc)
        else:
            row = AwardList(kind=kind, scope=scope, scope_key=scope_key,
                            version=(current.version + 1) if current else 1, state="draft", params=params,
                            based_on_id=current.id if current else None, created_by=current_actor(),
                            computed_at=datetime.now(timezone.utc))
            session.add(row)
        session.flush()
        for position, data in enumerate(items, start=1):
            item = _new_item(position, data)
            item.list_id = row.id
            session.add(item)
        session.flush()
        session.refresh(row)
        return list_dict(row)


def _get(session: Session, list_id: int) -> AwardList:
    row = session.get(AwardList, list_id)
    if row is None:
        raise NotFound("award_list_not_found", f"奖项名单 {list_id} 不存在")
    return row


def get_list(factory: sessionmaker[Session], list_id: int) -> dict:
    with factory() as session:
        return list_dict(_get(session, list_id))


def list_lists(factory: sessionmaker[Session], *, kind: str | None = None, scope: str | None = None,
               scope_key: str | None = None) -> list[dict]:
    query = select(AwardList).order_by(AwardList.kind, AwardList.scope, AwardList.scope_key, AwardList.version)
    for column, value in ((AwardList.kind, kind), (AwardList.scope, scope), (AwardList.scope_key, scope_key)):
        if value:
            query = query.where(column == value)
    with factory() as session:
        return [list_dict(r, items=False) for r in session.scalars(query).all()]


def transition(factory: sessionmaker[Session], list_id: int, to_state: str, *, notice_start: date | None = None,
               notice_end: date | None = None, today: date | None = None, accept_over_budget: bool = False,
               on_change: Callable[[Session, dict], None] | None = None) -> dict:
    """Move a list through the workflow. ``on_change(session, list_dict)`` runs inside the same
    transaction after the change (services.awards enqueues the winners' messages there)."""
    today = today or shanghai_today()
    with transaction(factory) as session:
        row = _get(session, list_id)
        require_transition(TRANSITIONS, STATE_NAMES_ZH, "奖项名单", row.state, to_state)
        if to_state == "notice":
            if notice_start is None or notice_end is None:
                raise ConfigError("notice_dates_required", "进入公示须填写公示开始和结束日期")
            if notice_end < notice_start:
                raise ConfigError("invalid_notice_dates", "公示结束日期不能早于开始日期")
            row.notice_start, row.notice_end = notice_start, notice_end
        now = datetime.now(timezone.utc)
        if to_state == "final":
            if row.notice_end is None:  # entering 公示 requires both dates
                raise Conflict("notice_dates_required", "该名单没有公示日期，不能定稿")
            if today <= row.notice_end:
                raise Conflict("notice_not_over", f"公示期至 {row.notice_end.isoformat()} 止，公示期满后才能定稿")
            blocked = [i.name for i in row.items if i.included
                       and any(r.decision == "rejected" for r in i.reviews)]
            if blocked:
                raise Conflict("rejected_in_review", f"以下获奖者有评审未通过，请先调整名单：{'、'.join(blocked)}")
            _write_ledger(session, row, accept_over_budget)
            row.finalized_at = now
        if to_state == "frozen":
            row.frozen_at = now
        if to_state == "draft":
            row.frozen_at, row.notice_start, row.notice_end = None, None, None
        row.state, row.state_changed_at = to_state, now
        session.flush()
        result = list_dict(row)
        if on_change is not None:
            on_change(session, result)
        return result


def list_year(session: Session, row: AwardList) -> int:
    """The year a list's grants belong to: the year itself, or the campaign's last day's year."""
    if row.scope == "year":
        return int(row.scope_key)
    campaign = session.scalar(select(Campaign).where(Campaign.slug == row.scope_key))
    ends = as_utc(campaign.ends_at) if campaign is not None else as_utc(row.computed_at)
    return (ends.astimezone(SHANGHAI) - timedelta(seconds=1)).year


def _recipients(session: Session, row: AwardList) -> dict[str, tuple[str, str, str]]:
    """participant id -> (recipient kind, county code, reward code) for the list's lines."""
    found = {}
    for item in row.items:
        if row.kind == "sales_milestone":
            enterprise = session.get(Enterprise, item.participant_id)
            found[item.participant_id] = ("enterprise", enterprise.county if enterprise else "",
                                          MILESTONE_CODES[_milestone_tier(item)])
        elif row.kind == "station_rating":
            station = session.get(ServiceStation, int(item.participant_id)) if item.participant_id.isdigit() else None
            kind = item.detail.get("level") or (station.kind if station else "village_point")
            found[item.participant_id] = ("station", station.region_code[:6] if station else "", STATION_CODES[kind])
        else:
            participant: Enterprise | Host | None = (session.get(Enterprise, item.participant_id)
                                                     if row.kind == "top_enterprises"
                                                     else session.get(Host, item.participant_id))
            found[item.participant_id] = ("enterprise" if row.kind == "top_enterprises" else "host",
                                          participant.county if participant else "", SELECTION_CODES[row.kind])
    return found


def _milestone_tier(item: AwardItem) -> int:
    """The tier a milestone line stands for: computed lines say so; a line an admin added names it in
    its category ("突破3000万元"), else the highest tier its amount covers."""
    if item.detail.get("tier"):
        return int(item.detail["tier"])
    named = [t.tier for t in MILESTONE_TIERS if t.threshold_label in (item.category or "")]
    if named:
        return named[0]
    return max((t.tier for t in MILESTONE_TIERS if t.amount_fen <= item.amount_fen), default=1)


def _write_ledger(session: Session, row: AwardList, accept_over_budget: bool) -> None:
    year, scope = list_year(session, row), (row.kind, row.scope, row.scope_key)
    recipients = _recipients(session, row)
    lines = [Line(i.participant_id, i.name, recipients[i.participant_id][2], i.amount_fen, i.included)
             for i in row.items]
    ids = {i.participant_id for i in row.items} | set(session.scalars(select(GrantLedgerEntry.recipient_id).where(
        GrantLedgerEntry.list_kind == row.kind, GrantLedgerEntry.list_scope == row.scope,
        GrantLedgerEntry.list_scope_key == row.scope_key)).all())
    policy = TopUpPolicy(row.params.get("policy", TopUpPolicy.PAY_DIFFERENCE.value))
    check = check_version(scope, year, row.version, lines, ledger.grants(session, recipient_ids=ids), policy=policy)
    if check.conflicts:
        raise Conflict("ledger_conflict", f"第 {row.version} 版定稿将与奖励台账冲突，已拒绝：" + "；".join(check.conflicts))
    charged: dict[str, int] = {}
    for grant in check.new_grants:
        holder = ledger.funding_holder(grant.reward_code, recipients[grant.recipient_id][1])
        charged[holder] = charged.get(holder, 0) + grant.amount_fen
    warnings = [w for holder, amount in sorted(charged.items())
                if (w := approval_warning(ledger.budget_line(session, holder, year), amount))]
    if warnings and not accept_over_budget:
        raise Conflict("over_budget", "；".join(warnings) + "。如确需定稿，请确认超出预算后再提交")
    label = f"{row.scope_key} {KINDS[row.kind]}第 {row.version} 版"
    for grant in check.new_grants:
        kind, county, _ = recipients[grant.recipient_id]
        ledger.add_entry(session, recipient_kind=kind, recipient_id=grant.recipient_id, recipient_name=grant.name,
                         county_code=county, reward_code=grant.reward_code, year=year, amount_fen=grant.amount_fen,
                         source="award_list", source_label=label, list_row=row)
    flags = {i.participant_id: "；".join(i.detail.get("flags") or []) for i in row.items}
    for entry in session.scalars(select(GrantLedgerEntry).where(
            GrantLedgerEntry.list_kind == row.kind, GrantLedgerEntry.list_scope == row.scope,
            GrantLedgerEntry.list_scope_key == row.scope_key)).all():
        note = flags.get(entry.recipient_id, "")
        entry.review_note = f"第 {row.version} 版定稿时的复核提示：{note}"[:2000] if note else ""
    if warnings:
        row.params = {**row.params, "over_budget_confirmed": warnings}


def adjust(factory: sessionmaker[Session], list_id: int, participant_id: str, *, reason: str,
           amount_fen: int | None = None, included: bool | None = None, name: str | None = None,
           category: str | None = None) -> dict:
    """An admin's manual change to one line (or a new line when participant_id is not on the list).
    A reason is required; the line shows as adjusted. On a final list this creates a new draft
    version carrying the change: the final version itself never changes."""
    if not (reason or "").strip():
        raise ConfigError("reason_required", "人工调整必须填写原因")
    if amount_fen is not None and (isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen < 0):
        raise ConfigError("invalid_amount", "奖励金额应为不小于 0 的整数（分）")
    with transaction(factory) as session:
        row = _get(session, list_id)
        if row.state in ("frozen", "notice"):
            raise Conflict("award_list_locked",
                           f"名单{STATE_NAMES_ZH[row.state]}，不能调整；请先退回草稿")
        if row.state == "final":
            latest = _latest(session, row.kind, row.scope, row.scope_key)
            if latest is not None and latest.id != row.id:
                raise Conflict("award_list_superseded", f"该名单已有第 {latest.version} 版，请在最新版本上调整")
            copy = AwardList(kind=row.kind, scope=row.scope, scope_key=row.scope_key, version=row.version + 1,
                             state="draft", params=dict(row.params), based_on_id=row.id, created_by=current_actor(),
                             computed_at=row.computed_at)
            session.add(copy)
            session.flush()
            for old in row.items:
                session.add(AwardItem(list_id=copy.id, position=old.position, participant_id=old.participant_id,
                                      name=old.name, category=old.category, amount_fen=old.amount_fen,
                                      metric_fen=old.metric_fen, detail=dict(old.detail), included=old.included,
                                      adjusted=old.adjusted, adjustment_reason=old.adjustment_reason,
                                      adjusted_by=old.adjusted_by))
            session.flush()
            session.refresh(copy)
            row = copy
        item = next((i for i in row.items if i.participant_id == participant_id), None)
        if item is None:
            new_name = (name or "").strip()
            if not new_name:
                raise ConfigError("name_required", f"{participant_id} 不在名单上；新增获奖者须填写名称")
            item = AwardItem(list_id=row.id, position=max((i.position for i in row.items), default=0) + 1,
                             participant_id=participant_id, name=new_name, category=category or "",
                             amount_fen=amount_fen or 0, metric_fen=0, detail={"added_manually": True},
                             included=True if included is None else included)
            session.add(item)
        else:
            if amount_fen is not None:
                item.amount_fen = amount_fen
            if included is not None:
                item.included = included
            if name:
                item.name = name.strip()
            if category is not None:
                item.category = category
        item.adjusted, item.adjustment_reason, item.adjusted_by = True, reason.strip(), current_actor()
        session.flush()
        session.refresh(row)
        return list_dict(row)


def record_review(factory: sessionmaker[Session], list_id: int, participant_id: str, *, step: str, decision: str,
                  note: str = "", at: datetime | None = None) -> dict:
    """Record one review step on one award, by the acting user, in the order of the seeds."""
    if step not in REVIEW_STEPS:
        raise ConfigError("invalid_review_step", "评审环节只能是：" + "、".join(
            f"{s}（{REVIEW_STEP_NAMES_ZH[s]}）" for s in REVIEW_STEPS))
    if decision not in DECISIONS:
        raise ConfigError("invalid_decision", "评审结论只能是 approved（通过）或 rejected（不通过）")
    with transaction(factory) as session:
        row = _get(session, list_id)
        if row.state == "final":
            raise Conflict("award_list_final", "名单已定稿，不能再修改")
        item = next((i for i in row.items if i.participant_id == participant_id), None)
        if item is None:
            raise NotFound("award_item_not_found", f"{participant_id} 不在该名单上")
        done = {r.step: r for r in item.reviews}
        if step in done:
            raise Conflict("review_step_done", f"{item.name}的“{REVIEW_STEP_NAMES_ZH[step]}”已于"
                                               f"{_iso(done[step].at)}由{done[step].reviewer}记录")
        index = REVIEW_STEPS.index(step)
        for earlier in REVIEW_STEPS[:index]:
            if earlier not in done:
                raise Conflict("review_out_of_order", f"请先完成“{REVIEW_STEP_NAMES_ZH[earlier]}”，"
                                                      f"再记录“{REVIEW_STEP_NAMES_ZH[step]}”")
            if done[earlier].decision == "rejected":
                raise Conflict("review_rejected_earlier", f"“{REVIEW_STEP_NAMES_ZH[earlier]}”未通过，不能进入下一环节")
        session.add(AwardReview(item_id=item.id, step=step, decision=decision, reviewer=current_actor(),
                                note=note or "", at=at or datetime.now(timezone.utc)))
        session.flush()
        session.refresh(item)
        return _item_dict(item)


def latest_final(factory: sessionmaker[Session], kind: str, scope: str, scope_key: str) -> dict | None:
    with factory() as session:
        row = session.scalar(select(AwardList).where(AwardList.kind == kind, AwardList.scope == scope,
                                                     AwardList.scope_key == scope_key, AwardList.state == "final")
                             .order_by(AwardList.version.desc()).limit(1))
        return list_dict(row) if row else None


# -- station quality scores ---------------------------------------------------------------------------
def parse_score(value: Any) -> Decimal:
    try:
        score = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ConfigError("invalid_quality_score", "服务质量评分应为 0–100 的数字") from None
    exponent = score.as_tuple().exponent  # 'n', 'N' or 'F' when not finite
    if not isinstance(exponent, int) or not Decimal(0) <= score <= Decimal(100) or exponent < -2:
        raise ConfigError("invalid_quality_score", "服务质量评分应为 0–100 的数字，最多两位小数")
    return score


def set_station_score(factory: sessionmaker[Session], station_id: int, year: int, quality_score: Any) -> dict:
    """The organizers' service-quality score; the volume is the sales credited to the station's area."""
    score = parse_score(quality_score)
    with transaction(factory) as session:
        station = session.get(ServiceStation, station_id)
        if station is None:
            raise NotFound("station_not_found", f"服务站点 {station_id} 不存在")
        row = session.scalar(select(StationScore).where(StationScore.station_id == station_id,
                                                        StationScore.year == year))
        if row is None:
            row = StationScore(station_id=station_id, year=year, quality_score=str(score))
            session.add(row)
        else:
            row.quality_score = str(score)
        session.flush()
        return {"station_id": station_id, "year": year, "quality_score": row.quality_score}


def station_scores(factory: sessionmaker[Session], year: int) -> dict[int, Decimal]:
    with factory() as session:
        rows = session.scalars(select(StationScore).where(StationScore.year == year)).all()
        return {r.station_id: Decimal(r.quality_score) for r in rows}


# -- regional targets -----------------------------------------------------------------------------------
def set_target(factory: sessionmaker[Session], region_code: str, year: int, annual_target_fen: int) -> dict:
    if isinstance(annual_target_fen, bool) or not isinstance(annual_target_fen, int) or annual_target_fen <= 0:
        raise ConfigError("invalid_target", "年度目标应为大于 0 的整数（分）")
    with transaction(factory) as session:
        if session.get(Region, region_code) is None:
            raise NotFound("unknown_region", f"区划 {region_code} 不存在")
        row = session.scalar(select(RegionTarget).where(RegionTarget.region_code == region_code,
                                                        RegionTarget.year == year))
        if row is None:
            session.add(RegionTarget(region_code=region_code, year=year, annual_target_fen=annual_target_fen))
        else:
            row.annual_target_fen = annual_target_fen
        return {"region_code": region_code, "year": year, "annual_target_fen": annual_target_fen}


def targets(factory: sessionmaker[Session], year: int) -> dict[str, int]:
    with factory() as session:
        return {code: amount for code, amount in session.execute(
            select(RegionTarget.region_code, RegionTarget.annual_target_fen).where(RegionTarget.year == year)).all()}


def published_items(factory: sessionmaker[Session], participant_id: str, kinds: Iterable[str]) -> list[tuple[dict, dict]]:
    """(list, item) for each award family (kind, scope, key) whose latest published version (公示中 or
    已定稿) includes the participant: what the participant may be told it won."""
    with factory() as session:
        published = session.scalars(select(AwardList).where(AwardList.kind.in_(list(kinds)),
                                                            AwardList.state.in_(("notice", "final")))
                                    .order_by(AwardList.version)).all()
        latest: dict[tuple[str, str, str], AwardList] = {}
        for row in published:
            latest[(row.kind, row.scope, row.scope_key)] = row
        found = []
        for row in latest.values():
            item = next((i for i in row.items if i.participant_id == participant_id and i.included), None)
            if item is not None:
                found.append((list_dict(row, items=False), _item_dict(item)))
        return found
