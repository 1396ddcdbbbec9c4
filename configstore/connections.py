"""Native platform connections: what the config store keeps for each (docs/platforms.md).

* ``connector_connections`` (audited): platform, name, shop, the enterprise the shop is, the
  campaigns its sales count for, county, API base URL and rate limit, and the platform
  credentials, sealed by the caller (``configstore.secretbox``) — this module never sees them in
  the clear. Creating a connection registers the shop as the enterprise's platform account in
  the same transaction, so its sales are attributed from the first one.
* ``connector_tokens``: the platform access/refresh token per connection (sealed), shared by
  every process, with a lease so only one process refreshes at a time (快手 and 有赞 rotate
  refresh tokens: two concurrent refreshes would lose the grant).
* ``connector_state``: last push, pull cursor and last pull, last error, the pull lease.
* ``connector_messages``: the pending table. One row per platform message (unique per connection
  and platform message id, so a re-push is recognised) or per order the pull backstop found; a
  row stays ``pending`` with a backoff until its details were fetched and its events appended,
  then ``done``; ``dead`` when it can never be enriched (its bytes went to the dead-letter topic).

Times here are epoch seconds (floats), compared with the caller's clock in SQL, as in
``configstore.ratelimit``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from configstore.db import Base, affected, as_utc, table_of, transaction
from configstore.errors import ConfigError, Conflict, NotFound
from configstore.models import Campaign, utcnow
from configstore.registry import add_account

PLATFORMS = ("douyin_shop", "kuaishou_shop", "wechat_shop", "youzan")
PLATFORM_NAMES_ZH = {"douyin_shop": "抖店", "kuaishou_shop": "快手小店", "wechat_shop": "微信小店", "youzan": "有赞"}
STATUSES = ("active", "disabled")
STATUS_NAMES_ZH = {"active": "启用", "disabled": "已停用"}
CONNECTION_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
COUNTY = re.compile(r"^\d{6}$")
PENDING, DONE, DEAD = "pending", "done", "dead"
ORDER, REFUND = "order", "refund"


class ConnectorConnection(Base):
    __tablename__ = "connector_connections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    platform: Mapped[str] = mapped_column(String(32))
    shop_id: Mapped[str] = mapped_column(String(64))
    enterprise_id: Mapped[str] = mapped_column(String(64))
    campaigns: Mapped[list[str]] = mapped_column(JSON)
    county: Mapped[str] = mapped_column(String(6))
    api_base_url: Mapped[str] = mapped_column(String(300), default="")
    rate_limit_per_second: Mapped[float] = mapped_column(Float, default=10.0)
    credentials: Mapped[str] = mapped_column(Text)  # sealed JSON (configstore.secretbox)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ConnectorToken(Base):
    __tablename__ = "connector_tokens"

    connection_id: Mapped[int] = mapped_column(ForeignKey("connector_connections.id", ondelete="CASCADE"),
                                               primary_key=True)
    access_token: Mapped[str] = mapped_column(Text, default="")  # sealed
    refresh_token: Mapped[str] = mapped_column(Text, default="")  # sealed
    expires_at: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[float] = mapped_column(Float, default=0.0)
    lease_owner: Mapped[str] = mapped_column(String(64), default="")
    lease_until: Mapped[float] = mapped_column(Float, default=0.0)


class ConnectorState(Base):
    __tablename__ = "connector_state"

    connection_id: Mapped[int] = mapped_column(ForeignKey("connector_connections.id", ondelete="CASCADE"),
                                               primary_key=True)
    last_push_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_heartbeat_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    pull_cursor: Mapped[float | None] = mapped_column(Float, nullable=True)  # end of the last pulled window
    last_pull_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_pull_error: Mapped[str] = mapped_column(Text, default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_error_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    pull_lease_owner: Mapped[str] = mapped_column(String(64), default="")
    pull_lease_until: Mapped[float] = mapped_column(Float, default=0.0)


class ConnectorMessage(Base):
    __tablename__ = "connector_messages"
    __table_args__ = (UniqueConstraint("connection_id", "message_id"),
                      Index("ix_connector_messages_due", "status", "next_attempt_at"),
                      Index("ix_connector_messages_order", "connection_id", "kind", "order_id"),
                      Index("ix_connector_messages_refund", "connection_id", "kind", "refund_id"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connector_connections.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(200))
    origin: Mapped[str] = mapped_column(String(8))  # push | pull
    kind: Mapped[str] = mapped_column(String(8))  # order | refund
    order_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    refund_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(8), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float)
    claimed_by: Mapped[str] = mapped_column(String(64), default="")
    claimed_until: Mapped[float] = mapped_column(Float, default=0.0)
    received_at: Mapped[float] = mapped_column(Float)
    fetched_at: Mapped[float | None] = mapped_column(Float, nullable=True)  # when the last good fetch began
    completed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    events: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[str] = mapped_column(Text)  # the raw-topic record, as received (UTF-8 JSON)
    raw_partition: Mapped[int] = mapped_column(Integer, default=-1)
    raw_offset: Mapped[int] = mapped_column(BigInteger, default=-1)


# -- connections ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConnectionInfo:
    id: int
    name: str
    platform: str
    shop_id: str
    enterprise_id: str
    campaigns: tuple[str, ...]
    county: str
    api_base_url: str
    rate_limit_per_second: float
    sealed_credentials: str
    status: str
    created_at: datetime
    updated_at: datetime

    @property
    def active(self) -> bool:
        return self.status == "active"

    @property
    def platform_zh(self) -> str:
        return PLATFORM_NAMES_ZH.get(self.platform, self.platform)

    def as_dict(self) -> dict[str, Any]:
        """Everything but the credentials."""
        return {"name": self.name, "platform": self.platform, "platform_zh": self.platform_zh,
                "shop_id": self.shop_id, "enterprise_id": self.enterprise_id, "campaigns": list(self.campaigns),
                "county": self.county, "api_base_url": self.api_base_url,
                "rate_limit_per_second": self.rate_limit_per_second, "status": self.status,
                "created_at": self.created_at.isoformat(), "updated_at": self.updated_at.isoformat()}


def _info(row: ConnectorConnection) -> ConnectionInfo:
    return ConnectionInfo(id=row.id, name=row.name, platform=row.platform, shop_id=row.shop_id,
                          enterprise_id=row.enterprise_id, campaigns=tuple(row.campaigns or ()), county=row.county,
                          api_base_url=row.api_base_url or "", rate_limit_per_second=float(row.rate_limit_per_second),
                          sealed_credentials=row.credentials, status=row.status, created_at=as_utc(row.created_at),
                          updated_at=as_utc(row.updated_at))


def _check_fields(session: Session, *, shop_id: str, campaigns: Sequence[str], county: str,
                  rate_limit_per_second: float, api_base_url: str) -> None:
    if not shop_id or len(shop_id) > 64:
        raise ConfigError("invalid_shop", "店铺编号必填，最多 64 个字符")
    if not campaigns:
        raise ConfigError("campaign_required", "至少选择一个活动：销售按支付时间计入其所在日期的活动")
    known = set(session.scalars(select(Campaign.slug).where(Campaign.slug.in_(list(campaigns)))).all())
    missing = [c for c in campaigns if c not in known]
    if missing:
        raise NotFound("campaign_not_found", f"活动 {'、'.join(missing)} 不存在")
    if not COUNTY.match(county or ""):
        raise ConfigError("invalid_county", "县市代码为 6 位数字，例如 433127")
    if not 0 < rate_limit_per_second <= 10000:
        raise ConfigError("invalid_rate_limit", "接口限流须大于 0 且不超过每秒 10000 次")
    if api_base_url and not re.match(r"^https?://[^\s/]+", api_base_url):
        raise ConfigError("invalid_api_base_url", "平台接口地址须以 http:// 或 https:// 开头")


def create_connection(factory: sessionmaker[Session], *, name: str, platform: str, event_platform: str,
                      shop_id: str, enterprise_id: str, campaigns: Sequence[str], county: str,
                      sealed_credentials: str, api_base_url: str = "",
                      rate_limit_per_second: float = 10.0) -> ConnectionInfo:
    """A new connection; the shop becomes `enterprise_id`'s account on `event_platform` (the
    platform its sales events name) in the same transaction."""
    if not CONNECTION_NAME.match(name or ""):
        raise ConfigError("invalid_name", "连接名称只能包含小写字母、数字、下划线和连字符，且以字母或数字开头")
    if platform not in PLATFORMS:
        raise ConfigError("invalid_platform", f"平台只能是 {'、'.join(PLATFORMS)}")
    campaigns = list(dict.fromkeys(campaigns))
    with transaction(factory) as session:
        if session.scalar(select(ConnectorConnection.id).where(ConnectorConnection.name == name)):
            raise Conflict("name_taken", f"连接 {name} 已存在")
        _check_fields(session, shop_id=shop_id, campaigns=campaigns, county=county,
                      rate_limit_per_second=rate_limit_per_second, api_base_url=api_base_url)
        add_account(session, "enterprises", event_platform, shop_id, enterprise_id)
        row = ConnectorConnection(name=name, platform=platform, shop_id=shop_id, enterprise_id=enterprise_id,
                                  campaigns=campaigns, county=county, api_base_url=api_base_url.rstrip("/"),
                                  rate_limit_per_second=float(rate_limit_per_second),
                                  credentials=sealed_credentials, status="active")
        session.add(row)
        session.flush()
        session.add(ConnectorState(connection_id=row.id))
        return _info(row)


def update_connection(factory: sessionmaker[Session], name: str, *, campaigns: Sequence[str] | None = None,
                      county: str | None = None, api_base_url: str | None = None,
                      rate_limit_per_second: float | None = None, sealed_credentials: str | None = None,
                      status: str | None = None) -> ConnectionInfo:
    """Change what was given. Platform, name and shop are fixed: a different shop is another connection."""
    with transaction(factory) as session:
        row = _get(session, name)
        if campaigns is not None:
            row.campaigns = list(dict.fromkeys(campaigns))
        if county is not None:
            row.county = county
        if api_base_url is not None:
            row.api_base_url = api_base_url.rstrip("/")
        if rate_limit_per_second is not None:
            row.rate_limit_per_second = float(rate_limit_per_second)
        _check_fields(session, shop_id=row.shop_id, campaigns=row.campaigns, county=row.county,
                      rate_limit_per_second=row.rate_limit_per_second, api_base_url=row.api_base_url)
        if sealed_credentials is not None:
            row.credentials = sealed_credentials
            token = session.get(ConnectorToken, row.id)
            if token is not None:  # tokens of the old credentials are no use for the new ones
                token.access_token, token.refresh_token, token.expires_at = "", "", 0.0
        if status is not None:
            if status not in STATUSES:
                raise ConfigError("invalid_status", "状态只能是 active 或 disabled")
            row.status = status
        row.updated_at = utcnow()
        session.flush()
        return _info(row)


def _get(session: Session, name: str) -> ConnectorConnection:
    row = session.scalar(select(ConnectorConnection).where(ConnectorConnection.name == name))
    if row is None:
        raise NotFound("connection_not_found", f"平台连接 {name} 不存在")
    return row


def get_connection(factory: sessionmaker[Session], name: str) -> ConnectionInfo | None:
    with factory() as session:
        row = session.scalar(select(ConnectorConnection).where(ConnectorConnection.name == name))
        return _info(row) if row else None


def list_connections(factory: sessionmaker[Session]) -> list[ConnectionInfo]:
    with factory() as session:
        return [_info(r) for r in session.scalars(select(ConnectorConnection).order_by(ConnectorConnection.id)).all()]


# -- tokens ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StoredToken:
    access_token: str  # sealed
    refresh_token: str  # sealed
    expires_at: float
    updated_at: float


def load_token(factory: sessionmaker[Session], connection_id: int) -> StoredToken | None:
    with factory() as session:
        row = session.get(ConnectorToken, connection_id)
        if row is None or not row.access_token:
            return None
        return StoredToken(row.access_token, row.refresh_token, row.expires_at, row.updated_at)


def save_token(factory: sessionmaker[Session], connection_id: int, *, access_token: str, refresh_token: str,
               expires_at: float, now: float) -> None:
    with transaction(factory) as session:
        row = session.get(ConnectorToken, connection_id)
        if row is None:
            row = ConnectorToken(connection_id=connection_id)
            session.add(row)
        row.access_token, row.refresh_token = access_token, refresh_token
        row.expires_at, row.updated_at = expires_at, now


def _insert(factory: sessionmaker[Session]):
    return pg_insert if factory.kw["bind"].dialect.name == "postgresql" else sqlite_insert


def try_token_lease(factory: sessionmaker[Session], connection_id: int, owner: str, now: float,
                    ttl_s: float) -> bool:
    """Take the refresh lease when it is free, lapsed or already ours."""
    table = table_of(ConnectorToken)
    with factory.begin() as session:
        session.execute(_insert(factory)(table).values(connection_id=connection_id, access_token="",
                                                       refresh_token="", expires_at=0.0, updated_at=0.0,
                                                       lease_owner="", lease_until=0.0)
                        .on_conflict_do_nothing(index_elements=[table.c.connection_id]))
        taken = affected(session.execute(update(table).where(
            table.c.connection_id == connection_id,
            or_(table.c.lease_until <= now, table.c.lease_owner == owner),
        ).values(lease_owner=owner, lease_until=now + ttl_s)))
    return bool(taken)


def release_token_lease(factory: sessionmaker[Session], connection_id: int, owner: str) -> None:
    table = table_of(ConnectorToken)
    with factory.begin() as session:
        session.execute(update(table).where(table.c.connection_id == connection_id, table.c.lease_owner == owner)
                        .values(lease_owner="", lease_until=0.0))


# -- state -----------------------------------------------------------------------------------------

def note_push(factory: sessionmaker[Session], connection_id: int, at: float, *, heartbeat: bool = False) -> None:
    column = "last_heartbeat_at" if heartbeat else "last_push_at"
    table = table_of(ConnectorState)
    with factory.begin() as session:
        session.execute(update(table).where(table.c.connection_id == connection_id).values({column: at}))


def note_error(factory: sessionmaker[Session], connection_id: int, message: str, at: float) -> None:
    table = table_of(ConnectorState)
    with factory.begin() as session:
        session.execute(update(table).where(table.c.connection_id == connection_id)
                        .values(last_error=message[:1000], last_error_at=at))


def try_pull_lease(factory: sessionmaker[Session], connection_id: int, owner: str, now: float,
                   ttl_s: float) -> float | None:
    """Take the pull lease; the stored cursor (None: never pulled) when taken, else raises Conflict."""
    table = table_of(ConnectorState)
    with factory.begin() as session:
        taken = affected(session.execute(update(table).where(
            table.c.connection_id == connection_id,
            or_(table.c.pull_lease_until <= now, table.c.pull_lease_owner == owner),
        ).values(pull_lease_owner=owner, pull_lease_until=now + ttl_s)))
        if not taken:
            raise Conflict("pull_running", "该连接的补单正在进行")
        return session.execute(select(table.c.pull_cursor).where(table.c.connection_id == connection_id)).scalar()


def advance_pull_cursor(factory: sessionmaker[Session], connection_id: int, owner: str, cursor: float,
                        lease_until: float) -> None:
    table = table_of(ConnectorState)
    with factory.begin() as session:
        session.execute(update(table).where(table.c.connection_id == connection_id, table.c.pull_lease_owner == owner)
                        .values(pull_cursor=cursor, pull_lease_until=lease_until))


def finish_pull(factory: sessionmaker[Session], connection_id: int, owner: str, at: float, error: str = "") -> None:
    table = table_of(ConnectorState)
    values: dict[str, Any] = {"pull_lease_owner": "", "pull_lease_until": 0.0, "last_pull_at": at,
                              "last_pull_error": error[:1000]}
    if error:
        values.update(last_error=error[:1000], last_error_at=at)
    with factory.begin() as session:
        session.execute(update(table).where(table.c.connection_id == connection_id, table.c.pull_lease_owner == owner)
                        .values(values))


@dataclass(frozen=True)
class ConnectionStatus:
    last_push_at: float | None
    last_heartbeat_at: float | None
    last_pull_at: float | None
    pull_cursor: float | None
    last_pull_error: str
    last_error: str
    last_error_at: float | None
    pending: int
    dead: int
    done: int
    oldest_pending_at: float | None
    newest_received_at: float | None

    def lag_seconds(self, now: float) -> float:
        """How far enrichment is behind: the oldest message still pending, or, when the worker has
        not yet taken in what the endpoint accepted, the time since the newest push it did take in."""
        lag = now - self.oldest_pending_at if self.oldest_pending_at is not None else 0.0
        if self.last_push_at is not None and (self.newest_received_at or 0.0) < self.last_push_at - 1.0:
            lag = max(lag, self.last_push_at - (self.newest_received_at or self.last_push_at))
        return max(0.0, lag)


def status_of(factory: sessionmaker[Session], connection_ids: Iterable[int]) -> dict[int, ConnectionStatus]:
    ids = list(connection_ids)
    if not ids:
        return {}
    messages = table_of(ConnectorMessage)
    with factory() as session:
        counts: dict[tuple[int, str], int] = {
            (cid, status): n for cid, status, n in session.execute(
                select(messages.c.connection_id, messages.c.status, func.count())
                .where(messages.c.connection_id.in_(ids)).group_by(messages.c.connection_id, messages.c.status))}
        oldest: dict[int, float] = {cid: at for cid, at in session.execute(
            select(messages.c.connection_id, func.min(messages.c.received_at))
            .where(messages.c.connection_id.in_(ids), messages.c.status == PENDING)
            .group_by(messages.c.connection_id))}
        newest: dict[int, float] = {cid: at for cid, at in session.execute(
            select(messages.c.connection_id, func.max(messages.c.received_at))
            .where(messages.c.connection_id.in_(ids), messages.c.origin == "push")
            .group_by(messages.c.connection_id))}
        states = {s.connection_id: s for s in session.scalars(
            select(ConnectorState).where(ConnectorState.connection_id.in_(ids))).all()}
    result = {}
    for cid in ids:
        state = states.get(cid) or ConnectorState(connection_id=cid, last_pull_error="", last_error="")
        result[cid] = ConnectionStatus(
            last_push_at=state.last_push_at, last_heartbeat_at=state.last_heartbeat_at,
            last_pull_at=state.last_pull_at, pull_cursor=state.pull_cursor,
            last_pull_error=state.last_pull_error or "", last_error=state.last_error or "",
            last_error_at=state.last_error_at, pending=counts.get((cid, PENDING), 0),
            dead=counts.get((cid, DEAD), 0), done=counts.get((cid, DONE), 0),
            oldest_pending_at=oldest.get(cid), newest_received_at=newest.get(cid))
    return result


# -- the pending table -------------------------------------------------------------------------------

@dataclass(frozen=True)
class NewMessage:
    connection_id: int
    message_id: str
    origin: str
    kind: str
    order_id: str | None
    refund_id: str | None
    received_at: float
    payload: str
    raw_partition: int = -1
    raw_offset: int = -1


@dataclass(frozen=True)
class PendingMessage:
    id: int
    connection_id: int
    message_id: str
    origin: str
    kind: str
    order_id: str | None
    refund_id: str | None
    attempts: int
    received_at: float
    payload: str
    raw_partition: int
    raw_offset: int


def enqueue(factory: sessionmaker[Session], messages: Sequence[NewMessage]) -> int:
    """Add messages as pending, due at once; one already known (same connection and message id:
    a re-push or a replayed raw record) is left as it is. Returns how many were new."""
    if not messages:
        return 0
    table = table_of(ConnectorMessage)
    rows = [{"connection_id": m.connection_id, "message_id": m.message_id[:200], "origin": m.origin,
             "kind": m.kind, "order_id": m.order_id, "refund_id": m.refund_id, "status": PENDING, "attempts": 0,
             "next_attempt_at": m.received_at, "claimed_by": "", "claimed_until": 0.0,
             "received_at": m.received_at, "events": 0, "last_error": "", "payload": m.payload,
             "raw_partition": m.raw_partition, "raw_offset": m.raw_offset} for m in messages]
    with factory.begin() as session:
        statement = _insert(factory)(table).on_conflict_do_nothing(
            index_elements=[table.c.connection_id, table.c.message_id])
        return sum(affected(session.execute(statement.values(row))) for row in rows)


def due_candidates(factory: sessionmaker[Session], now: float, limit: int) -> list[tuple[int, int]]:
    """(id, connection id) of due, unclaimed pending messages, the longest-waiting first."""
    table = table_of(ConnectorMessage)
    with factory() as session:
        return [(i, c) for i, c in session.execute(
            select(table.c.id, table.c.connection_id)
            .where(table.c.status == PENDING, table.c.next_attempt_at <= now, table.c.claimed_until <= now)
            .order_by(table.c.next_attempt_at, table.c.id).limit(limit)).all()]


def claim(factory: sessionmaker[Session], ids: Sequence[int], owner: str, now: float,
          lease_s: float) -> list[PendingMessage]:
    """Claim these messages for `owner` (one worker process) until now + lease_s; those another
    worker claimed in the meantime (or that are no longer pending) are left out."""
    if not ids:
        return []
    table = table_of(ConnectorMessage)
    with factory.begin() as session:
        session.execute(update(table).where(
            table.c.id.in_(list(ids)), table.c.status == PENDING, table.c.claimed_until <= now,
        ).values(claimed_by=owner, claimed_until=now + lease_s))
        rows = session.execute(select(table).where(table.c.id.in_(list(ids)), table.c.claimed_by == owner,
                                                   table.c.status == PENDING)).all()
    return [PendingMessage(id=r.id, connection_id=r.connection_id, message_id=r.message_id, origin=r.origin,
                           kind=r.kind, order_id=r.order_id, refund_id=r.refund_id, attempts=r.attempts,
                           received_at=r.received_at, payload=r.payload, raw_partition=r.raw_partition,
                           raw_offset=r.raw_offset) for r in rows]


def _settle(factory: sessionmaker[Session], message_id: int, owner: str, values: dict[str, Any]) -> bool:
    table = table_of(ConnectorMessage)
    with factory.begin() as session:
        return bool(affected(session.execute(update(table).where(
            table.c.id == message_id, table.c.claimed_by == owner, table.c.status == PENDING)
            .values(claimed_by="", claimed_until=0.0, **values))))


def complete(factory: sessionmaker[Session], message_id: int, owner: str, *, fetched_at: float, now: float,
             events: int) -> bool:
    return _settle(factory, message_id, owner, {"status": DONE, "fetched_at": fetched_at, "completed_at": now,
                                                "events": events, "last_error": ""})


def retry_later(factory: sessionmaker[Session], message_id: int, owner: str, *, attempts: int, at: float,
                error: str) -> bool:
    return _settle(factory, message_id, owner, {"attempts": attempts, "next_attempt_at": at,
                                                "last_error": error[:1000]})


def bury(factory: sessionmaker[Session], message_id: int, owner: str, *, attempts: int, now: float,
         error: str) -> bool:
    return _settle(factory, message_id, owner, {"status": DEAD, "attempts": attempts, "completed_at": now,
                                                "last_error": error[:1000]})


def uncovered(factory: sessionmaker[Session], connection_id: int, kind: str, ids: Sequence[str],
              updated: dict[str, float], margin_s: float = 60.0) -> list[str]:
    """Of these platform ids (orders or refunds) the ones the pull backstop must enqueue: not pending
    already, and not read by a completed message at least `margin_s` after the platform's update
    time (the margin absorbs clock skew between the platform and us). An id whose update time the
    listing does not give is always enqueued unless pending."""
    if not ids:
        return []
    table = table_of(ConnectorMessage)
    column = table.c.order_id if kind == ORDER else table.c.refund_id
    with factory() as session:
        rows = session.execute(
            select(column, table.c.status, func.max(table.c.fetched_at))
            .where(table.c.connection_id == connection_id, table.c.kind == kind, column.in_(list(ids)),
                   table.c.status.in_((PENDING, DONE)))
            .group_by(column, table.c.status)).all()
    pending = {i for i, status, _ in rows if status == PENDING}
    fetched = {i: at for i, status, at in rows if status == DONE and at is not None}
    return [i for i in dict.fromkeys(ids)
            if i not in pending and not (i in updated and i in fetched and fetched[i] >= updated[i] + margin_s)]


def list_messages(factory: sessionmaker[Session], connection_id: int, *, status: str | None = None,
                  limit: int = 50) -> list[dict[str, Any]]:
    table = table_of(ConnectorMessage)
    query = select(table).where(table.c.connection_id == connection_id).order_by(table.c.id.desc()).limit(limit)
    if status:
        query = query.where(table.c.status == status)
    with factory() as session:
        return [{"message_id": r.message_id, "origin": r.origin, "kind": r.kind, "order_id": r.order_id,
                 "refund_id": r.refund_id, "status": r.status, "attempts": r.attempts,
                 "received_at": r.received_at, "next_attempt_at": r.next_attempt_at,
                 "completed_at": r.completed_at, "events": r.events, "last_error": r.last_error}
                for r in session.execute(query).all()]


def purge_done(factory: sessionmaker[Session], before: float) -> int:
    """Drop completed messages finished before `before` (platforms stop retrying long before;
    a later repeat would only be fetched again, its events are idempotent). Dead ones stay."""
    table = table_of(ConnectorMessage)
    with factory.begin() as session:
        return affected(session.execute(delete(table).where(table.c.status == DONE, table.c.completed_at < before)))
