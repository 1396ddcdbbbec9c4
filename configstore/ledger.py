"""The grant ledger and the yearly budgets in the config store.

Entries are written only by finalizing an award list (configstore.awards.transition) or approving an
application (configstore.applications), in the same transaction as that step; nothing deletes them.
Their payment status moves 待支付 pending -> 已支付 paid, or pending -> 已撤销 revoked (admin, with a
reason: a revoked grant no longer counts as granted). Every change is audited (configstore/audit.py).
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from configstore.audit import current_actor
from configstore.award_models import Application, ApplicationStep, Budget, GrantLedgerEntry
from configstore.db import as_utc, transaction
from configstore.errors import ConfigError, Conflict, NotFound
from domain.budget import PREFECTURE, BudgetLine, Charge, budget_error, budget_lines
from domain.catalogue import CATALOGUE, Funding, reward
from domain.ledger import STATUS_NAMES_ZH, Grant
from domain.regions import XIANGXI_COUNTIES

PAYMENT_TRANSITIONS = {"pending": ("paid", "revoked"), "paid": (), "revoked": ()}


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def entry_dict(e: GrantLedgerEntry) -> dict:
    r = CATALOGUE.get(e.reward_code)
    return {"id": e.id, "recipient_kind": e.recipient_kind, "recipient_id": e.recipient_id,
            "recipient_name": e.recipient_name, "county_code": e.county_code,
            "county_name": XIANGXI_COUNTIES.get(e.county_code, ""), "reward_code": e.reward_code,
            "reward_name": r.name if r else e.reward_code, "group": r.group if r else "",
            "clause": r.clause if r else "", "year": e.year, "amount_fen": e.amount_fen, "funding": e.funding,
            "funding_name": fund_name(e.funding), "source": e.source, "source_label": e.source_label,
            "list_id": e.list_id, "list_version": e.list_version, "application_id": e.application_id,
            "status": e.status, "status_name": STATUS_NAMES_ZH[e.status], "status_note": e.status_note,
            "status_changed_at": _iso(e.status_changed_at), "status_changed_by": e.status_changed_by,
            "review_note": e.review_note, "created_at": _iso(e.created_at), "created_by": e.created_by}


def fund_name(holder: str) -> str:
    return "州级专项资金" if holder == PREFECTURE else f"{XIANGXI_COUNTIES.get(holder, holder)}专项资金"


def funding_holder(reward_code: str, county_code: str) -> str:
    """The fund a grant is charged to: the prefecture's, or the recipient's county's."""
    return PREFECTURE if reward(reward_code).funding is Funding.PREFECTURE else county_code


def as_grant(e: GrantLedgerEntry) -> Grant:
    scope = ((e.list_kind, e.list_scope, e.list_scope_key)
             if e.list_kind and e.list_scope is not None and e.list_scope_key is not None else None)
    return Grant(e.recipient_id, e.reward_code, e.year, e.amount_fen, e.status, e.source_label, scope, e.id)


def grants(session: Session, *, recipient_ids: Iterable[str] | None = None, groups: Iterable[str] | None = None,
           ) -> list[Grant]:
    """Ledger entries as the domain rules read them (revoked ones included: the rules skip them)."""
    query = select(GrantLedgerEntry).order_by(GrantLedgerEntry.id)
    if recipient_ids is not None:
        query = query.where(GrantLedgerEntry.recipient_id.in_(list(recipient_ids)))
    if groups is not None:
        codes = [code for code, r in CATALOGUE.items() if r.group in set(groups)]
        query = query.where(GrantLedgerEntry.reward_code.in_(codes))
    return [as_grant(e) for e in session.scalars(query).all()]


def read_grants(factory: sessionmaker[Session], **filters) -> list[Grant]:
    with factory() as session:
        return grants(session, **filters)


def add_entry(session: Session, *, recipient_kind: str, recipient_id: str, recipient_name: str, county_code: str,
              reward_code: str, year: int, amount_fen: int, source: str, source_label: str, list_row=None,
              application_id: int | None = None) -> GrantLedgerEntry:
    entry = GrantLedgerEntry(
        recipient_kind=recipient_kind, recipient_id=recipient_id, recipient_name=recipient_name,
        county_code=county_code or "", reward_code=reward_code, year=year, amount_fen=amount_fen,
        funding=funding_holder(reward_code, county_code), source=source, source_label=source_label,
        list_id=list_row.id if list_row is not None else None,
        list_kind=list_row.kind if list_row is not None else None,
        list_scope=list_row.scope if list_row is not None else None,
        list_scope_key=list_row.scope_key if list_row is not None else None,
        list_version=list_row.version if list_row is not None else None, application_id=application_id,
        status="pending", created_by=current_actor(), created_at=datetime.now(timezone.utc))
    session.add(entry)
    return entry


