"""Organizer accounts: users with a role, argon2 password hashes, and API tokens for scripts.

Roles nest: admin (everything) > operator (campaigns, participants) > viewer (read only).
A user may also be limited to one or more counties (user_counties): such a county user sees and
changes only their counties' participants, stations, applications and county pre-reviews; a user
with no county is a prefecture user and sees everything (backend/auth.py enforces it).
An API token is shown once at creation; only its SHA-256 is stored (a token is 256 random bits,
so a fast hash is enough; argon2 is for low-entropy passwords). A token stops working when revoked,
when its user is deactivated, or API_TOKEN_MAX_AGE after it was made (then a new one is needed).
"""
from __future__ import annotations

import functools
import hashlib
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, sessionmaker

from configstore.db import Base, as_utc, transaction
from configstore.errors import ConfigError, Conflict, NotFound
from configstore.models import utcnow
from domain.regions import XIANGXI_COUNTIES

ROLES = ("admin", "operator", "viewer")
ROLE_NAMES_ZH = {"admin": "管理员", "operator": "运营", "viewer": "只读"}
_RANK = {"viewer": 1, "operator": 2, "admin": 3}
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$")
MIN_PASSWORD = 10
TOKEN_PREFIX = "lbt_"
# A leaked script token does not work for ever; None would switch expiry off.
API_TOKEN_MAX_AGE: timedelta | None = timedelta(days=365)

_hasher = PasswordHasher()  # argon2id with the library's current defaults
# An argon2 hash or check holds its memory cost (64 MiB with these defaults) while it runs: two at a
# time per process, so a burst of logins queues rather than taking 64 MiB in every request thread.
_ARGON2_SLOTS = threading.BoundedSemaphore(2)


def _hash_password(password: str) -> str:
    with _ARGON2_SLOTS:
        return _hasher.hash(password)


@functools.cache
def _dummy_hash() -> str:
    """What an unknown user's password is checked against. Made on the first login, not on import:
    every process importing this module (API workers, the CLI) paid its 64 MiB peak for it."""
    return _hash_password("liveboard-timing-equaliser")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Console sessions carry the epoch they were opened in; bumping it (logout, new password)
    # ends every session of the user, copies of the cookie included.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    counties: Mapped[list["UserCounty"]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                        order_by="UserCounty.county_code")


class UserCounty(Base):
    """A county the user is limited to (none: a prefecture user)."""

    __tablename__ = "user_counties"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))  # the first characters, to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    role: str
    active: bool
    session_epoch: int = 0
    counties: tuple[str, ...] = ()  # empty: a prefecture user

    def can(self, role: str) -> bool:
        """True when this user's role includes `role` (admin > operator > viewer)."""
        return self.active and _RANK[self.role] >= _RANK[role]

    @property
    def prefecture(self) -> bool:
        return not self.counties

    def covers(self, county_code: str | None) -> bool:
        """May this user see and change things of that county? (prefecture users: every county)"""
        return self.prefecture or (county_code or "") in self.counties

    @property
    def scope(self) -> frozenset[str] | None:
        """The counties to filter by, or None for no filter (a prefecture user)."""
        return None if self.prefecture else frozenset(self.counties)

    def as_dict(self) -> dict:
        return {"id": self.id, "username": self.username, "role": self.role, "active": self.active,
                "counties": list(self.counties)}


def _info(user: User) -> UserInfo:
    return UserInfo(user.id, user.username, user.role, user.active, user.session_epoch or 0,
                    tuple(c.county_code for c in user.counties))


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ConfigError("invalid_role", f"角色只能是 {', '.join(ROLES)}")


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise ConfigError("weak_password", f"密码至少 {MIN_PASSWORD} 个字符")


def create_user(factory: sessionmaker[Session], username: str, password: str, role: str) -> UserInfo:
    if not USERNAME.match(username or ""):
        raise ConfigError("invalid_username", "用户名为 3–64 个字母、数字、点、下划线或连字符")
    _check_role(role)
    _check_password(password)
    with transaction(factory) as session:
        if session.scalar(select(User).where(User.username == username)):
            raise Conflict("username_taken", f"用户名 {username} 已存在")
        user = User(username=username, password_hash=_hash_password(password), role=role, active=True)
        session.add(user)
        session.flush()
        return _info(user)


def update_user(factory: sessionmaker[Session], username: str, *, role: str | None = None,
                active: bool | None = None, password: str | None = None) -> UserInfo:
    with transaction(factory) as session:
        user = _get_user(session, username)
        if role is not None:
            _check_role(role)
            user.role = role
        if active is not None:
            user.active = active
        if password is not None:
            _check_password(password)
            user.password_hash = _hash_password(password)
            user.session_epoch = (user.session_epoch or 0) + 1  # a new password ends old sessions
        session.flush()
        return _info(user)


