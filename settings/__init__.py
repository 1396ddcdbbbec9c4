"""Settings from the environment (LIVEBOARD_*), with defaults for the embedded mode.

One frozen object is built at start-up and handed to every component, so tests can build
their own without touching os.environ.
"""
from __future__ import annotations

import base64
import os
import secrets
import stat
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path


def _env_name(field_name: str) -> str:
    return f"LIVEBOARD_{field_name.upper()}"


def _parse(f, raw: str):
    """An environment string as the field's type (the annotation, as a string under __future__)."""
    kind = str(f.type)
    if kind == "bool":
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    if kind.startswith("Path"):  # Path, or Path | None where "" means None
        return Path(raw) if raw else None
    return raw


def make_private_dir(path: Path) -> None:
    """Create `path` (and its parents) if missing; `path` itself ends up 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    _owner_only(path)


def make_private_file(path: Path) -> None:
    """Create an empty `path` with mode 0600 if it does not exist (so a database opened on it next
    never exists readable by others), or take group and other bits off the existing one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        _owner_only(path)


def _owner_only(path: Path) -> None:
    try:
        mode = path.lstat().st_mode
        if not stat.S_ISLNK(mode) and mode & 0o077:
            os.chmod(path, stat.S_IMODE(mode) & 0o700)
    except FileNotFoundError:  # removed meanwhile (an SQLite -shm file, a sibling's temp file)
        pass


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
    topic_replication_factor: int = -1  # -1: the brokers' default (3 on a cluster, 1 on one broker)
    # Set on each topic when it is created, whatever the brokers' default: an acks=all append is on
    # this many replicas before it is acknowledged. -1: 2 when the cluster has 3 or more brokers, else 1.
    topic_min_insync_replicas: int = -1
    clickhouse_url: str = "clickhouse://127.0.0.1:9000/liveboard"
    # Sharded ClickHouse: the cluster's name in the servers' remote_servers. Set, the migrations
    # create per-shard `<table>_local` tables on every shard and Distributed tables under the
    # original names (analytics/migrations.py); reads and writes go through those.
    clickhouse_cluster: str = ""
    # The shards' addresses (host:port of the native protocol, comma-separated); empty: read from
    # system.clusters of the server in clickhouse_url.
    clickhouse_shards: str = ""
    chdb_dir: Path | None = None  # default: data_dir/chdb
    chdb_database: str = "liveboard"
    database_url: str = ""  # config store; empty -> sqlite file in data_dir
    consumer_group: str = "liveboard-sales-writer"
    consumer_batch_rows: int = 5000
    consumer_batch_ms: int = 500
    # A writer that does not poll for this long loses its partitions; store outages are waited out
    # paused and polling, so this only bounds one batch's look-ups and insert.
    consumer_max_poll_interval_ms: int = 120_000
    consumer_session_timeout_ms: int = 10_000
    # Background components report a heartbeat this often; /healthz answers 503 when no writer is
    # running or the writers are more than this many events behind.
    heartbeat_seconds: float = 5.0
    health_max_writer_lag: int = 50_000
    ranking_interval_seconds: float = 5.0  # at least this often; new data triggers a run at once
    # how often the leading scheduler looks at the writers' committed position for new data (0: interval only)
    ranking_poll_seconds: float = 0.2
    # Schedulers elect one leader through a lease in the config store; the leader renews it every
    # third of this, a standby tries to take it as often. A dead leader's jobs resume on a standby
    # within 4/3 of this (the lease lapses, then the standby's next try), plus one run.
    scheduler_lease_seconds: float = 15.0
    webhook_max_body_bytes: int = 1024 * 1024
    webhook_max_batch: int = 500
    secret_key: str = ""
    # Fernet keys (comma-separated, the first encrypts) for secrets stored in the config store:
    # webhook secrets, WeChat session keys, platform credentials. Empty: one generated into the
    # data dir. Processes that do not share a data dir must all be given the same keys.
    secrets_key: str = ""
    # Console session cookie: Secure when served over HTTPS (set LIVEBOARD_COOKIE_SECURE=1 behind TLS).
    cookie_secure: bool = False
    # Rate-limit counters (login, webhooks); "" chooses (rate_limit_storage()): in process on the
    # embedded default (one serving process), Redis when redis_url is set, else the config store
    # (shared by every process, one upsert per hit). An explicit URI wins: memory://, redis://…,
    # liveboard+configstore://.
    ratelimit_storage_uri: str = ""
    # Redis for what processes must share fast (rate-limit counters), e.g. redis://127.0.0.1:6379/0.
    redis_url: str = ""
    # Per webhook source and client IP (Flask-Limiter syntax; "" switches the limit off).
    webhook_rate_limit: str = "6000 per minute"
    # Reverse proxies in front whose X-Forwarded-For is trusted for the client address (rate limits
    # count per client): 0 when clients connect directly, 1 behind one nginx. Never more than there are.
    proxy_hops: int = 0
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
    # Award certificates: the 落款 (the issuing body) and, optionally, its seal as a PNG with a
    # transparent background, pressed over the 落款 (about 42 mm across on the page).
    organizer_name: str = "湘西土家族苗族自治州商务局"
    seal_image: Path | None = None
    # Native platform connections (docs/platforms.md): verified pushes land on the raw topic (created
    # with the sales topic); the connector worker enriches them through the platform's API, and
    # what can never be enriched goes to the connector dead-letter topic with its original bytes.
    connector_raw_topic: str = "liveboard.connector.raw.v1"
    connector_dead_letter_topic: str = "liveboard.connector.dlq.v1"
    connector_group: str = "liveboard-connector-worker"
    connector_worker_threads: int = 4  # platform API calls in flight per worker process
    connector_pull_interval_seconds: float = 600.0  # the pull backstop heals a gap of pushes within this
    connector_public_url: str = ""  # how platforms reach us, e.g. https://lb.example.cn (printed push URLs)
    extra: dict = field(default_factory=dict)

    def rate_limit_storage(self, processes: int = 1) -> str:
        """Where rate-limit counters live for a server of `processes` API processes (see
        backend/ratelimits.py): in process only where one process serves the embedded default."""
        if self.ratelimit_storage_uri:
            return self.ratelimit_storage_uri
        if self.redis_url:
            return self.redis_url
        if self.event_log == "sqlite" and processes == 1:
            return "memory://"
        return "liveboard+configstore://"

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

    def with_secret_key(self) -> "Settings":
        """These settings with a session signing key and secret-encryption keys: from
        LIVEBOARD_SECRET_KEY / LIVEBOARD_SECRETS_KEY, else generated once into the data dir (mode
        0600), so a default install never uses a well-known key and every process on one data dir
        agrees on them."""
        settings = self
        if not settings.secret_key:
            settings = settings.with_(secret_key=self._generated("secret_key", lambda: secrets.token_urlsafe(48)))
        if not settings.secrets_key:
            settings = settings.with_(secrets_key=self._generated(
                "secrets_key", lambda: base64.urlsafe_b64encode(os.urandom(32)).decode()))
        return settings

    def _generated(self, name: str, make) -> str:
        path = self.data_dir / name
        make_private_dir(self.data_dir)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # made earlier, or by a sibling process just now
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(make())
        for _ in range(50):  # a sibling may be between creating and writing the file
            key = path.read_text().strip()
            if key:
                return key
            time.sleep(0.01)
        raise RuntimeError(f"{path} is empty; delete it or set LIVEBOARD_{name.upper()}")

    def secure_data_dir(self) -> None:
        """The data dir and what it holds readable by this OS user only: the dir (and the chDB dir)
        0700, the files in it 0600; SQLite files about to be created are made 0600 first (SQLite
        gives its -wal and -shm files the database's mode). Idempotent; every start runs it, so a
        data dir made by an older version is tightened too."""
        make_private_dir(self.data_dir)
        for entry in self.data_dir.iterdir():
            _owner_only(entry)
        if self.event_log == "sqlite":
            make_private_file(self.event_log_path)
        if not self.database_url:
            make_private_file(self.data_dir / "config.sqlite3")
        if self.store == "chdb":
            make_private_dir(self.chdb_path)

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """Every field from LIVEBOARD_<FIELD NAME> when set, else its default; then `overrides`."""
        values = {}
        for f in fields(cls):
            raw = os.environ.get(_env_name(f.name))
            if f.name != "extra" and raw is not None:
                values[f.name] = _parse(f, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if isinstance(values.get("data_dir"), str):
            values["data_dir"] = Path(values["data_dir"])
        settings = cls(**values)
        if settings.event_log not in ("sqlite", "kafka"):
            raise ValueError(f"LIVEBOARD_EVENT_LOG must be sqlite or kafka, not {settings.event_log!r}")
        if settings.store not in ("chdb", "clickhouse"):
            raise ValueError(f"LIVEBOARD_STORE must be chdb or clickhouse, not {settings.store!r}")
        if settings.clickhouse_cluster and settings.store != "clickhouse":
            raise ValueError("LIVEBOARD_CLICKHOUSE_CLUSTER needs LIVEBOARD_STORE=clickhouse (chDB has no shards)")
        if settings.wechat_miniprogram_state not in ("", "developer", "trial", "formal"):
            raise ValueError("LIVEBOARD_WECHAT_MINIPROGRAM_STATE must be developer, trial or formal")
        return settings

    def to_env(self, **extra: str) -> dict[str, str]:
        """This process's environment with LIVEBOARD_* set to these settings: the same deployment
        for a child process (tests, benchmarks)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEBOARD_")}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "extra" or value is None:
                continue
            if f.name == "database_url":
                value = self.config_db_url  # the child must find the same config store
            env[_env_name(f.name)] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        env.update(extra)
        return env

    @property
    def wechat_enabled(self) -> bool:
        return bool(self.wechat_appid and self.wechat_secret)
