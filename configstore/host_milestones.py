"""Campaign host sales milestones (e.g. 10万 / 50万 / 100万元 of net GMV) and the hits recorded when a
host first passes one (one 销售里程碑 message per host per milestone: services.notices)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from configstore.award_models import CampaignHostMilestones, HostMilestoneHit
from configstore.db import as_utc, transaction
from configstore.errors import ConfigError, NotFound
from configstore.models import Campaign

MAX_MILESTONES = 10


def set_amounts(factory: sessionmaker[Session], campaign_slug: str, amounts_fen: list[int]) -> dict:
    if not isinstance(amounts_fen, list) or any(isinstance(a, bool) or not isinstance(a, int) or a <= 0
                                                for a in amounts_fen):
        raise ConfigError("invalid_milestones", "里程碑金额应为大于 0 的整数（分）")
    amounts = sorted(set(amounts_fen))
    if len(amounts) > MAX_MILESTONES:
        raise ConfigError("invalid_milestones", f"每个活动最多设 {MAX_MILESTONES} 个里程碑")
    with transaction(factory) as session:
        if session.scalar(select(Campaign.id).where(Campaign.slug == campaign_slug)) is None:
            raise NotFound("campaign_not_found", f"活动 {campaign_slug} 不存在")
        row = session.get(CampaignHostMilestones, campaign_slug)
        if row is None:
            session.add(CampaignHostMilestones(campaign_slug=campaign_slug, amounts_fen=amounts))
        else:
            row.amounts_fen = amounts
    return {"campaign": campaign_slug, "amounts_fen": amounts}


def amounts(factory: sessionmaker[Session], campaign_slug: str | None = None) -> dict[str, list[int]]:
    query = select(CampaignHostMilestones)
    if campaign_slug is not None:
        query = query.where(CampaignHostMilestones.campaign_slug == campaign_slug)
    with factory() as session:
        return {row.campaign_slug: list(row.amounts_fen or []) for row in session.scalars(query).all()}


def hits(factory: sessionmaker[Session], campaign_slug: str) -> set[tuple[str, int]]:
    with factory() as session:
        return {(h, a) for h, a in session.execute(select(HostMilestoneHit.host_id, HostMilestoneHit.amount_fen)
                                                   .where(HostMilestoneHit.campaign_slug == campaign_slug)).all()}


def record_hit(session: Session, campaign_slug: str, host_id: str, amount_fen: int, net_gmv_fen: int,
               at: datetime) -> bool:
    """Inside the caller's transaction; False when the hit was already recorded."""
    exists = session.scalar(select(HostMilestoneHit.id).where(
        HostMilestoneHit.campaign_slug == campaign_slug, HostMilestoneHit.host_id == host_id,
        HostMilestoneHit.amount_fen == amount_fen))
    if exists is not None:
        return False
    session.add(HostMilestoneHit(campaign_slug=campaign_slug, host_id=host_id, amount_fen=amount_fen,
                                 net_gmv_fen=net_gmv_fen, reached_at=at))
    session.flush()
    return True


def list_hits(factory: sessionmaker[Session], campaign_slug: str) -> list[dict]:
    with factory() as session:
        rows = session.scalars(select(HostMilestoneHit).where(HostMilestoneHit.campaign_slug == campaign_slug)
                               .order_by(HostMilestoneHit.reached_at, HostMilestoneHit.id)).all()
        return [{"host_id": r.host_id, "amount_fen": r.amount_fen, "net_gmv_fen": r.net_gmv_fen,
                 "reached_at": as_utc(r.reached_at).isoformat()} for r in rows]
