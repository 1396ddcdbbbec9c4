"""The participant registry: campaigns, hosts, enterprises, accounts, disqualifications.

Reads return plain data (dataclasses, dicts) so the ranking job and the API never hold
ORM objects across threads.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from configstore.db import as_utc, transaction
from configstore.errors import ConfigError, Conflict, NotFound, require_transition
from configstore.models import (
    Campaign,
    Disqualification,
    Enterprise,
    EnterpriseAccount,
    Host,
    HostAccount,
)
from domain.attribution import Attribution
from domain.boards import BOARDS
from domain.periods import SHANGHAI

CAMPAIGN_STATUSES = ("draft", "active", "frozen", "closed")
STATUS_NAMES_ZH = {"draft": "草稿", "active": "进行中", "frozen": "已封榜", "closed": "已结束"}
# draft -> active -> frozen -> closed; a freeze can be lifted, an active campaign can close early.
TRANSITIONS = {"draft": ("active",), "active": ("frozen", "closed"), "frozen": ("active", "closed"), "closed": ()}
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


@dataclass(frozen=True)
class CampaignInfo:
    slug: str
    name: str
    first_day: date  # Shanghai calendar days, inclusive: campaigns run whole days
    last_day: date
    status: str
    freeze_at: datetime | None
    boards: tuple[str, ...] = BOARDS

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.first_day, time(0), SHANGHAI).astimezone(timezone.utc)

    @property
    def ends_at(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time(0), SHANGHAI).astimezone(timezone.utc)

    def is_frozen(self, now: datetime) -> bool:
        return self.status == "frozen" or (self.freeze_at is not None and now >= self.freeze_at)

    def as_dict(self) -> dict:
        return {"slug": self.slug, "name": self.name, "first_day": self.first_day.isoformat(),
                "last_day": self.last_day.isoformat(), "status": self.status,
                "freeze_at": self.freeze_at.isoformat() if self.freeze_at else None, "boards": list(self.boards)}


def _info(campaign: Campaign) -> CampaignInfo:
    starts, ends = as_utc(campaign.starts_at), as_utc(campaign.ends_at)
    return CampaignInfo(
        slug=campaign.slug, name=campaign.name,
        first_day=starts.astimezone(SHANGHAI).date(),
        last_day=(ends - timedelta(seconds=1)).astimezone(SHANGHAI).date(),
        status=campaign.status,
        freeze_at=_utc(campaign.freeze_at),
        boards=tuple(b for b in BOARDS if b in (campaign.boards or BOARDS)),
    )


def _window(first_day: date, last_day: date) -> tuple[datetime, datetime]:
    if last_day < first_day:
        raise ConfigError("invalid_days", "结束日期不能早于开始日期")
    starts = datetime.combine(first_day, time(0), SHANGHAI).astimezone(timezone.utc)
    ends = datetime.combine(last_day + timedelta(days=1), time(0), SHANGHAI).astimezone(timezone.utc)
    return starts, ends


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value).astimezone(timezone.utc) if value is not None else None


def _check_boards(boards) -> list[str]:
    chosen = [b for b in BOARDS if b in (boards or ())]
    if not chosen or len(chosen) != len(set(boards)):
        raise ConfigError("invalid_boards", "榜单只能从 hosts（主播榜）和 enterprises（企业榜）中选择，至少一个")
    return chosen


def upsert_campaign(factory: sessionmaker[Session], *, slug: str, name: str, first_day: date, last_day: date,
                    status: str = "active", freeze_at: datetime | None = None) -> CampaignInfo:
    """Create or overwrite a campaign as given (seeding, demo, tests); organizers go through
    create_campaign / update_campaign / transition_campaign, which enforce the status flow."""
    if status not in CAMPAIGN_STATUSES:
        raise ValueError(f"status must be one of {CAMPAIGN_STATUSES}")
    starts, ends = _window(first_day, last_day)
    with transaction(factory) as session:
        campaign = session.scalar(select(Campaign).where(Campaign.slug == slug))
        if campaign is None:
            campaign = Campaign(slug=slug, name=name, starts_at=starts, ends_at=ends)
            session.add(campaign)
        campaign.name, campaign.starts_at, campaign.ends_at = name, starts, ends
        campaign.status, campaign.freeze_at = status, freeze_at
        session.flush()
        return _info(campaign)


def create_campaign(factory: sessionmaker[Session], *, slug: str, name: str, first_day: date, last_day: date,
                    freeze_at: datetime | None = None, boards=BOARDS) -> CampaignInfo:
    """A new campaign, in draft: its boards are not public until it is activated."""
    if not SLUG.match(slug or ""):
        raise ConfigError("invalid_slug", "活动代码只能包含小写字母、数字和连字符，且以字母或数字开头")
    if not (name or "").strip():
        raise ConfigError("invalid_name", "活动名称必填")
    starts, ends = _window(first_day, last_day)
    with transaction(factory) as session:
        if session.scalar(select(Campaign).where(Campaign.slug == slug)):
            raise Conflict("slug_taken", f"活动代码 {slug} 已存在")
        campaign = Campaign(slug=slug, name=name.strip(), starts_at=starts, ends_at=ends, status="draft",
                            freeze_at=_utc(freeze_at), boards=_check_boards(boards))
        session.add(campaign)
        session.flush()
        return _info(campaign)


_UNSET = object()


def update_campaign(factory: sessionmaker[Session], slug: str, *, name: str | None = None,
                    first_day: date | None = None, last_day: date | None = None, freeze_at=_UNSET,
                    boards=None) -> CampaignInfo:
    """Change what was given; freeze_at=None clears the freeze time. A closed campaign is final."""
    with transaction(factory) as session:
        campaign = _get_campaign(session, slug)
        if campaign.status == "closed":
            raise Conflict("campaign_closed", "活动已结束，不能再修改")
        if name is not None:
            if not name.strip():
                raise ConfigError("invalid_name", "活动名称必填")
            campaign.name = name.strip()
        if first_day is not None or last_day is not None:
            current = _info(campaign)
            campaign.starts_at, campaign.ends_at = _window(first_day or current.first_day,
                                                           last_day or current.last_day)
        if freeze_at is not _UNSET:
            campaign.freeze_at = _utc(freeze_at)
        if boards is not None:
            campaign.boards = _check_boards(boards)
        session.flush()
        return _info(campaign)


def transition_campaign(factory: sessionmaker[Session], slug: str, to_status: str) -> CampaignInfo:
    with transaction(factory) as session:
        campaign = _get_campaign(session, slug)
        require_transition(TRANSITIONS, STATUS_NAMES_ZH, "活动状态", campaign.status, to_status)
        campaign.status = to_status
        session.flush()
        return _info(campaign)


def delete_campaign(factory: sessionmaker[Session], slug: str) -> None:
    """Only a draft can be deleted: a campaign that went live keeps its history."""
    with transaction(factory) as session:
        campaign = _get_campaign(session, slug)
        if campaign.status != "draft":
            raise Conflict("campaign_not_draft", "只有草稿状态的活动可以删除")
        session.delete(campaign)


def _get_campaign(session: Session, slug: str) -> Campaign:
    campaign = session.scalar(select(Campaign).where(Campaign.slug == slug))
    if campaign is None:
        raise NotFound("campaign_not_found", f"活动 {slug} 不存在")
    return campaign


def get_campaign(factory: sessionmaker[Session], slug: str) -> CampaignInfo | None:
    with factory() as session:
        campaign = session.scalar(select(Campaign).where(Campaign.slug == slug))
        return _info(campaign) if campaign else None


def list_campaigns(factory: sessionmaker[Session], statuses: tuple[str, ...] = ("active", "frozen")) -> list[CampaignInfo]:
    with factory() as session:
        rows = session.scalars(select(Campaign).where(Campaign.status.in_(statuses)).order_by(Campaign.id)).all()
        return [_info(c) for c in rows]


def all_campaigns(factory: sessionmaker[Session]) -> list[CampaignInfo]:
    return list_campaigns(factory, statuses=CAMPAIGN_STATUSES)


def attribution(factory: sessionmaker[Session], board: str) -> Attribution:
    model, account_model, fk = ((Host, HostAccount, HostAccount.host_id) if board == "hosts"
                                else (Enterprise, EnterpriseAccount, EnterpriseAccount.enterprise_id))
    with factory() as session:
        ids = tuple(session.scalars(select(model.id).order_by(model.id)).all())
        accounts = {(platform, account): owner for platform, account, owner in
                    session.execute(select(account_model.platform, account_model.account_id, fk)).all()}
    return Attribution(ids=ids, accounts=accounts)


def names(factory: sessionmaker[Session], board: str) -> dict[str, str]:
    model = Host if board == "hosts" else Enterprise
    with factory() as session:
        return {pid: name for pid, name in session.execute(select(model.id, model.name))}


def counties(factory: sessionmaker[Session], board: str) -> dict[str, str]:
    model = Host if board == "hosts" else Enterprise
    with factory() as session:
        return {pid: county for pid, county in session.execute(select(model.id, model.county))}


def disqualified(factory: sessionmaker[Session], campaign_slug: str, board: str) -> dict[str, str]:
    kind = "host" if board == "hosts" else "enterprise"
    with factory() as session:
        rows = session.execute(select(Disqualification.participant_id, Disqualification.reason).where(
            Disqualification.campaign_slug == campaign_slug, Disqualification.kind == kind))
        return {pid: reason for pid, reason in rows}


def list_disqualifications(factory: sessionmaker[Session], campaign_slug: str) -> list[dict]:
    with factory() as session:
        rows = session.scalars(select(Disqualification).where(Disqualification.campaign_slug == campaign_slug)
                               .order_by(Disqualification.id)).all()
        return [{"board": "hosts" if d.kind == "host" else "enterprises", "participant_id": d.participant_id,
                 "reason": d.reason, "created_at": as_utc(d.created_at).isoformat()} for d in rows]


def disqualify(factory: sessionmaker[Session], campaign_slug: str, board: str, participant_id: str, reason: str) -> None:
    if not reason.strip():
        raise ConfigError("reason_required", "取消资格必须填写原因")
    if board not in BOARDS:
        raise ConfigError("invalid_board", "榜单只能是 hosts 或 enterprises")
    kind = "host" if board == "hosts" else "enterprise"
    with transaction(factory) as session:
        existing = session.scalar(select(Disqualification).where(
            Disqualification.campaign_slug == campaign_slug, Disqualification.kind == kind,
            Disqualification.participant_id == participant_id))
        if existing:
            existing.reason = reason
        else:
            session.add(Disqualification(campaign_slug=campaign_slug, kind=kind, participant_id=participant_id,
                                         reason=reason))


def requalify(factory: sessionmaker[Session], campaign_slug: str, board: str, participant_id: str) -> None:
    kind = "host" if board == "hosts" else "enterprise"
    with transaction(factory) as session:
        existing = session.scalar(select(Disqualification).where(
            Disqualification.campaign_slug == campaign_slug, Disqualification.kind == kind,
            Disqualification.participant_id == participant_id))
        if existing is None:
            raise NotFound("not_disqualified", f"{participant_id} 在该活动中未被取消资格")
        session.delete(existing)  # an ORM delete, so the audit log sees it


def list_participants(factory: sessionmaker[Session], board: str) -> list[dict]:
    """Hosts (with platform accounts and the enterprises they sell for) or enterprises."""
    with factory() as session:
        if board == "hosts":
            return [{"id": h.id, "name": h.name, "county": h.county,
                     "accounts": [f"{a.platform}:{a.account_id}" for a in h.accounts],
                     "enterprises": [link.enterprise_id for link in h.enterprise_links]}
                    for h in session.scalars(select(Host).order_by(Host.id)).all()]
        return [{"id": e.id, "name": e.name, "county": e.county, "credit_code": e.credit_code,
                 "tax_compliant": e.tax_compliant, "accounts": [f"{a.platform}:{a.account_id}" for a in e.accounts]}
                for e in session.scalars(select(Enterprise).order_by(Enterprise.id)).all()]


def register_account(factory: sessionmaker[Session], board: str, platform: str, account_id: str,
                     participant_id: str) -> None:
    """Credit a posted platform account to a registered participant (re-attribution): the next
    ranking run counts everything that account sold, past events included."""
    with transaction(factory) as session:
        add_account(session, board, platform, account_id, participant_id)


def add_account(session: Session, board: str, platform: str, account_id: str, participant_id: str) -> None:
    """`register_account` inside the caller's transaction (a platform connection registers its
    shop together with the connection)."""
    model, account_model, owner = ((Host, HostAccount, "host_id") if board == "hosts"
                                   else (Enterprise, EnterpriseAccount, "enterprise_id"))
    if not platform or not account_id:
        raise ConfigError("invalid_account", "平台和账号必填")
    if session.get(model, participant_id) is None:
        raise NotFound("participant_not_found", f"参与者 {participant_id} 未登记")
    existing = session.scalar(select(account_model).where(account_model.platform == platform,
                                                          account_model.account_id == account_id))
    if existing is not None:
        if getattr(existing, owner) == participant_id:
            return
        raise Conflict("account_taken", f"账号 {platform}:{account_id} 已归属 {getattr(existing, owner)}")
    session.add(account_model(platform=platform, account_id=account_id, **{owner: participant_id}))
