"""The pull backstop: what pushes missed, found by listing the platform's recent orders.

Per connection, every ``connector_pull_interval_seconds`` (default 10 minutes; the scheduler runs
it): list the orders updated since the stored cursor (抖店 also its aftersales, since its order
detail names none) and add each to the pending table as a piece of work, unless it is pending
already or a finished piece of work read it after its last update (the listing's update time,
where the platform gives one). The worker then enriches it exactly like a push: same mapping,
same deterministic event ids, so an order a push already brought is never counted twice.

Windows are [cursor - overlap, now - lag], cut into days (快手 and 微信小店 list at most 7); the
cursor moves after each day is listed, so an interrupted pull resumes where it stopped. A push
lost at any time is found by the next pull: a gap is healed within one period.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone

from configstore import connections as store
from configstore.connections import NewMessage
from configstore.errors import Conflict
from connectors.access import PlatformAccess
from connectors.base import ConnectorError, Window
from connectors.service import Connection

log = logging.getLogger(__name__)

LAG_S = 30.0  # the newest half-minute is left to the platform's search index (and to the pushes)
OVERLAP_S = 120.0  # the end of the previous window is listed again: late-indexed updates are not skipped
MAX_WINDOW_S = 86400.0
LEASE_S = 600.0


@dataclass
class PullReport:
    connection: str
    listed: int = 0
    enqueued: int = 0
    windows: int = 0
    error: str = ""
    skipped: str = ""
    cursor: float | None = None
    details: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"connection": self.connection, "listed": self.listed, "enqueued": self.enqueued,
                "windows": self.windows, "error": self.error, "skipped": self.skipped, "cursor": self.cursor}


def pull_payload(connection: str, kind: str, platform_id: str, window_end: float) -> str:
    """What a piece of work the pull found keeps as its original content (for a dead letter)."""
    return json.dumps({"v": 1, "origin": "pull", "connection": connection, "kind": kind, "id": platform_id,
                       "window_end": window_end}, ensure_ascii=False)


def _moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def pull_connection(access: PlatformAccess, connection: Connection, *, since: float | None = None,
                    owner: str = "pull") -> PullReport:
    """One pull of one connection. `since` (epoch seconds) lists from then instead of the cursor
    (a backfill); the cursor only ever moves forward."""
    runtime = access.runtime
    sessions, clock = runtime.sessions, runtime.clock
    report = PullReport(connection.name)
    try:
        cursor = store.try_pull_lease(sessions, connection.id, owner, clock.time(), LEASE_S)
    except Conflict as exc:
        report.skipped = exc.message
        return report
    start = since if since is not None else (cursor if cursor is not None
                                             else connection.info.created_at.timestamp()) - OVERLAP_S
    end = clock.time() - LAG_S
    client = access.client(connection)
    error = ""
    try:
        while start < end:
            chunk_end = min(end, start + MAX_WINDOW_S)
            window = Window(_moment(start), _moment(chunk_end))
            _list(report, connection, window, client.list_orders, "order", sessions, clock.time())
            if hasattr(client, "list_aftersales"):
                _list(report, connection, window, client.list_aftersales, "refund", sessions, clock.time())
            report.windows += 1
            report.cursor = max(cursor or 0.0, chunk_end)
            store.advance_pull_cursor(sessions, connection.id, owner, report.cursor, clock.time() + LEASE_S)
            start = chunk_end
    except ConnectorError as exc:
        error = report.error = f"补单失败：{exc}"
        log.warning("pull of %s failed: %s", connection.name, exc)
    finally:
        store.finish_pull(sessions, connection.id, owner, clock.time(), error)
    return report


def _list(report: PullReport, connection: Connection, window: Window, lister, kind: str, sessions,
          now: float) -> None:
    cursor = None
    window_end = window.end.timestamp()
    while True:
        page = lister(window, cursor)
        report.listed += len(page.ids)
        wanted = store.uncovered(sessions, connection.id, kind, page.ids, dict(page.updated))
        report.enqueued += store.enqueue(sessions, [
            NewMessage(connection_id=connection.id, message_id=f"pull:{kind}:{platform_id}:{int(window_end)}",
                       origin="pull", kind=kind, order_id=platform_id if kind == "order" else None,
                       refund_id=platform_id if kind == "refund" else None, received_at=now,
                       payload=pull_payload(connection.name, kind, platform_id, window_end))
            for platform_id in wanted])
        cursor = page.next_cursor
        if cursor is None:
            return


def pull_all(access: PlatformAccess, owner: str = "scheduler") -> list[PullReport]:
    """Every active connection, one after the other; one failing never stops the others."""
    reports = []
    for info in store.list_connections(access.runtime.sessions):
        connection = access.directory.active(info.name)
        if connection is None:
            continue
        try:
            reports.append(pull_connection(access, connection, owner=owner))
        except Exception as exc:  # the config store or a bug: report it, go on with the next
            log.exception("pull of %s failed", info.name)
            reports.append(PullReport(info.name, error=f"{type(exc).__name__}: {exc}"))
    return reports
