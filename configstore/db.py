"""Config store plumbing: one declarative Base for every table, engines, sessions.

SQLite on the embedded default, PostgreSQL at scale; the same models serve both.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, overload

from sqlalchemy import MetaData, Table, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from settings import make_private_file

# Stable constraint names so Alembic migrations read the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class _NoResultRows(logging.Filter):
    """SQLAlchemy logs every fetched row at DEBUG (secrets, session keys, token hashes included);
    statements stay loggable, rows never are."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith(("Row ", "Col ")))


logging.getLogger("sqlalchemy.engine.Engine").addFilter(_NoResultRows())


def make_engine(url: str) -> Engine:
    """An engine for the config store; SQLite gets WAL and a busy timeout so the API,
    consumer and scheduler threads (or processes) can share one file."""
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            make_private_file(Path(database))  # 0600 before SQLite creates it (and its -wal, -shm)
        # hide_parameters: with SQL logging on, values (webhook secrets, WeChat session keys) stay out of logs
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with factory() as session:
        with session.begin():
            yield session


def affected(result: Any) -> int:
    """Rows an UPDATE / DELETE / INSERT touched (typed: SQLAlchemy's Result does not declare it)."""
    return int(result.rowcount)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """A stored moment as an aware UTC datetime: SQLite hands back naive datetimes even for
    timezone=True columns, and they were stored as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def table_of(model: type[Base]) -> Table:
    """A model's Core table, typed (SQLAlchemy declares `__table__` as any FromClause)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table