def list_entries(factory: sessionmaker[Session], *, recipient_id: str | None = None, year: int | None = None,
                 status: str | None = None, counties: frozenset[str] | None = None, search: str | None = None,
                 limit: int = 500) -> list[dict]:
    query = select(GrantLedgerEntry).order_by(GrantLedgerEntry.year.desc(), GrantLedgerEntry.id.desc())
    if recipient_id:
        query = query.where(GrantLedgerEntry.recipient_id == recipient_id)
    if year is not None:
        query = query.where(GrantLedgerEntry.year == year)
    if status:
        query = query.where(GrantLedgerEntry.status == status)
    if counties is not None:
        query = query.where(GrantLedgerEntry.county_code.in_(sorted(counties)))
    if search:
        like = f"%{search}%"
        query = query.where(or_(GrantLedgerEntry.recipient_id.like(like), GrantLedgerEntry.recipient_name.like(like)))
    with factory() as session:
        return [entry_dict(e) for e in session.scalars(query.limit(max(1, min(limit, 2000)))).all()]


def get_entry(factory: sessionmaker[Session], entry_id: int) -> dict:
    with factory() as session:
        entry = session.get(GrantLedgerEntry, entry_id)
        if entry is None:
            raise NotFound("ledger_entry_not_found", f"台账记录 {entry_id} 不存在")
        return entry_dict(entry)


def set_status(factory: sessionmaker[Session], entry_id: int, status: str, *, note: str = "",
               paid_on: date | None = None) -> dict:
    """Record a payment (paid, with an optional note such as the voucher number) or revoke an unpaid
    grant (a reason is required). Paid and revoked are final."""
    with transaction(factory) as session:
        entry = session.get(GrantLedgerEntry, entry_id)
        if entry is None:
            raise NotFound("ledger_entry_not_found", f"台账记录 {entry_id} 不存在")
        apply_status(session, entry, status, note=note, paid_on=paid_on)
        session.flush()
        return entry_dict(entry)


def apply_status(session: Session, entry: GrantLedgerEntry, status: str, *, note: str = "",
                 paid_on: date | None = None) -> None:
    """The status change inside the caller's transaction; an application the grant came from follows
    (已支付 with its payment step, or 已撤销)."""
    if status not in ("paid", "revoked"):
        raise ConfigError("invalid_payment_status", "支付状态只能改为 paid（已支付）或 revoked（已撤销）")
    note = (note or "").strip()
    if status == "revoked" and not note:
        raise ConfigError("reason_required", "撤销台账中的奖励必须写明原因")
    if status not in PAYMENT_TRANSITIONS[entry.status]:
        raise Conflict("invalid_payment_transition",
                       f"台账记录 {entry.id} 已是“{STATUS_NAMES_ZH[entry.status]}”，不能改为“{STATUS_NAMES_ZH[status]}”")
    now = datetime.now(timezone.utc)
    entry.status = status
    entry.status_note = ((f"{paid_on.isoformat()} 支付" + (f"；{note}" if note else "")) if paid_on else note)
    entry.status_changed_at, entry.status_changed_by = now, current_actor()
    if entry.application_id is not None:
        application = session.get(Application, entry.application_id)
        if application is not None and application.state == "approved":
            application.state = status
            if status == "paid" and not any(s.step == "payment" for s in application.steps):
                application.steps.append(ApplicationStep(step="payment", decision="approved", actor=current_actor(),
                                                         note=entry.status_note, at=now))


# -- budgets ----------------------------------------------------------------------------------------
def holders() -> dict[str, str]:
    return {PREFECTURE: fund_name(PREFECTURE), **{code: fund_name(code) for code in XIANGXI_COUNTIES}}


def set_budget(factory: sessionmaker[Session], holder: str, year: int, amount_fen: int) -> dict:
    if holder not in holders():
        raise NotFound("unknown_fund", f"资金 {holder} 不存在：只能是 prefecture（州级）或湘西州的县市代码")
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
        raise ConfigError("invalid_budget", "预算金额应为整数（分）")
    error = budget_error(holder, amount_fen)
    if error:
        raise ConfigError("invalid_budget", error)
    with transaction(factory) as session:
        row = session.scalar(select(Budget).where(Budget.holder == holder, Budget.year == year))
        if row is None:
            session.add(Budget(holder=holder, year=year, amount_fen=amount_fen))
        else:
            row.amount_fen = amount_fen
    return {"holder": holder, "year": year, "amount_fen": amount_fen}


def budget_year(session: Session, year: int) -> list[BudgetLine]:
    budgets: dict[str, int] = {holder: amount for holder, amount in session.execute(
        select(Budget.holder, Budget.amount_fen).where(Budget.year == year)).all()}
    charges = [Charge(f, y, a, s) for f, y, a, s in session.execute(
        select(GrantLedgerEntry.funding, GrantLedgerEntry.year, GrantLedgerEntry.amount_fen, GrantLedgerEntry.status)
        .where(GrantLedgerEntry.year == year)).all()]
    return budget_lines(year, holders(), budgets, charges)


def budget_line(session: Session, holder: str, year: int) -> BudgetLine:
    return next(line for line in budget_year(session, year) if line.holder == holder)


def read_budget(factory: sessionmaker[Session], year: int) -> list[dict]:
    with factory() as session:
        return [line.as_dict() for line in budget_year(session, year)]
