"""Bring a deployment's stores to the code's version: config store (Alembic, then plain-text secrets
sealed), analytics store (ClickHouse DDL) and the event log's topics; the data dir owner-only.
Idempotent: `liveboard migrate`, `run` and `restore` all start here."""
from __future__ import annotations

from analytics import open_shard_stores, open_store
from analytics.migrations import migrate as migrate_store
from analytics.migrations import migrate_sharded
from configstore.db import make_engine
from configstore.migrate import upgrade as migrate_config
from configstore.sealed import seal_stored_secrets
from configstore.secretbox import SecretBox
from eventlog import open_event_log
from settings import Settings


def seal_secrets(settings: Settings, echo=lambda msg: None) -> None:
    """Seal the config store's secrets still stored in plain text (idempotent; see configstore.sealed)."""
    engine = make_engine(settings.config_db_url)
    try:
        sealed = seal_stored_secrets(engine, SecretBox(settings.with_secret_key().secrets_key))
    finally:
        engine.dispose()
    if any(sealed.values()):
        echo("已加密保存原为明文的密钥: " + ", ".join(f"{name} {n}" for name, n in sealed.items() if n))


def migrate_all(settings: Settings, echo=lambda msg: None) -> None:
    settings.secure_data_dir()
    echo(f"配置库迁移 (config store): {settings.config_db_url.split('@')[-1]}")
    migrate_config(settings.config_db_url)
    seal_secrets(settings, echo)
    if settings.clickhouse_cluster:
        shards = open_shard_stores(settings)
        try:
            applied = migrate_sharded(shards, settings.clickhouse_cluster)
        finally:
            for shard in shards:
                shard.close()
        where = f"{settings.store}, 集群 {settings.clickhouse_cluster}，{len(shards)} 个分片"
    else:
        store = open_store(settings)
        applied = migrate_store(store)
        where = settings.store
    echo(f"分析库迁移 (analytics store, {where}): {', '.join(applied) if applied else '已是最新'}")
    event_log = open_event_log(settings, client_id="liveboard-migrate")
    event_log.ensure_topics()
    event_log.close()
