"""Leases in the config store: one holder at a time, fenced by an epoch, and the slots a lease's
jobs ran for.

Several schedulers run at scale-out; the one holding the "scheduler" lease runs the jobs. A holder
renews its lease well before it expires; when it dies the lease lapses and another takes it over
with the next epoch. Every job run first claims its slot (job, slot) in the same transaction that
checks the lease is still this holder's, in this epoch, unexpired: a slot is claimed at most once
(primary key), and never by a holder that lost its lease, however late it wakes up.

Every statement here is a single conditional UPDATE or INSERT, atomic alike on SQLite (writes are
serialized) and PostgreSQL (the row lock re-checks the WHERE); `claim_slot` locks the lease row
(FOR UPDATE) so a takeover waits for a claim in progress and the claim sees a committed takeover.
Times come from the caller's clock: holders must agree on the time to well within the lease's TTL.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, DateTime, Integer, String, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from configstore.db import Base, affected, as_utc, table_of, transaction

SCHEDULER = "scheduler"  # the lease the schedulers elect their leader with


class Lease(Base):
    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    epoch: Mapped[int] = mapped_column(Integer)  # +1 at every change of holder (or a lapse)
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class JobRun(Base):
    __tablename__ = "job_runs"

    # the slot: which run of a job this is, e.g. floor(epoch seconds / interval) for an interval job
    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    slot: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    lease: Mapped[str] = mapped_column(String(64))
    epoch: Mapped[int] = mapped_column(Integer)
    holder: Mapped[str] = mapped_column(String(128))
    ran_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


@dataclass(frozen=True)
class Held:
    """A lease as its holder knows it."""

    name: str
    holder: str
    epoch: int
    expires_at: datetime


def _insert(session: Session):
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def acquire(factory: sessionmaker[Session], name: str, holder: str, ttl_seconds: float, now: datetime) -> Held | None:
    """Renew this holder's live lease, or take a lapsed (or never held) one with the next epoch.
    None while another holder's lease is live."""
    expires = now + timedelta(seconds=ttl_seconds)
    lease = table_of(Lease)
    with transaction(factory) as session:
        renewed = affected(session.execute(
            update(lease).where(lease.c.name == name, lease.c.holder == holder, lease.c.expires_at > now)
            .values(expires_at=expires)))
        if not renewed:
            taken = affected(session.execute(
                update(lease).where(lease.c.name == name, lease.c.expires_at <= now)
                .values(holder=holder, epoch=lease.c.epoch + 1, acquired_at=now, expires_at=expires)))
            if not taken:
                session.execute(_insert(session)(lease).values(
                    name=name, holder=holder, epoch=1, acquired_at=now, expires_at=expires
                ).on_conflict_do_nothing(index_elements=["name"]))
        row = session.execute(select(lease.c.holder, lease.c.epoch, lease.c.expires_at)
                              .where(lease.c.name == name)).one()
    if row.holder != holder:
        return None
    return Held(name, holder, int(row.epoch), as_utc(row.expires_at))


def release(factory: sessionmaker[Session], held: Held, now: datetime) -> bool:
    """Let the lease lapse now (a clean shutdown: the next holder need not wait out the TTL)."""
    lease = table_of(Lease)
    with transaction(factory) as session:
        return bool(affected(session.execute(
            update(lease).where(lease.c.name == held.name, lease.c.holder == held.holder,
                                lease.c.epoch == held.epoch, lease.c.expires_at > now)
            .values(expires_at=now))))


def current(factory: sessionmaker[Session], name: str) -> Held | None:
    """The lease as stored (whoever holds it; expires_at tells whether it is live)."""
    lease = table_of(Lease)
    with factory() as session:
        row = session.execute(select(lease.c.holder, lease.c.epoch, lease.c.expires_at)
                              .where(lease.c.name == name)).one_or_none()
    return None if row is None else Held(name, row.holder, int(row.epoch), as_utc(row.expires_at))


def claim_slot(factory: sessionmaker[Session], held: Held, job: str, slot: int, now: datetime) -> bool:
    """True when this holder may run `job` for `slot` now: its lease is live in this epoch and no
    run of that slot was claimed before (by anyone, in any epoch)."""
    lease, runs = table_of(Lease), table_of(JobRun)
    with transaction(factory) as session:
        live = session.execute(
            select(lease.c.epoch).where(lease.c.name == held.name, lease.c.holder == held.holder,
                                        lease.c.epoch == held.epoch, lease.c.expires_at > now)
            .with_for_update()).one_or_none()
        if live is None:
            return False
        claimed = session.execute(_insert(session)(runs).values(
            job=job, slot=slot, lease=held.name, epoch=held.epoch, holder=held.holder, ran_at=now
        ).on_conflict_do_nothing(index_elements=["job", "slot"]))
        return affected(claimed) == 1


def runs(factory: sessionmaker[Session], job: str, since: datetime | None = None) -> list[tuple[int, int, str, datetime]]:
    """(slot, epoch, holder, ran_at) of a job's claimed runs, oldest first."""
    table = table_of(JobRun)
    query = select(table.c.slot, table.c.epoch, table.c.holder, table.c.ran_at).where(table.c.job == job)
    if since is not None:
        query = query.where(table.c.ran_at >= since)
    with factory() as session:
        return [(int(r.slot), int(r.epoch), r.holder, as_utc(r.ran_at))
                for r in session.execute(query.order_by(table.c.slot))]


def purge_runs(factory: sessionmaker[Session], before: datetime) -> int:
    """Forget slot claims older than `before` (a slot is never claimed again once its time passed)."""
    table = table_of(JobRun)
    with transaction(factory) as session:
        return affected(session.execute(delete(table).where(table.c.ran_at < before)))
