"""Awards reaching the hosts: the 获奖通知 when a list with hosts on it reaches 公示中 or 已定稿, and
the 销售里程碑 message when a host first passes one of the campaign's milestones.

Both enqueue in the outbox (wechat.pushes) inside the transaction of the business change, and both
are once only: an award message per host per award (kind, scope, key: whatever the version or the
state), a milestone message per host per campaign milestone (the dedupe keys, plus the recorded
milestone hits).
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from configstore import host_milestones, registry, snapshots
from configstore.awards import KINDS, STATE_NAMES_ZH, published_items
from configstore.db import transaction
from configstore.models import Campaign
from domain.money import format_yuan
from wechat.pushes import PushTemplates, enqueue_award_granted, enqueue_milestone_reached

log = logging.getLogger(__name__)

HOST_KINDS = ("top_influencers",)  # the lists whose winners are hosts


def award_title(campaign_name: str | None, award_list: dict) -> str:
    """"<campaign name> <kind name>", or "2026 年度 <kind name>"."""
    if award_list["scope"] == "year":
        return f"{award_list['scope_key']} 年度 {award_list['kind_name']}"
    return f"{campaign_name or award_list['scope_key']} {award_list['kind_name']}"


def _campaign_name(session: Session, slug: str) -> str | None:
    return session.scalar(select(Campaign.name).where(Campaign.slug == slug))


def award_notifier(templates: PushTemplates) -> Callable[[Session, dict], None]:
    """The callback services.awards.transition_list runs when a list reaches 公示中 or 已定稿."""

    def notify(session: Session, award_list: dict) -> None:
        if award_list["kind"] not in HOST_KINDS:
            return
        campaign = _campaign_name(session, award_list["scope_key"]) if award_list["scope"] == "campaign" else None
        title = award_title(campaign, award_list)
        state = "公示中，公示期至" + award_list["notice_end"] if award_list["state"] == "notice" else "已定稿"
        sent = 0
        for item in award_list["items"]:
            if not item["included"]:
                continue
            place = item["detail"].get("place") or item["position"]
            note = f"第{place}名，{state}" if award_list["state"] == "notice" else f"第{place}名，名单{state}"
            sent += int(enqueue_award_granted(
                session, templates, host_id=item["participant_id"],
                award_id=f"{award_list['kind']}:{award_list['scope']}:{award_list['scope_key']}",
                award_name=KINDS[award_list["kind"]], amount_fen=item["amount_fen"],
                campaign_name=campaign or f"{award_list['scope_key']} 年度", note=note))
        if sent:
            log.info("awards: %s award messages enqueued for list %s (%s)", sent, award_list["id"], title)

    return notify


def milestone_name(amount_fen: int) -> str:
    """"累计成交额达到10万元" / "…达到500元" / "…达到123.45元"."""
    yuan, fen = divmod(amount_fen, 100)
    if fen:
        return f"累计成交额达到{format_yuan(amount_fen)}"
    if yuan % 10_000 == 0:
        return f"累计成交额达到{yuan // 10_000:,}万元"
    return f"累计成交额达到{yuan:,}元"


def enqueue_milestone_pushes(sessions: sessionmaker[Session], templates: PushTemplates,
                             now: datetime | None = None) -> dict[str, int]:
    """For each running campaign with milestones: hosts on its latest published campaign board whose net
    GMV reached a milestone not yet recorded for them get it recorded and one message enqueued (a host
    without a bound WeChat user just gets the record)."""
    now = now or datetime.now(timezone.utc)
    counts = {"hits": 0, "enqueued": 0}
    configured = host_milestones.amounts(sessions)
    for campaign in registry.list_campaigns(sessions, statuses=("active", "frozen", "closed")):
        amounts = configured.get(campaign.slug)
        if not amounts:
            continue
        snap = snapshots.latest(sessions, campaign.slug, "hosts", "campaign", campaign.slug)
        if snap is None:
            continue
        seen = host_milestones.hits(sessions, campaign.slug)
        new = [(e["id"], amount, e["net_gmv_fen"]) for e in snap.entries for amount in amounts
               if e["net_gmv_fen"] >= amount and (e["id"], amount) not in seen]
        if not new:
            continue
        with transaction(sessions) as session:
            for host_id, amount, net in new:
                if not host_milestones.record_hit(session, campaign.slug, host_id, amount, net, now):
                    continue  # another process got there first
                counts["hits"] += 1
                counts["enqueued"] += int(enqueue_milestone_reached(
                    session, templates, host_id=host_id, milestone_id=f"{campaign.slug}:{amount}",
                    milestone_name=milestone_name(amount), total_fen=net, campaign_name=campaign.name))
    if counts["hits"]:
        log.info("milestones: %(hits)s hosts passed a milestone, %(enqueued)s messages enqueued", counts)
    return counts


def host_awards(sessions: sessionmaker[Session], host_id: str, host_name: str) -> dict:
    """The bound host's awards for the mini-program's 奖项 tab, newest first (contract: docs/awards.md)."""
    campaigns = {c.slug: c.name for c in registry.all_campaigns(sessions)}
    awards = []
    for award_list, item in published_items(sessions, host_id, HOST_KINDS):
        updated = award_list["state_changed_at"] or award_list["finalized_at"] or award_list["computed_at"]
        awards.append({
            "list_id": award_list["id"], "kind": award_list["kind"], "kind_name": award_list["kind_name"],
            "scope": award_list["scope"], "scope_key": award_list["scope_key"],
            "title": award_title(campaigns.get(award_list["scope_key"]), award_list),
            "rank": item["detail"].get("place") or item["position"], "category": item["category"],
            "amount_fen": item["amount_fen"], "state": award_list["state"],
            "state_name": STATE_NAMES_ZH[award_list["state"]],
            "notice_ends_on": award_list["notice_end"] if award_list["state"] == "notice" else None,
            "updated_at": updated})
    awards.sort(key=lambda a: (a["updated_at"], a["list_id"]), reverse=True)
    return {"host": {"id": host_id, "name": host_name}, "awards": awards,
            "updated_at": awards[0]["updated_at"] if awards else None}
