"""What the organizer API and the console both show, assembled from the registry, the analytics
store and the event log (no HTTP here): unattributed sales, ingestion health, imports."""
from __future__ import annotations

import logging
import time

from analytics.base import StoreError
from analytics.unattributed import (
    CampaignWindow,
    UnattributedGroup,
    totals,
    unattributed_groups,
)
from configstore import registry, sources
from configstore.errors import ConfigError
from configstore.participants_import import ImportReport, ImportTooLarge, import_participants, read_rows
from eventlog.base import EventLogUnavailable
from services.runtime import Runtime

log = logging.getLogger(__name__)
IMPORT_MAX_BYTES = 16 * 1024 * 1024  # participant spreadsheets may exceed the app-wide 1 MiB body cap
_DEAD_LETTER_TTL_S = 10.0
_dead_letter_cache: dict[int, tuple[float, int | None]] = {}


def unattributed(runtime: Runtime, campaign: str | None = None) -> list[UnattributedGroup]:
    sessions = runtime.sessions
    windows = {c.slug: CampaignWindow(c.status, c.first_day, c.last_day) for c in registry.all_campaigns(sessions)}
    return unattributed_groups(runtime.store, campaigns=windows, hosts=registry.attribution(sessions, "hosts"),
                               enterprises=registry.attribution(sessions, "enterprises"), campaign=campaign)


def import_file(runtime: Runtime, filename: str, content: bytes) -> ImportReport:
    try:
        rows = read_rows(filename, content)
    except ImportTooLarge as exc:
        raise ConfigError(exc.code, str(exc)) from None
    except ValueError as exc:
        raise ConfigError("unsupported_file", str(exc)) from None
    except Exception:  # a corrupt workbook, a CSV that is not UTF-8, ...
        log.info("unreadable import file %s", filename, exc_info=True)
        raise ConfigError("unreadable_file", "文件无法读取：请上传 UTF-8 编码的 CSV 或 .xlsx 表格") from None
    return import_participants(runtime.sessions, rows)


def report_dict(report: ImportReport) -> dict:
    return {"hosts": report.hosts, "enterprises": report.enterprises, "kept": report.kept,
            "bad_rows": report.bad_rows, "errors": [e.as_dict() for e in report.errors]}


def create_source(runtime: Runtime, name: str, description: str = "") -> str:
    secret = sources.create_source(runtime.sessions, name, description, box=runtime.secrets)
    runtime.sources.invalidate(name)  # an earlier 401 for this name must not linger in the cache
    return secret


def rotate_source(runtime: Runtime, name: str) -> str:
    secret = sources.rotate_secret(runtime.sessions, name, box=runtime.secrets)
    runtime.sources.invalidate(name)  # the new secret works at once in this process
    return secret


def revoke_source(runtime: Runtime, name: str) -> None:
    sources.revoke_source(runtime.sessions, name)
    runtime.sources.invalidate(name)  # refused at once here; other processes within the cache ttl


def dead_lettered(runtime: Runtime) -> int | None:
    """Records in the dead-letter topic, cached briefly (Kafka needs a connection); None if unknown."""
    now = time.monotonic()
    cached = _dead_letter_cache.get(id(runtime))
    if cached and now - cached[0] < _DEAD_LETTER_TTL_S:
        return cached[1]
    try:
        count = runtime.event_log.count(runtime.event_log.dead_letter_topic)
    except (EventLogUnavailable, AttributeError):
        count = None
    _dead_letter_cache[id(runtime)] = (now, count)
    return count


def ingestion_health(runtime: Runtime) -> dict:
    metrics = runtime.metrics
    counters = metrics.snapshot()
    try:
        unattributed_totals: dict | None = totals(unattributed(runtime))
    except StoreError:
        log.warning("analytics store unavailable for the health view", exc_info=True)
        unattributed_totals = None
    return {
        "events_accepted": counters.get("events_accepted", 0),
        "events_rejected": counters.get("events_rejected", 0),
        "requests_bad_signature": counters.get("webhook_bad_signature", 0),
        "requests_unavailable": counters.get("webhook_unavailable", 0),
        "accepted_per_minute": metrics.per_minute("events_accepted"),
        "rejected_per_minute": metrics.per_minute("events_rejected"),
        "dead_lettered": dead_lettered(runtime),
        "unattributed": unattributed_totals,
        "scope": "process",  # counters are this API process's since it started
    }
