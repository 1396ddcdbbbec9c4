"""Settings from the environment (LIVEBOARD_*), with defaults for the embedded mode.

One frozen object is built at start-up and handed to every component, so tests can build
their own without touching os.environ.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(f"LIVEBOARD_{name}", default)


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("./data")
    # The two seams: "sqlite" | "kafka" for the event log, "chdb" | "clickhouse" for the store.
    event_log: str = "sqlite"
    store: str = "chdb"
    kafka_bootstrap: str = "127.0.0.1:9092"
    sales_topic: str = "liveboard.sales.v1"
    dead_letter_topic: str = "liveboard.sales.dlq.v1"
    topic_partitions: int = 6
    clickhouse_url: str = "clickhouse://127.0.0.1:9000/liveboard"
    chdb_dir: Path | None = None  # default: data_dir/chdb
    chdb_database: str = "liveboard"
    database_url: str = ""  # config store; empty -> sqlite file in data_dir
    consumer_group: str = "liveboard-sales-writer"
    consumer_batch_rows: int = 5000
    consumer_batch_ms: int = 500
    ranking_interval_seconds: float = 5.0
    webhook_max_body_bytes: int = 1024 * 1024
    webhook_max_batch: int = 500
    secret_key: str = ""
    # Console session cookie: Secure when served over HTTPS (set LIVEBOARD_COOKIE_SECURE=1 behind TLS).
    cookie_secure: bool = False
    # Login rate-limit counters: memory:// is per process; several API processes need a shared
    # store (e.g. redis://host:6379) so the limit holds across them.
    ratelimit_storage_uri: str = "memory://"
    # Fault injection for crash tests: SIGKILL the writer after the Nth insert, before its commit.
    fault_kill_after_insert: int = 0
    # WeChat mini-program. An empty appid switches login, wxa codes and pushes off.
    wechat_appid: str = ""
    wechat_secret: str = ""
    wechat_base_url: str = "https://api.weixin.qq.com"
    wechat_http_timeout: float = 10.0
    wechat_miniprogram_state: str = ""  # "" (WeChat's default: formal) | developer | trial | formal
    # Subscribe-message template ids (from the mini-program admin console); "" = not used.
    wechat_template_rank: str = ""  # entered / left the top ten
    wechat_template_award: str = ""  # award granted
    wechat_template_milestone: str = ""  # sales milestone reached
    mp_session_ttl_seconds: int = 7 * 24 * 3600
    mp_bind_code_ttl_seconds: int = 72 * 3600
    push_interval_seconds: float = 5.0
    push_lease_seconds: float = 60.0  # an outbox claim lapses after this; must exceed wechat_http_timeout
    extra: dict = field(default_factory=dict)

    @property
    def config_db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'config.sqlite3').resolve()}"

    @property
    def event_log_path(self) -> Path:
        return self.data_dir / "eventlog.sqlite3"

    @property
    def chdb_path(self) -> Path:
        return self.chdb_dir or self.data_dir / "chdb"

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        values = dict(
            data_dir=Path(_env("DATA_DIR", "./data")),
            event_log=_env("EVENT_LOG", "sqlite"),
            store=_env("STORE", "chdb"),
            kafka_bootstrap=_env("KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
            sales_topic=_env("SALES_TOPIC", "liveboard.sales.v1"),
            dead_letter_topic=_env("DEAD_LETTER_TOPIC", "liveboard.sales.dlq.v1"),
            topic_partitions=int(_env("TOPIC_PARTITIONS", "6")),
            clickhouse_url=_env("CLICKHOUSE_URL", "clickhouse://127.0.0.1:9000/liveboard"),
            chdb_dir=Path(_env("CHDB_DIR", "")) if _env("CHDB_DIR", "") else None,
            chdb_database=_env("CHDB_DATABASE", "liveboard"),
            database_url=_env("DATABASE_URL", ""),
            consumer_group=_env("CONSUMER_GROUP", "liveboard-sales-writer"),
            consumer_batch_rows=int(_env("CONSUMER_BATCH_ROWS", "5000")),
            consumer_batch_ms=int(_env("CONSUMER_BATCH_MS", "500")),
            ranking_interval_seconds=float(_env("RANKING_INTERVAL_SECONDS", "5")),
            secret_key=_env("SECRET_KEY", ""),
            cookie_secure=_env("COOKIE_SECURE", "0") in ("1", "true", "yes"),
            ratelimit_storage_uri=_env("RATELIMIT_STORAGE_URI", "memory://"),
            fault_kill_after_insert=int(_env("FAULT_KILL_AFTER_INSERT", "0")),
            wechat_appid=_env("WECHAT_APPID", ""),
            wechat_secret=_env("WECHAT_SECRET", ""),
            wechat_base_url=_env("WECHAT_BASE_URL", "https://api.weixin.qq.com"),
            wechat_http_timeout=float(_env("WECHAT_HTTP_TIMEOUT", "10")),
            wechat_miniprogram_state=_env("WECHAT_MINIPROGRAM_STATE", ""),
            wechat_template_rank=_env("WECHAT_TEMPLATE_RANK", ""),
            wechat_template_award=_env("WECHAT_TEMPLATE_AWARD", ""),
            wechat_template_milestone=_env("WECHAT_TEMPLATE_MILESTONE", ""),
            mp_session_ttl_seconds=int(_env("MP_SESSION_TTL_SECONDS", str(7 * 24 * 3600))),
            mp_bind_code_ttl_seconds=int(_env("MP_BIND_CODE_TTL_SECONDS", str(72 * 3600))),
            push_interval_seconds=float(_env("PUSH_INTERVAL_SECONDS", "5")),
            push_lease_seconds=float(_env("PUSH_LEASE_SECONDS", "60")),
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        if isinstance(values["data_dir"], str):
            values["data_dir"] = Path(values["data_dir"])
        settings = cls(**values)
        if settings.event_log not in ("sqlite", "kafka"):
            raise ValueError(f"LIVEBOARD_EVENT_LOG must be sqlite or kafka, not {settings.event_log!r}")
        if settings.store not in ("chdb", "clickhouse"):
            raise ValueError(f"LIVEBOARD_STORE must be chdb or clickhouse, not {settings.store!r}")
        if settings.wechat_miniprogram_state not in ("", "developer", "trial", "formal"):
            raise ValueError("LIVEBOARD_WECHAT_MINIPROGRAM_STATE must be developer, trial or formal")
        return settings

    @property
    def wechat_enabled(self) -> bool:
        return bool(self.wechat_appid and self.wechat_secret)
