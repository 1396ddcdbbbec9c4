"""Bring a deployment's stores to the code's version: config store (Alembic), analytics store
(ClickHouse DDL) and the event log's topics. Idempotent: `liveboard migrate`, `run` and `restore`
all start here."""
from __future__ import annotations

from analytics import open_store
from analytics.migrations import migrate as migrate_store
from configstore.migrate import upgrade as migrate_config
from eventlog import open_event_log
from settings import Settings


def migrate_all(settings: Settings, echo=lambda msg: None) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    echo(f"配置库迁移 (config store): {settings.config_db_url.split('@')[-1]}")
    migrate_config(settings.config_db_url)
    store = open_store(settings)
    applied = migrate_store(store)
    echo(f"分析库迁移 (analytics store, {settings.store}): {', '.join(applied) if applied else '已是最新'}")
    event_log = open_event_log(settings, client_id="liveboard-migrate")
    event_log.ensure_topics()
    event_log.close()
