"""What each background component last said about itself, shared by every process.

Writers, schedulers and connector workers run in their own processes at scale-out (threads of one
process on the embedded default); each reports here every few seconds: alive, its last batch or
run, its lag, its last error and how often it was restarted. `/healthz`, `/metrics` and the
console read these rows, so a dead or stuck worker shows wherever anyone looks.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from configstore.db import Base, as_utc, table_of, transaction


class ComponentStatus(Base):
    __tablename__ = "component_status"

    # e.g. ("writer", "host-1234-writer"): one row per running instance of a component
    component: Mapped[str] = mapped_column(String(32), primary_key=True)
    instance: Mapped[str] = mapped_column(String(128), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    beat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    state: Mapped[str] = mapped_column(String(16))  # running | restarting | stopped
    restarts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # last batch/run, lag, counts


@dataclass(frozen=True)
class Beat:
    component: str
    instance: str
    started_at: datetime
    beat_at: datetime
    state: str
    restarts: int = 0
    last_error: str = ""
    last_error_at: datetime | None = None
    figures: dict[str, Any] | None = None


def report(factory: sessionmaker[Session], beat: Beat) -> None:
    """Upsert one instance's row (one statement, no read)."""
    values = dict(component=beat.component, instance=beat.instance, started_at=beat.started_at,
                  beat_at=beat.beat_at, state=beat.state, restarts=beat.restarts, last_error=beat.last_error[:500],
                  last_error_at=beat.last_error_at, figures=beat.figures or {})
    with transaction(factory) as session:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = insert(table_of(ComponentStatus)).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=["component", "instance"],
            set_={k: v for k, v in values.items() if k not in ("component", "instance")})
        session.execute(statement)


def read_all(factory: sessionmaker[Session]) -> list[Beat]:
    with factory() as session:
        rows = session.scalars(select(ComponentStatus).order_by(ComponentStatus.component,
                                                                ComponentStatus.instance)).all()
        return [Beat(r.component, r.instance, as_utc(r.started_at), as_utc(r.beat_at), r.state, r.restarts,
                     r.last_error, as_utc(r.last_error_at), dict(r.figures or {})) for r in rows]
