"""Host binding: one-time codes an organizer hands to a host, and the WeChat user <-> host link.

* A code is 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L), shown as
  ``ABCD-EFGH``; input is forgiving (case, spaces, dashes). 31^8 ≈ 8.5e11 codes.
* Only a keyed hash (HMAC-SHA256 with the app's secret key) is stored. A code expires
  (Settings.mp_bind_code_ttl_seconds), works once, and issuing a new one for a host revokes
  the host's unused ones.
* One WeChat user per host and one host per user: binding replaces the host's previous user
  and the user's previous host. Organizers can unbind.
* Failed attempts are stored in the config store (so limits hold across processes) and
  limited per user and per IP: ``MAX_FAILURES`` in ``FAILURE_WINDOW``.
* Codes issued, revoked and used, bindings made, replaced and removed are in the audit log
  (configstore.audit), by whoever the caller acts as.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from configstore import audit
from configstore.db import affected, transaction
from configstore.models import Host
from configstore.wechat_models import (
    BindAttemptFailure,
    HostBindCode,
    HostBinding,
    utcnow,
)

log = logging.getLogger(__name__)

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
BIND_PAGE = "pages/bind/index"
_DEV_PEPPER = b"liveboard-dev-bind-code-pepper"


class BindError(Exception):
    """The code is unknown, expired, used or revoked (one message for all: no oracle)."""


class UnknownHost(Exception):
    pass


class TooManyAttempts(Exception):
    def __init__(self, retry_after_seconds: int):
        super().__init__(retry_after_seconds)
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class IssuedCode:
    host_id: str
    code: str  # the 8 characters; the scene of the wxa code
    expires_at: datetime  # naive UTC

    @property
    def display(self) -> str:
        return f"{self.code[:4]}-{self.code[4:]}"


@dataclass(frozen=True)
class BoundHost:
    host_id: str
    name: str
    county: str
    bound_at: datetime


def normalise_code(raw: Any) -> str | None:
    """``" abcd-efgh "`` -> ``"ABCDEFGH"``; None when it cannot be a code."""
    if not isinstance(raw, str):
        return None
    text = "".join(ch for ch in raw.upper() if ch not in " -\t")
    if len(text) != CODE_LENGTH or any(ch not in ALPHABET for ch in text):
        return None
    return text


def code_hash(code: str, pepper: str) -> str:
    key = pepper.encode("utf-8") if pepper else _DEV_PEPPER
    return hmac.new(key, code.encode("ascii"), hashlib.sha256).hexdigest()


def issue_bind_code(factory: sessionmaker[Session], host_id: str, *, ttl_seconds: int, pepper: str,
                    now: datetime | None = None) -> IssuedCode:
    """A new code for the host; the host's earlier unused codes stop working."""
    now = now or utcnow()
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    expires_at = now + timedelta(seconds=ttl_seconds)
    with transaction(factory) as s:
        if s.get(Host, host_id) is None:
            raise UnknownHost(host_id)
        for unused in s.scalars(select(HostBindCode).where(
                HostBindCode.host_id == host_id, HostBindCode.used_at.is_(None), HostBindCode.revoked_at.is_(None))):
            unused.revoked_at = now  # through the ORM, so each revocation is audited
        s.add(HostBindCode(host_id=host_id, code_hash=code_hash(code, pepper), created_at=now,
                           expires_at=expires_at))
    log.info("bind code issued host=%s expires_at=%s", host_id, expires_at.isoformat())
    return IssuedCode(host_id, code, expires_at)


def wxa_code_png(client: Any, issued: IssuedCode, *, check_path: bool | None = False) -> bytes:
    """The mini-program code image that opens the bind page with ``scene`` = the code."""
    return client.get_wxa_code_unlimited(issued.code, page=BIND_PAGE, check_path=check_path)


def _failures(s: Session, scope: str, subject: str, now: datetime) -> tuple[int, datetime | None]:
    count, oldest = s.execute(
        select(func.count(), func.min(BindAttemptFailure.failed_at))
        .where(BindAttemptFailure.scope == scope, BindAttemptFailure.subject == subject,
               BindAttemptFailure.failed_at > now - FAILURE_WINDOW)
    ).one()
    return int(count), oldest


