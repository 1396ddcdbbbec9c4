"""Config store models: webhook sources, campaigns, participants, places, snapshots.

Participants are referred to by stable string ids (the organizer's own codes, e.g. "H001"),
because those ids travel in webhooks, spreadsheets and URLs.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from configstore.db import Base


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class WebhookSource(Base):
    __tablename__ = "webhook_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # What it may report (domain/scope.py): platforms; optionally campaigns and enterprises. NULL: any.
    platforms: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    campaigns: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    enterprises: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    secrets: Mapped[list["WebhookSecret"]] = relationship(back_populates="source", cascade="all, delete-orphan",
                                                         order_by="WebhookSecret.id")


class WebhookSecret(Base):
    """A signing secret. At most two are active per source, so a sender can rotate without downtime.

    The secret itself must be kept (HMAC needs it); it is shown to people only once and stored
    sealed (configstore.secretbox: "fernet:" + a Fernet token of the whsec_ text).
    """

    __tablename__ = "webhook_secrets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("webhook_sources.id", ondelete="CASCADE"), index=True)
    secret: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    source: Mapped[WebhookSource] = relationship(back_populates="secrets")


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The window is entered in Asia/Shanghai and stored in UTC.
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft|active|frozen|closed
    freeze_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Which boards the campaign shows: a subset of ["hosts", "enterprises"].
    boards: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["hosts", "enterprises"])
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Host(Base):
    __tablename__ = "hosts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    county: Mapped[str] = mapped_column(String(6), default="")
    region_code: Mapped[str] = mapped_column(String(12), default="")  # any level of the region tree; "" unknown
    accounts: Mapped[list["HostAccount"]] = relationship(back_populates="host", cascade="all, delete-orphan")
    enterprise_links: Mapped[list["HostEnterprise"]] = relationship(cascade="all, delete-orphan",
                                                                    order_by="HostEnterprise.enterprise_id")


class HostAccount(Base):
    """A host's account on a platform: events naming this account are credited to the host."""

    __tablename__ = "host_accounts"
    __table_args__ = (UniqueConstraint("platform", "account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host_id: Mapped[str] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[str] = mapped_column(String(64))
    host: Mapped[Host] = relationship(back_populates="accounts")


class Enterprise(Base):
    __tablename__ = "enterprises"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    county: Mapped[str] = mapped_column(String(6), default="")
    credit_code: Mapped[str] = mapped_column(String(18), default="")  # 统一社会信用代码
    region_code: Mapped[str] = mapped_column(String(12), default="")  # any level of the region tree; "" unknown
    # tax status is per year: configstore.award_models.EnterpriseTaxStatus
    accounts: Mapped[list["EnterpriseAccount"]] = relationship(back_populates="enterprise",
                                                               cascade="all, delete-orphan")


class HostEnterprise(Base):
    """A host sells for an enterprise (many-to-many); a row of its own so changes are audited."""

    __tablename__ = "host_enterprises"

    host_id: Mapped[str] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"), primary_key=True,
                                               index=True)


class EnterpriseAccount(Base):
    __tablename__ = "enterprise_accounts"
    __table_args__ = (UniqueConstraint("platform", "account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[str] = mapped_column(String(64))
    enterprise: Mapped[Enterprise] = relationship(back_populates="accounts")


class Disqualification(Base):
    """A participant taken off a campaign's boards (and awards), with the reason shown."""

    __tablename__ = "disqualifications"
    __table_args__ = (UniqueConstraint("campaign_slug", "kind", "participant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_slug: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # host|enterprise
    participant_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Region(Base):
    """The region tree: province (省) -> city (市州; Xiangxi prefecture is one) -> county (县市区) ->
    township (乡镇, 9-digit code) -> village (村, 12-digit code), by statistical division codes."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))  # province|city|county|township|village
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), nullable=True, index=True)


class ServiceStation(Base):
    """An e-commerce service site, rated yearly: county operation centre, township station, village point."""

    __tablename__ = "service_stations"
    __table_args__ = (UniqueConstraint("region_code", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))  # county_centre|township_station|village_point
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BoardSnapshot(Base):
    """A published board. A new row is written only when the standings change; otherwise the
    latest row's computed_at moves on. Old rows are kept, so a past board can be shown as it was."""

    __tablename__ = "board_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_slug: Mapped[str] = mapped_column(String(64), index=True)
    board: Mapped[str] = mapped_column(String(16))  # hosts|enterprises
    period_kind: Mapped[str] = mapped_column(String(16))  # campaign|day|...
    period_key: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    content_hash: Mapped[str] = mapped_column(String(64))
    entries: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CampaignSummary(Base):
    """The latest campaign totals (GMV, orders, participants), refreshed with each ranking run."""

    __tablename__ = "campaign_summaries"

    campaign_slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)


class BoardChange(Base):
    """A fact the ranking job records with a new snapshot when the top-N membership changed.

    ``before``/``after`` are the top-N as ``[[participant_id, rank], ...]``. Consumers (the push
    job) mark ``processed_at``; the ranking code knows nothing about who reads these.
    """

    __tablename__ = "board_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_slug: Mapped[str] = mapped_column(String(64))
    board: Mapped[str] = mapped_column(String(16))
    period_kind: Mapped[str] = mapped_column(String(16))
    period_key: Mapped[str] = mapped_column(String(64))
    snapshot_id: Mapped[int] = mapped_column(Integer)
    previous_snapshot_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    top_n: Mapped[int] = mapped_column(Integer)
    before: Mapped[list[Any]] = mapped_column(JSON)
    after: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)


class FrozenView(Base):
    """A public view of a frozen campaign (封榜), as it stood when the freeze took effect: period
    boards and breakdowns keep answering with these while data keeps arriving."""

    __tablename__ = "frozen_views"

    campaign_slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    view_key: Mapped[str] = mapped_column(String(96), primary_key=True)  # e.g. boards:week:2026-W48
    frozen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)

