"""Rate-limit counters in the config store, so every API process counts against one limit.

Flask-Limiter (via the `limits` library) does the limiting; this is only its storage backend, for
the fixed-window strategy. The config store is the one database every process of a deployment
already shares (one SQLite file embedded, PostgreSQL at scale), so login, binding and webhook
limits hold across gunicorn workers without adding Redis. A deployment that has Redis can point
LIVEBOARD_RATELIMIT_STORAGE_URI at it instead.

Each hit is one atomic upsert (INSERT … ON CONFLICT … RETURNING, on SQLite ≥ 3.35 and
PostgreSQL): an expired window restarts at `amount`, a live one adds `amount`.
"""
from __future__ import annotations

from typing import Any, Callable

from limits.storage import Storage
from sqlalchemy import Float, Integer, String, case, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from configstore.db import Base, affected, make_engine, table_of
from domain.clock import SYSTEM_CLOCK, Clock

SCHEME = "liveboard+configstore"


class RateLimitCounter(Base):
    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, nullable=False)
    # epoch seconds (float): compared with the clock's time in SQL, the same on both backends
    window_ends_at: Mapped[float] = mapped_column(Float, nullable=False, index=True)


class ConfigStoreRateLimitStorage(Storage):
    """`limits` storage over the config store. URI: ``liveboard+configstore://``; options: ``url``
    (a SQLAlchemy URL) and ``clock``, or ``context``: a callable returning (engine, clock) per call
    — the API passes one that reads the runtime serving the request, so several apps in one
    process (tests) each count in their own store."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str = f"{SCHEME}://", wrap_exceptions: bool = False, *,
                 url: str | None = None, clock: Clock = SYSTEM_CLOCK,
                 context: Callable[[], tuple[Engine, Clock]] | None = None, **options: Any) -> None:
        if url is None and context is None:
            raise ValueError("ConfigStoreRateLimitStorage needs a url or a context")
        if context is None:
            own = make_engine(str(url))
            context = lambda: (own, clock)  # noqa: E731 (the one place it is built)
        self._context = context
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def _engine(self) -> Engine:
        return self._context()[0]

    def _now(self) -> float:
        return self._context()[1].time()

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self._now()
        table = table_of(RateLimitCounter)
        insert = pg_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        expired = table.c.window_ends_at <= now
        statement = insert(table).values(key=key, hits=amount, window_ends_at=now + expiry).on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "hits": case((expired, amount), else_=table.c.hits + amount),
                "window_ends_at": case((expired, now + expiry), else_=table.c.window_ends_at),
            },
        ).returning(table.c.hits)
        with self._engine.begin() as conn:
            return int(conn.execute(statement).scalar_one())

    def get(self, key: str) -> int:
        row = self._live_row(key)
        return int(row.hits) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._live_row(key)
        return float(row.window_ends_at) if row else self._now()

    def _live_row(self, key: str):
        table = RateLimitCounter.__table__
        with self._engine.connect() as conn:
            return conn.execute(
                select(table.c.hits, table.c.window_ends_at)
                .where(table.c.key == key, table.c.window_ends_at > self._now())
            ).first()

    def check(self) -> bool:
        try:
            with self._engine.connect() as conn:
                conn.execute(select(1))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with self._engine.begin() as conn:
            return affected(conn.execute(delete(table_of(RateLimitCounter))))

    def clear(self, key: str) -> None:
        with self._engine.begin() as conn:
            table = table_of(RateLimitCounter)
            conn.execute(delete(table).where(table.c.key == key))

    def purge_expired(self) -> int:
        """Drop finished windows (the scheduler calls this; the table stays small)."""
        table = table_of(RateLimitCounter)
        with self._engine.begin() as conn:
            return affected(conn.execute(delete(table).where(table.c.window_ends_at <= self._now())))
