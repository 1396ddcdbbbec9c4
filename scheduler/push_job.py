"""Push jobs: rank changes -> outbox rows, and outbox -> WeChat subscribe/send.

The ranking job knows nothing of WeChat: when a published board's top ten changes it records a
BoardChange fact (configstore.snapshots.publish). ``enqueue_rank_pushes`` turns unprocessed facts
into outbox rows for bound hosts and marks each fact processed in the SAME transaction, so a crash
either leaves both undone (the next run redoes them) or both done. Dedupe keys make a second
process working on the same fact harmless.

Only the hosts board over the whole campaign sends messages: a subscription is a one-time credit,
and today's board reshuffles from zero every morning, which would burn credits on noise.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from configstore import registry
from configstore.db import affected, transaction
from configstore.models import BoardChange, BoardSnapshot
from domain.clock import SYSTEM_CLOCK
from services.runtime import Runtime
from wechat.outbox import DeliveryReport, deliver_pending
from wechat.pushes import PushTemplates, enqueue_rank_change

log = logging.getLogger(__name__)

PUSH_BOARDS = {("hosts", "campaign")}
KEEP_PROCESSED = timedelta(days=7)


def _position(entries: list[dict], host_id: str, top_n: int) -> tuple[int | None, int | None]:
    """(rank, gap to the top_n-th in fen) on a board; (None, None) when not ranked."""
    mine = next((e for e in entries if e["id"] == host_id), None)
    if mine is None:
        return None, None
    if mine["rank"] <= top_n or len(entries) < top_n:
        return mine["rank"], 0
    return mine["rank"], entries[top_n - 1]["net_gmv_fen"] - mine["net_gmv_fen"] + 1


def enqueue_rank_pushes(sessions: sessionmaker[Session], templates: PushTemplates,
                        now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Turn unprocessed BoardChange facts into outbox rows. Returns counts."""
    now = now or SYSTEM_CLOCK.now()
    counts = {"changes": 0, "enqueued": 0}
    with sessions() as s:
        ids = list(s.scalars(select(BoardChange.id).where(BoardChange.processed_at.is_(None))
                             .order_by(BoardChange.id).limit(limit)))
    names: dict[str, str] = {}
    for change_id in ids:
        with transaction(sessions) as s:
            # claim first: the UPDATE takes the write lock, and only one process matches
            if affected(s.execute(update(BoardChange).where(BoardChange.id == change_id,
                                                            BoardChange.processed_at.is_(None))
                                  .values(processed_at=now))) != 1:
                continue
            change = s.get(BoardChange, change_id)
            if change is None:  # deleted meanwhile (the week-old purge below): nothing to send
                continue
            counts["changes"] += 1
            if (change.board, change.period_kind) not in PUSH_BOARDS:
                continue
            before = {pid for pid, _ in change.before}
            after = {pid for pid, _ in change.after}
            snap = s.get(BoardSnapshot, change.snapshot_id)
            entries = snap.entries if snap is not None else []
            if change.campaign_slug not in names:
                campaign = registry.get_campaign(sessions, change.campaign_slug)
                names[change.campaign_slug] = campaign.name if campaign else change.campaign_slug
            for kind, hosts in (("entered", after - before), ("left", before - after)):
                for host_id in sorted(hosts):
                    rank, gap = _position(entries, host_id, change.top_n)
                    counts["enqueued"] += int(enqueue_rank_change(
                        s, templates, campaign_slug=change.campaign_slug,
                        campaign_name=names[change.campaign_slug], board=change.board,
                        period_key=change.period_key, host_id=host_id, change=kind, rank=rank,
                        gap_to_top_fen=gap, snapshot_id=change.snapshot_id))
    if ids:
        with transaction(sessions) as s:
            s.execute(delete(BoardChange).where(BoardChange.processed_at.is_not(None),
                                                BoardChange.processed_at < now - KEEP_PROCESSED))
    if counts["enqueued"]:
        log.info("push: %(changes)s board changes -> %(enqueued)s outbox rows", counts)
    return counts


def deliver(sessions: sessionmaker[Session], client: Any, settings: Any,
            now: datetime | None = None) -> DeliveryReport:
    """One delivery pass over the outbox (safe to run from several processes)."""
    naive_now = (now or SYSTEM_CLOCK.now()).astimezone(timezone.utc).replace(tzinfo=None)
    report = deliver_pending(sessions, client, now=naive_now, lease_seconds=settings.push_lease_seconds,
                             miniprogram_state=settings.wechat_miniprogram_state or None)
    if report.sent or report.failed or report.retried:
        log.info("push: delivered sent=%s no_credit=%s retried=%s failed=%s", report.sent, report.no_credit,
                 report.retried, report.failed)
    return report


def add_push_jobs(scheduler: Any, runtime: Runtime) -> bool:
    """Register both jobs on an APScheduler scheduler; False (nothing added) without WeChat config."""
    client = runtime.wechat
    if client is None:
        log.info("scheduler: WeChat not configured; push jobs off")
        return False
    settings, sessions = runtime.settings, runtime.sessions
    templates = PushTemplates.from_settings(settings)
    common = dict(trigger="interval", seconds=settings.push_interval_seconds, max_instances=1, coalesce=True,
                  next_run_time=runtime.clock.now())
    scheduler.add_job(lambda: enqueue_rank_pushes(sessions, templates, runtime.clock.now()), id="push-enqueue",
                      **common)
    scheduler.add_job(lambda: _deliver_logged(sessions, client, settings, runtime.clock.now()), id="push-deliver",
                      **common)
    return True


def _deliver_logged(sessions: sessionmaker[Session], client: Any, settings: Any, now: datetime) -> None:
    try:
        deliver(sessions, client, settings, now)
    except Exception:  # the next tick tries again; the outbox keeps every row
        log.exception("push delivery run failed")
