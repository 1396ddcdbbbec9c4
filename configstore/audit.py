"""The audit log: every change to organizer configuration, who made it, when, before and after.

Entries are written by SQLAlchemy mapper events during the flush, in the same transaction as the change,
so no code path (API, console, CLI, import) can change an audited table without leaving an
entry, and a rolled-back change leaves none. The actor comes from `acting_as(...)`, which the
HTTP layers and the CLI wrap around their work; anything else is recorded as "system".
Secrets and password hashes are never written: a fingerprint shows that they changed.
"""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timezone
from typing import Any, Iterator

from sqlalchemy import JSON, DateTime, Integer, String, event, insert, inspect, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from configstore.db import Base

_actor: ContextVar[str] = ContextVar("liveboard_audit_actor", default="system")

# Audited tables -> (columns shown as a fingerprint, columns ignored: bookkeeping, not a change)
AUDITED: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "campaigns": (frozenset(), frozenset()),
    "hosts": (frozenset(), frozenset()),
    "host_accounts": (frozenset(), frozenset()),
    "host_enterprises": (frozenset(), frozenset()),
    "enterprises": (frozenset(), frozenset()),
    "enterprise_accounts": (frozenset(), frozenset()),
    "disqualifications": (frozenset(), frozenset()),
    "webhook_sources": (frozenset(), frozenset()),
    "webhook_secrets": (frozenset({"secret"}), frozenset()),
    "regions": (frozenset(), frozenset()),
    "service_stations": (frozenset(), frozenset()),
    "users": (frozenset({"password_hash"}), frozenset({"last_login_at", "session_epoch"})),
    "api_tokens": (frozenset({"token_hash"}), frozenset({"last_used_at"})),
    "award_lists": (frozenset(), frozenset()),
    "award_items": (frozenset(), frozenset()),
    "award_reviews": (frozenset(), frozenset()),
    "station_scores": (frozenset(), frozenset()),
    "region_targets": (frozenset(), frozenset()),
    "connector_connections": (frozenset({"credentials"}), frozenset({"updated_at"})),
}


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(16))  # create|update|delete
    target_type: Mapped[str] = mapped_column(String(64), index=True)  # the table
    target_id: Mapped[str] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Every audited change inside the block is recorded as made by `actor`."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor() -> str:
    return _actor.get()


def fingerprint(value: Any) -> str | None:
    if value is None:
        return None
    return "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()[:12]


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    return value


def _states(obj) -> tuple[dict[str, Any], dict[str, Any]]:
    """(before, after) of every column, from the attribute history the flush has not reset yet."""
    state = inspect(obj)
    hidden, _ignored = AUDITED[state.mapper.local_table.name]
    before, after = {}, {}
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        now = state.dict.get(attr.key)
        was = history.deleted[0] if history.deleted else now
        if attr.key in hidden:
            was, now = fingerprint(was), fingerprint(now)
        before[attr.key], after[attr.key] = _json(was), _json(now)
    return before, after


def _target_id(obj) -> str:
    state = inspect(obj)
    return "/".join(str(state.dict.get(col.key)) for col in state.mapper.primary_key)


def _audited(obj) -> bool:
    return getattr(getattr(obj, "__table__", None), "name", None) in AUDITED


def _write(connection, action: str, target, before, after) -> None:
    connection.execute(insert(AuditEntry.__table__).values(
        at=datetime.now(timezone.utc), actor=_actor.get(), action=action, target_type=target.__table__.name,
        target_id=_target_id(target), before=before, after=after))


# Mapper events fire for every row the flush writes, including rows deleted by a cascade
# (e.g. a host's replaced accounts), which Session.deleted never lists.
@event.listens_for(Base, "after_insert", propagate=True)
def _inserted(_mapper, connection, target) -> None:
    if _audited(target):
        _write(connection, "create", target, None, _states(target)[1])


@event.listens_for(Base, "after_update", propagate=True)
def _updated(_mapper, connection, target) -> None:
    if _audited(target):
        before, after = _states(target)
        ignored = AUDITED[target.__table__.name][1]
        if any(before[k] != after[k] for k in before if k not in ignored):
            _write(connection, "update", target, before, after)


@event.listens_for(Base, "after_delete", propagate=True)
def _deleted(_mapper, connection, target) -> None:
    if _audited(target):
        _write(connection, "delete", target, _states(target)[0], None)


def list_entries(factory: sessionmaker[Session], *, limit: int = 100, before_id: int | None = None,
                 target_type: str | None = None, target_id: str | None = None) -> list[dict[str, Any]]:
    """Newest first; page with before_id (the smallest id of the previous page)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(limit, 500)))
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if target_id:
        query = query.where(AuditEntry.target_id == target_id)
    with factory() as session:
        return [{"id": e.id, "at": _json(e.at), "actor": e.actor, "action": e.action, "target_type": e.target_type,
                 "target_id": e.target_id, "before": e.before, "after": e.after}
                for e in session.scalars(query).all()]
