"""Award lists and their inputs: computed lists (versioned, draft -> frozen -> 公示 -> final), their
items, the review steps recorded on each item, organizers' station quality scores and regional
annual targets. Every table here is audited (configstore/audit.py)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from configstore.db import Base
from configstore.models import utcnow


class AwardList(Base):
    """One version of one award list: kind × scope (a campaign or a Shanghai year)."""

    __tablename__ = "award_lists"
    __table_args__ = (UniqueConstraint("kind", "scope", "scope_key", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # top_enterprises|top_influencers|sales_milestone|station_rating
    scope: Mapped[str] = mapped_column(String(16))  # campaign|year
    scope_key: Mapped[str] = mapped_column(String(64))  # campaign slug or "2026"
    version: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(16), default="draft")  # draft|frozen|notice|final
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # minimums, policy, ...
    notice_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    notice_end: Mapped[date | None] = mapped_column(Date, nullable=True)
    based_on_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the version this one revises
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="system")
    frozen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finalized_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    items: Mapped[list["AwardItem"]] = relationship(back_populates="award_list", cascade="all, delete-orphan",
                                                    order_by="AwardItem.position")


class AwardItem(Base):
    """One line of a list: a winner (or, for milestones, a decision) with its amount and evidence."""

    __tablename__ = "award_items"
    __table_args__ = (UniqueConstraint("list_id", "participant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("award_lists.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    participant_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64), default="")  # station level, milestone tier label, ...
    amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    metric_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # net GMV / annual sales / volume
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    included: Mapped[bool] = mapped_column(Boolean, default=True)  # False: removed by an adjustment
    adjusted: Mapped[bool] = mapped_column(Boolean, default=False)
    adjustment_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    adjusted_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    award_list: Mapped[AwardList] = relationship(back_populates="items")
    reviews: Mapped[list["AwardReview"]] = relationship(cascade="all, delete-orphan", order_by="AwardReview.id")


class AwardReview(Base):
    """One review step on one award: 县级初审 → 州商务局 → 专家评审 → 州政府审定, who and when."""

    __tablename__ = "award_reviews"
    __table_args__ = (UniqueConstraint("item_id", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("award_items.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(32))
    decision: Mapped[str] = mapped_column(String(16))  # approved|rejected
    reviewer: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(String(500), default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StationScore(Base):
    """A service station's yearly service-quality score (0–100, as text to stay exact) entered by
    organizers, and optionally its transaction volume when it is not derived from sales data."""

    __tablename__ = "station_scores"
    __table_args__ = (UniqueConstraint("station_id", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("service_stations.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    quality_score: Mapped[str] = mapped_column(String(8))
    volume_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class RegionTarget(Base):
    """A region's annual sales target (fen)."""

    __tablename__ = "region_targets"
    __table_args__ = (UniqueConstraint("region_code", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    annual_target_fen: Mapped[int] = mapped_column(BigInteger)
