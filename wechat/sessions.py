"""Mini-program sessions: our own opaque bearer token, never WeChat's session_key.

The token is 32 random bytes (url-safe base64, prefixed ``mps_``); only its SHA-256 is
stored, so a leaked config store holds no usable token. A token is valid until
``expires_at`` (Settings.mp_session_ttl_seconds).
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from configstore.wechat_models import MpSession, utcnow

TOKEN_PREFIX = "mps_"


@dataclass(frozen=True)
class IssuedSession:
    token: str
    user_id: int
    expires_at: datetime  # naive UTC


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_session(session: Session, user_id: int, ttl_seconds: int, *, now: datetime | None = None) -> IssuedSession:
    """Issue a token for ``user_id`` inside the caller's transaction (expired ones of the user go)."""
    now = now or utcnow()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=ttl_seconds)
    session.execute(delete(MpSession).where(MpSession.user_id == user_id, MpSession.expires_at <= now))
    session.add(MpSession(token_hash=token_hash(token), user_id=user_id, created_at=now, expires_at=expires_at))
    session.flush()
    return IssuedSession(token, user_id, expires_at)


def resolve_session(factory: sessionmaker[Session], token: str, *, now: datetime | None = None) -> int | None:
    """The user id behind a valid, unexpired token; None otherwise."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    now = now or utcnow()
    with factory() as s:
        row = s.execute(
            select(MpSession.user_id, MpSession.expires_at).where(MpSession.token_hash == token_hash(token))
        ).first()
    if row is None or row.expires_at <= now:
        return None
    return int(row.user_id)


def revoke_session(factory: sessionmaker[Session], token: str) -> None:
    from configstore.db import transaction

    with transaction(factory) as s:
        s.execute(delete(MpSession).where(MpSession.token_hash == token_hash(token)))
