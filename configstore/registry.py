"""The participant registry: campaigns, hosts, enterprises, accounts, disqualifications.

Reads return plain data (dataclasses, dicts) so the ranking job and the API never hold
ORM objects across threads.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from analytics.boards import Attribution
from configstore.db import transaction
from configstore.models import (Campaign, Disqualification, Enterprise, EnterpriseAccount, Host, HostAccount)

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAMPAIGN_STATUSES = ("draft", "active", "frozen", "closed")


@dataclass(frozen=True)
class CampaignInfo:
    slug: str
    name: str
    first_day: date  # Shanghai calendar days, inclusive: campaigns run whole days
    last_day: date
    status: str
    freeze_at: datetime | None

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
                "freeze_at": self.freeze_at.isoformat() if self.freeze_at else None}


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes even for timezone=True columns; they were stored as UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def _info(campaign: Campaign) -> CampaignInfo:
    starts, ends = _aware(campaign.starts_at), _aware(campaign.ends_at)
    return CampaignInfo(
        slug=campaign.slug, name=campaign.name,
        first_day=starts.astimezone(SHANGHAI).date(),
        last_day=(ends - timedelta(seconds=1)).astimezone(SHANGHAI).date(),
        status=campaign.status, freeze_at=_aware(campaign.freeze_at),
    )


def upsert_campaign(factory: sessionmaker[Session], *, slug: str, name: str, first_day: date, last_day: date,
                    status: str = "active", freeze_at: datetime | None = None) -> CampaignInfo:
    if status not in CAMPAIGN_STATUSES:
        raise ValueError(f"status must be one of {CAMPAIGN_STATUSES}")
    if last_day < first_day:
        raise ValueError("last_day before first_day")
    starts = datetime.combine(first_day, time(0), SHANGHAI).astimezone(timezone.utc)
    ends = datetime.combine(last_day + timedelta(days=1), time(0), SHANGHAI).astimezone(timezone.utc)
    with transaction(factory) as session:
        campaign = session.scalar(select(Campaign).where(Campaign.slug == slug))
        if campaign is None:
            campaign = Campaign(slug=slug, name=name, starts_at=starts, ends_at=ends)
            session.add(campaign)
        campaign.name, campaign.starts_at, campaign.ends_at = name, starts, ends
        campaign.status, campaign.freeze_at = status, freeze_at
        session.flush()
        return _info(campaign)


def get_campaign(factory: sessionmaker[Session], slug: str) -> CampaignInfo | None:
    with factory() as session:
        campaign = session.scalar(select(Campaign).where(Campaign.slug == slug))
        return _info(campaign) if campaign else None


def list_campaigns(factory: sessionmaker[Session], statuses: tuple[str, ...] = ("active", "frozen")) -> list[CampaignInfo]:
    with factory() as session:
        rows = session.scalars(select(Campaign).where(Campaign.status.in_(statuses)).order_by(Campaign.id)).all()
        return [_info(c) for c in rows]


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
        return dict(session.execute(select(model.id, model.name)).all())


def counties(factory: sessionmaker[Session], board: str) -> dict[str, str]:
    model = Host if board == "hosts" else Enterprise
    with factory() as session:
        return dict(session.execute(select(model.id, model.county)).all())


def disqualified(factory: sessionmaker[Session], campaign_slug: str, board: str) -> dict[str, str]:
    kind = "host" if board == "hosts" else "enterprise"
    with factory() as session:
        rows = session.execute(select(Disqualification.participant_id, Disqualification.reason).where(
            Disqualification.campaign_slug == campaign_slug, Disqualification.kind == kind)).all()
        return dict(rows)


def disqualify(factory: sessionmaker[Session], campaign_slug: str, board: str, participant_id: str, reason: str) -> None:
    if not reason.strip():
        raise ValueError("取消资格必须填写原因")
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
        session.execute(delete(Disqualification).where(
            Disqualification.campaign_slug == campaign_slug, Disqualification.kind == kind,
            Disqualification.participant_id == participant_id))
