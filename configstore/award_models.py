"""Award lists and their inputs: computed lists (versioned, draft -> frozen -> 公示 -> final), their
items, the review steps recorded on each item, the grant ledger, enterprises' tax status per year,
yearly budgets, organizers' station quality scores, regional annual targets and campaign host
milestones. Every table here except the milestone hits (bookkeeping of a job) is audited
(configstore/audit.py)."""
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
    LargeBinary,
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
    state_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
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
    """One review step on one award: 县市区初审 → 州开放型经济领导小组办公室 → 专家评审 → 州政府审定, who and when."""

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
    organizers. Its transaction volume is not entered: it is the sales credited to its area."""

    __tablename__ = "station_scores"
    __table_args__ = (UniqueConstraint("station_id", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("service_stations.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    quality_score: Mapped[str] = mapped_column(String(8))


class RegionTarget(Base):
    """A region's annual sales target (fen)."""

    __tablename__ = "region_targets"
    __table_args__ = (UniqueConstraint("region_code", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    annual_target_fen: Mapped[int] = mapped_column(BigInteger)


class GrantLedgerEntry(Base):
    """One grant that reached a final award list or an approved application: who, what, which year,
    how much, where it came from, and its payment status (pending -> paid, or revoked with a reason).
    Never deleted; a recompute or a new version cannot remove it (domain.ledger)."""

    __tablename__ = "grant_ledger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_kind: Mapped[str] = mapped_column(String(16))  # enterprise|station|county|organisation|host
    recipient_id: Mapped[str] = mapped_column(String(64), index=True)
    recipient_name: Mapped[str] = mapped_column(String(200))
    county_code: Mapped[str] = mapped_column(String(6), default="")  # where the recipient is (county scope)
    reward_code: Mapped[str] = mapped_column(String(48))  # domain.catalogue
    year: Mapped[int] = mapped_column(Integer, index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    funding: Mapped[str] = mapped_column(String(16))  # the fund charged: "prefecture" or a county code
    source: Mapped[str] = mapped_column(String(16))  # award_list|application
    source_label: Mapped[str] = mapped_column(String(200))
    list_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    list_kind: Mapped[str | None] = mapped_column(String(32), nullable=True)
    list_scope: Mapped[str | None] = mapped_column(String(16), nullable=True)
    list_scope_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    list_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    application_id: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|paid|revoked
    status_note: Mapped[str] = mapped_column(String(500), default="")
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    status_changed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    review_note: Mapped[str] = mapped_column(String(2000), default="")  # the latest review flag on it
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="system")


class EnterpriseTaxStatus(Base):
    """An enterprise's tax status for one year: compliant | non_compliant (unverified = no row, or a
    row saying so explicitly)."""

    __tablename__ = "enterprise_tax_status"
    __table_args__ = (UniqueConstraint("enterprise_id", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # compliant|non_compliant|unverified
    note: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Budget(Base):
    """A fund's budget for a year (fen): the prefecture's special fund or a county's."""

    __tablename__ = "budgets"
    __table_args__ = (UniqueConstraint("holder", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder: Mapped[str] = mapped_column(String(16))  # "prefecture" or a county code
    year: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)


class CampaignHostMilestones(Base):
    """A campaign's host sales milestones (net GMV in fen, ascending): each host passing one gets one
    销售里程碑 message."""

    __tablename__ = "campaign_host_milestones"

    campaign_slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    amounts_fen: Mapped[list[int]] = mapped_column(JSON, default=list)


class HostMilestoneHit(Base):
    """A host passed a campaign milestone (recorded once, when the job first saw it)."""

    __tablename__ = "host_milestone_hits"
    __table_args__ = (UniqueConstraint("campaign_slug", "host_id", "amount_fen"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_slug: Mapped[str] = mapped_column(String(64), index=True)
    host_id: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    net_gmv_fen: Mapped[int] = mapped_column(BigInteger)
    reached_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Application(Base):
    """An application for a reward of the catalogue that is applied for (domain.catalogue), with its
    evidence and its review steps: 县市区初审 -> 州开放型经济领导小组办公室 -> 专家评审 -> 州政府审定 -> 兑付."""

    __tablename__ = "award_applications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reward_code: Mapped[str] = mapped_column(String(48))
    year: Mapped[int] = mapped_column(Integer, index=True)
    recipient_kind: Mapped[str] = mapped_column(String(16))
    recipient_id: Mapped[str] = mapped_column(String(64), index=True)
    recipient_name: Mapped[str] = mapped_column(String(200))
    county_code: Mapped[str] = mapped_column(String(6), index=True)  # the county that pre-reviews it
    summary: Mapped[str] = mapped_column(String(2000), default="")
    requested_amount_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # open amounts only
    amount_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # committed at approval
    state: Mapped[str] = mapped_column(String(24), default="submitted")
    decision_note: Mapped[str] = mapped_column(String(1000), default="")
    superseded_by_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ledger_entry_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="system")
    steps: Mapped[list["ApplicationStep"]] = relationship(cascade="all, delete-orphan", order_by="ApplicationStep.id")
    files: Mapped[list["ApplicationFile"]] = relationship(cascade="all, delete-orphan", order_by="ApplicationFile.id")


class ApplicationStep(Base):
    """One review step on an application: who, when, the decision and a note."""

    __tablename__ = "award_application_steps"
    __table_args__ = (UniqueConstraint("application_id", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("award_applications.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(32))
    decision: Mapped[str] = mapped_column(String(16))  # approved|rejected
    actor: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(String(1000), default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApplicationFile(Base):
    """An evidence file (PDF, image, spreadsheet, document), kept in the config store so backups carry
    it; size-limited and type-checked on upload (configstore.applications)."""

    __tablename__ = "award_application_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("award_applications.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