def _check_rate(factory: sessionmaker[Session], subjects: list[tuple[str, str]], now: datetime) -> None:
    with factory() as s:
        for scope, subject in subjects:
            count, oldest = _failures(s, scope, subject, now)
            if count >= MAX_FAILURES:
                retry = int(((oldest or now) + FAILURE_WINDOW - now).total_seconds()) + 1
                raise TooManyAttempts(max(1, retry))


def _record_failure(factory: sessionmaker[Session], subjects: list[tuple[str, str]], now: datetime) -> None:
    with transaction(factory) as s:
        # old failures are only clutter: drop them while we are here
        s.execute(delete(BindAttemptFailure).where(BindAttemptFailure.failed_at <= now - FAILURE_WINDOW))
        for scope, subject in subjects:
            s.add(BindAttemptFailure(scope=scope, subject=subject, failed_at=now))


def bind_with_code(factory: sessionmaker[Session], user_id: int, raw_code: Any, *, ip: str | None,
                   pepper: str, now: datetime | None = None) -> BoundHost:
    """Bind ``user_id`` to the host the code was issued for.

    Raises :class:`TooManyAttempts` (before looking at the code) or :class:`BindError`.
    """
    now = now or utcnow()
    subjects = [("user", str(user_id))] + ([("ip", ip[:64])] if ip else [])
    _check_rate(factory, subjects, now)
    code = normalise_code(raw_code)
    if code is None:
        _record_failure(factory, subjects, now)
        raise BindError("invalid")
    digest = code_hash(code, pepper)
    with transaction(factory) as s:
        row = s.execute(
            select(HostBindCode.id, HostBindCode.host_id).where(
                HostBindCode.code_hash == digest, HostBindCode.used_at.is_(None),
                HostBindCode.revoked_at.is_(None), HostBindCode.expires_at > now)
        ).first()
        claimed = row is not None and affected(s.execute(
            update(HostBindCode).where(HostBindCode.id == row.id, HostBindCode.used_at.is_(None))
            .values(used_at=now, used_by_user_id=user_id))) == 1
        if claimed and row is not None:
            # the claim is one conditional UPDATE (a code works once, even under concurrency), which
            # no mapper event sees: its audit entry is written here
            audit.record(s, "update", HostBindCode.__tablename__, str(row.id),
                         {"used_at": None, "used_by_user_id": None}, {"used_at": now, "used_by_user_id": user_id})
            host_id = row.host_id
            for replaced in s.scalars(select(HostBinding).where(
                    (HostBinding.host_id == host_id) | (HostBinding.user_id == user_id))):
                s.delete(replaced)
            s.flush()
            s.add(HostBinding(host_id=host_id, user_id=user_id, bound_at=now))
            s.flush()
            host = s.get(Host, host_id)
            bound = BoundHost(host_id, host.name if host else host_id, host.county if host else "", now)
    if not claimed:
        _record_failure(factory, subjects, now)
        raise BindError("invalid")
    log.info("host bound host=%s user_id=%s", bound.host_id, user_id)
    return bound


def unbind_host(factory: sessionmaker[Session], host_id: str) -> bool:
    """Remove the host's binding; True when there was one."""
    with transaction(factory) as s:
        bindings = s.scalars(select(HostBinding).where(HostBinding.host_id == host_id)).all()
        for binding in bindings:
            s.delete(binding)  # through the ORM, so the removal is audited
        removed = len(bindings)
    if removed:
        log.info("host unbound host=%s", host_id)
    return bool(removed)


def bound_host(factory: sessionmaker[Session], user_id: int) -> BoundHost | None:
    with factory() as s:
        row = s.execute(
            select(HostBinding.host_id, HostBinding.bound_at, Host.name, Host.county)
            .join(Host, Host.id == HostBinding.host_id)
            .where(HostBinding.user_id == user_id)
        ).first()
    return BoundHost(row.host_id, row.name, row.county, row.bound_at) if row else None


def bound_user(session: Session, host_id: str) -> int | None:
    """The WeChat user id bound to a host (inside the caller's session)."""
    return session.scalar(select(HostBinding.user_id).where(HostBinding.host_id == host_id))


def binding_status(factory: sessionmaker[Session], host_id: str) -> dict | None:
    """For organizers: is the host bound, since when (no WeChat identifiers)."""
    with factory() as s:
        row = s.execute(select(HostBinding.bound_at).where(HostBinding.host_id == host_id)).first()
    return {"bound": row is not None,
            "bound_at": row.bound_at.replace(tzinfo=timezone.utc).isoformat() if row else None}
