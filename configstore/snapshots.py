"""Published boards: write a new snapshot only when standings change; read the latest or a past one."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from configstore.db import affected, as_utc, transaction
from configstore.models import BoardChange, BoardSnapshot, CampaignSummary, FrozenView
from domain.boards import TOP_N

KEEP_PER_PERIOD = 2  # the latest and the one before (for movement); a closed day keeps its final board


@dataclass(frozen=True)
class Snapshot:
    id: int
    campaign_slug: str
    board: str
    period_kind: str
    period_key: str
    computed_at: datetime
    published_at: datetime
    content_hash: str
    entries: list[dict[str, Any]]


def standings_hash(entries: list[dict[str, Any]]) -> str:
    """What makes a board different: who is where with what figures (not movement arrows)."""
    core = [{k: v for k, v in e.items() if k not in ("previous_rank", "movement")} for e in entries]
    return hashlib.sha256(json.dumps(core, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def _to_snapshot(row: BoardSnapshot) -> Snapshot:
    return Snapshot(row.id, row.campaign_slug, row.board, row.period_kind, row.period_key, as_utc(row.computed_at),
                    as_utc(row.published_at), row.content_hash, row.entries)


def latest(factory: sessionmaker[Session], campaign_slug: str, board: str, period_kind: str,
           period_key: str | None = None) -> Snapshot | None:
    with factory() as session:
        query = select(BoardSnapshot).where(BoardSnapshot.campaign_slug == campaign_slug,
                                            BoardSnapshot.board == board, BoardSnapshot.period_kind == period_kind)
        if period_key is not None:
            query = query.where(BoardSnapshot.period_key == period_key)
        row = session.scalar(query.order_by(BoardSnapshot.id.desc()).limit(1))
        return _to_snapshot(row) if row else None


def top_of(entries: list[dict[str, Any]], top_n: int = TOP_N) -> list[list[Any]]:
    """``[[participant_id, rank], ...]`` for the first ``top_n`` places."""
    return [[e["id"], e["rank"]] for e in entries if e["rank"] <= top_n]


def publish(factory: sessionmaker[Session], *, campaign_slug: str, board: str, period_kind: str, period_key: str,
            computed_at: datetime, entries: list[dict[str, Any]]) -> tuple[Snapshot, bool]:
    """Store the board if its standings changed; otherwise only move computed_at. Returns (snapshot, changed).

    When the new snapshot's top-N membership differs from the previous one's, a BoardChange fact is
    written in the same transaction, so no consumer can miss a change (or see one that was not published)."""
    content_hash = standings_hash(entries)
    with transaction(factory) as session:
        current = session.scalar(
            select(BoardSnapshot).where(BoardSnapshot.campaign_slug == campaign_slug, BoardSnapshot.board == board,
                                        BoardSnapshot.period_kind == period_kind,
                                        BoardSnapshot.period_key == period_key)
            .order_by(BoardSnapshot.id.desc()).limit(1))
        if current is not None and current.content_hash == content_hash:
            current.computed_at = computed_at
            session.flush()
            return _to_snapshot(current), False
        row = BoardSnapshot(campaign_slug=campaign_slug, board=board, period_kind=period_kind, period_key=period_key,
                            computed_at=computed_at, published_at=computed_at, content_hash=content_hash,
                            entries=entries, summary={})
        session.add(row)
        session.flush()
        before = top_of(current.entries) if current is not None else []
        after = top_of(entries)
        if {pid for pid, _ in before} != {pid for pid, _ in after}:
            session.add(BoardChange(campaign_slug=campaign_slug, board=board, period_kind=period_kind,
                                    period_key=period_key, snapshot_id=row.id,
                                    previous_snapshot_id=current.id if current is not None else None,
                                    top_n=TOP_N, before=before, after=after, created_at=computed_at))
        keep = session.scalars(
            select(BoardSnapshot.id).where(BoardSnapshot.campaign_slug == campaign_slug, BoardSnapshot.board == board,
                                           BoardSnapshot.period_kind == period_kind,
                                           BoardSnapshot.period_key == period_key)
            .order_by(BoardSnapshot.id.desc()).limit(KEEP_PER_PERIOD)).all()
        session.execute(delete(BoardSnapshot).where(
            BoardSnapshot.campaign_slug == campaign_slug, BoardSnapshot.board == board,
            BoardSnapshot.period_kind == period_kind, BoardSnapshot.period_key == period_key,
            BoardSnapshot.id.not_in(keep)))
        return _to_snapshot(row), True


def save_summary(factory: sessionmaker[Session], campaign_slug: str, computed_at: datetime, content: dict) -> None:
    with transaction(factory) as session:
        row = session.get(CampaignSummary, campaign_slug)
        if row is None:
            session.add(CampaignSummary(campaign_slug=campaign_slug, computed_at=computed_at, content=content))
        else:
            row.computed_at, row.content = computed_at, content


def load_summary(factory: sessionmaker[Session], campaign_slug: str) -> tuple[datetime, dict] | None:
    with factory() as session:
        row = session.get(CampaignSummary, campaign_slug)
        return (as_utc(row.computed_at), row.content) if row else None


# -- the freeze (services/freeze.py) ----------------------------------------------------------
FROZEN_MARKER = "frozen"  # the view saved last: its presence says the whole freeze is stored


def save_frozen(factory: sessionmaker[Session], campaign_slug: str, frozen_at: datetime,
                views: dict[str, dict[str, Any]]) -> None:
    """Store a campaign's public views as they stood at the freeze, in one transaction."""
    with transaction(factory) as session:
        session.execute(delete(FrozenView).where(FrozenView.campaign_slug == campaign_slug))
        for key, payload in views.items():
            session.add(FrozenView(campaign_slug=campaign_slug, view_key=key, frozen_at=frozen_at, payload=payload))
        session.add(FrozenView(campaign_slug=campaign_slug, view_key=FROZEN_MARKER, frozen_at=frozen_at,
                               payload={"views": len(views)}))


def frozen_at(factory: sessionmaker[Session], campaign_slug: str) -> datetime | None:
    """When the campaign's public views were frozen (None: not stored)."""
    with factory() as session:
        row = session.get(FrozenView, (campaign_slug, FROZEN_MARKER))
        return as_utc(row.frozen_at) if row else None


def frozen_view(factory: sessionmaker[Session], campaign_slug: str, view_key: str) -> dict[str, Any] | None:
    with factory() as session:
        row = session.get(FrozenView, (campaign_slug, view_key))
        return dict(row.payload) if row else None


def clear_frozen(factory: sessionmaker[Session], campaign_slug: str) -> int:
    """The freeze was lifted: public views go live again."""
    with transaction(factory) as session:
        return affected(session.execute(delete(FrozenView).where(FrozenView.campaign_slug == campaign_slug)))
