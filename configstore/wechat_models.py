"""ORM models for WeChat users, subscription credits, the push outbox and the shared token.

All timestamps are naive UTC (``utcnow()``), which reads the same on SQLite and
PostgreSQL ``timestamp without time zone``.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from configstore.db import Base

# BIGINT on PostgreSQL, INTEGER on SQLite (only INTEGER PRIMARY KEY autoincrements there).
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """Naive UTC now, the convention for every timestamp in these tables."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def dialect_insert(session: Session, table: Any):
    """``INSERT`` with ``on_conflict_do_*`` for SQLite/PostgreSQL, or None on other dialects."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)
    return None


class OutboxStatus:
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    NO_CREDIT = "no_credit"

    ALL = (PENDING, SENDING, SENT, FAILED, NO_CREDIT)
    FINAL = (SENT, FAILED, NO_CREDIT)


class WeChatUser(Base):
    """A mini-program user, keyed by (appid, openid). ``session_key`` never leaves the server and is
    stored sealed (configstore.secretbox); backups leave it out."""

    __tablename__ = "wechat_users"
    __table_args__ = (UniqueConstraint("appid", "openid"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    appid: Mapped[str] = mapped_column(String(64))
    openid: Mapped[str] = mapped_column(String(64))
    unionid: Mapped[str | None] = mapped_column(String(64), index=True)
    session_key: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(DateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime())

    def __repr__(self) -> str:  # no session_key, masked openid
        from domain.redact import mask_openid

        return f"WeChatUser(id={self.id!r}, appid={self.appid!r}, openid={mask_openid(self.openid)!r})"


class SubscribeCredit(Base):
    """How many one-time subscribe-message sends a user granted for a template."""

    __tablename__ = "wechat_subscribe_credits"
    __table_args__ = (
        UniqueConstraint("user_id", "template_id"),
        CheckConstraint("credits >= 0", name="credits_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("wechat_users.id", ondelete="CASCADE"),
    )
    template_id: Mapped[str] = mapped_column(String(128))
    credits: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(), default=utcnow, onupdate=utcnow)


class PushOutbox(Base):
    """One subscribe message to send. ``dedupe_key`` makes each business event enqueue once.

    ``lease_until``/``claim_token`` belong to the 'sending' state: the worker that
    holds the claim token owns the row until the lease ends (see wechat.outbox).
    """

    __tablename__ = "wechat_push_outbox"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'no_credit')", name="status_valid"
        ),
        Index("ix_wechat_push_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("wechat_users.id", ondelete="CASCADE"),
        index=True,
    )
    template_id: Mapped[str] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    page: Mapped[str | None] = mapped_column(String(512))
    dedupe_key: Mapped[str] = mapped_column(String(191), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime())
    claim_token: Mapped[str | None] = mapped_column(String(36))
    last_error: Mapped[str | None] = mapped_column(Text)
    wechat_msgid: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime())


class WeChatAccessToken(Base):
    """The one access token per appid, shared by every process.

    ``lease_owner``/``lease_until`` implement the single-refresher lease (see wechat.tokens).
    """

    __tablename__ = "wechat_access_tokens"

    appid: Mapped[str] = mapped_column(String(64), primary_key=True)
    token: Mapped[str | None] = mapped_column(String(512))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime())
    refreshed_at: Mapped[datetime | None] = mapped_column(DateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime())

    def __repr__(self) -> str:  # never the token
        return f"WeChatAccessToken(appid={self.appid!r}, expires_at={self.expires_at!r})"


class MpSession(Base):
    """Our own mini-program session: an opaque bearer token, stored as its SHA-256 only."""

    __tablename__ = "mp_sessions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("wechat_users.id", ondelete="CASCADE"),
        index=True,
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime())


class HostBinding(Base):
    """Which WeChat user speaks for a host: one user per host and one host per user."""

    __tablename__ = "host_bindings"

    host_id: Mapped[str] = mapped_column(String(64), ForeignKey("hosts.id", ondelete="CASCADE"),
                                         primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("wechat_users.id", ondelete="CASCADE"),
        unique=True,
    )
    bound_at: Mapped[datetime] = mapped_column(DateTime(), default=utcnow)


class HostBindCode(Base):
    """A one-time binding code issued to a host (stored as a keyed hash, never in clear)."""

    __tablename__ = "host_bind_codes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    host_id: Mapped[str] = mapped_column(String(64), ForeignKey("hosts.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime())
    used_at: Mapped[datetime | None] = mapped_column(DateTime())
    used_by_user_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime())


class BindAttemptFailure(Base):
    """A failed binding attempt, counted per user and per IP for rate limiting across processes."""

    __tablename__ = "bind_attempt_failures"
    __table_args__ = (Index("ix_bind_attempt_failures_subject", "scope", "subject", "failed_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(8))  # user|ip
    subject: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(DateTime(), default=utcnow)