def set_counties(factory: sessionmaker[Session], username: str, counties: list[str]) -> UserInfo:
    """Limit a user to these counties (an empty list: a prefecture user again). The user's open
    sessions end, so the new limits apply to the next request with a fresh login."""
    wanted = sorted(set(counties))
    unknown = [c for c in wanted if c not in XIANGXI_COUNTIES]
    if unknown:
        raise ConfigError("invalid_county", f"县市代码只能是湘西州的 8 个县市：{'、'.join(unknown)} 不是")
    with transaction(factory) as session:
        user = _get_user(session, username)
        have = {c.county_code for c in user.counties}
        for row in [c for c in user.counties if c.county_code not in wanted]:
            user.counties.remove(row)
        user.counties.extend(UserCounty(user_id=user.id, county_code=c) for c in wanted if c not in have)
        user.session_epoch = (user.session_epoch or 0) + 1
        session.flush()
        session.refresh(user)
        return _info(user)


def end_sessions(factory: sessionmaker[Session], user_id: int) -> None:
    """End every console session of the user (logout): their cookies stop working at once."""
    with transaction(factory) as session:
        user = session.get(User, user_id)
        if user is not None:
            user.session_epoch = (user.session_epoch or 0) + 1


def _get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound("unknown_user", f"用户 {username} 不存在")
    return user


def get_user(factory: sessionmaker[Session], user_id: int) -> UserInfo | None:
    with factory() as session:
        user = session.get(User, user_id)
        return _info(user) if user else None


def list_users(factory: sessionmaker[Session]) -> list[dict]:
    with factory() as session:
        return [{**_info(u).as_dict(), "county_names": [XIANGXI_COUNTIES[c.county_code] for c in u.counties],
                 "created_at": as_utc(u.created_at).isoformat() if u.created_at else None}
                for u in session.scalars(select(User).order_by(User.id)).all()]


def authenticate(factory: sessionmaker[Session], username: str, password: str) -> UserInfo | None:
    """The active user with this password, or None. An unknown user costs the same argon2 work."""
    dummy = _dummy_hash()  # first, for every user: the first login of a process costs the same either way
    with transaction(factory) as session:
        user = session.scalar(select(User).where(User.username == (username or "")))
        try:
            with _ARGON2_SLOTS:
                _hasher.verify(user.password_hash if user else dummy, password or "")
        except (VerificationError, InvalidHashError):
            return None
        if user is None or not user.active:
            return None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hash_password(password)
        user.last_login_at = utcnow()
        return _info(user)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(factory: sessionmaker[Session], username: str, name: str) -> tuple[dict, str]:
    """A new API token for `username`: (its listing, the token itself — shown only this once)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ConfigError("invalid_token_name", "令牌名称必填，最多 100 个字")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction(factory) as session:
        user = _get_user(session, username)
        row = ApiToken(user_id=user.id, name=name, token_hash=_token_hash(token), hint=token[:8])
        session.add(row)
        session.flush()
        return _token_dict(row, user.username), token


def _token_dict(row: ApiToken, username: str) -> dict:
    return {"id": row.id, "username": username, "name": row.name, "hint": row.hint,
            "created_at": as_utc(row.created_at).isoformat() if row.created_at else None,
            "last_used_at": as_utc(row.last_used_at).isoformat() if row.last_used_at else None,
            "expires_at": expires_at.isoformat() if (expires_at := token_expires_at(row.created_at)) else None,
            "revoked": row.revoked_at is not None}


def list_tokens(factory: sessionmaker[Session], username: str | None = None) -> list[dict]:
    query = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id)
    if username:
        query = query.where(User.username == username)
    with factory() as session:
        return [_token_dict(row, name) for row, name in session.execute(query).all()]


def revoke_token(factory: sessionmaker[Session], token_id: int, *, owner: str | None = None) -> None:
    """Revoke a token; with `owner`, only that user's own token."""
    with transaction(factory) as session:
        row = session.get(ApiToken, token_id)
        user = session.get(User, row.user_id) if row is not None else None
        if row is None or (owner is not None and (user is None or user.username != owner)):
            raise NotFound("unknown_token", "令牌不存在")
        if row.revoked_at is None:
            row.revoked_at = utcnow()


def token_expires_at(created_at: datetime | None) -> datetime | None:
    """When a token made at `created_at` stops working (None: it does not expire)."""
    if API_TOKEN_MAX_AGE is None or created_at is None:
        return None
    return as_utc(created_at) + API_TOKEN_MAX_AGE


def user_for_token(factory: sessionmaker[Session], token: str) -> UserInfo | None:
    """The active user behind a live (not revoked, not expired) token, or None."""
    if not (token or "").startswith(TOKEN_PREFIX):
        return None
    with transaction(factory) as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
        if row is None or row.revoked_at is not None:
            return None
        now = utcnow()
        expires_at = token_expires_at(row.created_at)
        if expires_at is not None and expires_at <= now:
            return None
        user = session.get(User, row.user_id)
        if user is None or not user.active:
            return None
        last = row.last_used_at
        if last is None or (now - as_utc(last)).total_seconds() > 60:
            row.last_used_at = now  # at most once a minute: a busy script should not write per request
        return _info(user)
