"""Platform connections as the running product uses them: credentials opened from the config
store, API clients whose tokens every process shares, and the operations the CLI and the
console offer (create, change, list with status).

The config store keeps credentials and tokens sealed (``configstore.secretbox``); they are opened
here, in memory only, and never logged (``Credentials.__repr__`` hides them).
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass, fields
from typing import Any, Callable, Mapping

from sqlalchemy.orm import Session, sessionmaker

from configstore import connections as store
from configstore import registry
from configstore.connections import ConnectionInfo, ConnectionStatus
from configstore.errors import ConfigError
from configstore.secretbox import SecretBox
from connectors import get_connector
from connectors.base import AccessToken, ConnectorModule, Credentials, MappingContext, PlatformUnavailable
from connectors.campaigns import CampaignDays
from domain.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)

PUSH_PATH = "/v1/connectors/{name}/push"
# What each platform needs from its open platform (the connection's shop id fills Credentials.shop_id).
REQUIRED = {
    "douyin_shop": ("app_key", "app_secret"),
    "kuaishou_shop": ("app_key", "app_secret", "sign_secret", "message_key", "refresh_token"),
    "wechat_shop": ("app_id", "app_secret", "token", "encoding_aes_key"),
    "youzan": ("client_id", "client_secret"),
}
# Fields a platform's connection may also carry (the rest of its credentials are in REQUIRED).
OPTIONAL = {"douyin_shop": ("sign_method",), "kuaishou_shop": (), "wechat_shop": (), "youzan": ("refresh_token",)}
FIELD_NAMES_ZH = {"app_key": "App Key", "app_secret": "App Secret", "sign_secret": "签名密钥 signSecret",
                  "message_key": "消息私钥", "token": "消息推送 Token", "encoding_aes_key": "EncodingAESKey",
                  "app_id": "AppID", "client_id": "client_id", "client_secret": "client_secret",
                  "refresh_token": "refresh_token", "sign_method": "签名方式", "shop_id": "店铺编号"}
PUBLIC_FIELDS = ("app_key", "app_id", "client_id", "sign_method")  # shown in the console; the rest never
CREDENTIAL_FIELDS = tuple(f.name for f in fields(Credentials))


def platform_fields(platform: str) -> tuple[str, ...]:
    """The credential fields a connection of this platform uses, required first."""
    return REQUIRED.get(platform, ()) + OPTIONAL.get(platform, ())


def push_path(name: str) -> str:
    return PUSH_PATH.format(name=name)


def push_url(base_url: str, name: str) -> str:
    return (base_url.rstrip("/") or "https://<服务器地址>") + push_path(name)


# -- credentials ----------------------------------------------------------------------------------

def check_credentials(platform: str, values: Mapping[str, str]) -> dict[str, str]:
    """The credentials a platform needs, stripped; a ConfigError naming what is missing or malformed."""
    unknown = sorted(set(values) - set(CREDENTIAL_FIELDS))
    if unknown:
        raise ConfigError("unknown_credential", f"未知的凭据字段：{'、'.join(unknown)}")
    clean = {k: str(v).strip() for k, v in values.items() if v is not None and str(v).strip()}
    missing = [FIELD_NAMES_ZH[f] for f in REQUIRED[platform] if not clean.get(f)]
    if missing:
        raise ConfigError("credentials_missing", f"缺少凭据：{'、'.join(missing)}")
    if platform == "kuaishou_shop":
        _check_key(clean["message_key"], (16, 24, 32), "消息私钥应为 base64 编码的 16、24 或 32 字节密钥", pad="")
        if clean.get("sign_method", "MD5") not in ("MD5", "HMAC_SHA256"):
            raise ConfigError("invalid_sign_method", "快手签名方式只能是 MD5 或 HMAC_SHA256")
    if platform == "wechat_shop":
        _check_key(clean["encoding_aes_key"], (32,), "EncodingAESKey 应为 43 个字符", pad="=")
    if platform == "douyin_shop" and clean.get("sign_method", "hmac-sha256") not in ("md5", "hmac-sha256"):
        raise ConfigError("invalid_sign_method", "抖店签名方式只能是 md5 或 hmac-sha256")
    return clean


def _check_key(value: str, lengths: tuple[int, ...], message: str, *, pad: str) -> None:
    try:
        key = base64.b64decode(value + pad, validate=not pad)
    except (binascii.Error, ValueError):
        raise ConfigError("invalid_key", message) from None
    if len(key) not in lengths:
        raise ConfigError("invalid_key", message)


def seal_credentials(secrets: SecretBox, values: Mapping[str, str]) -> str:
    return secrets.seal(json.dumps(dict(values), ensure_ascii=False, sort_keys=True))


def open_credentials(secrets: SecretBox, info: ConnectionInfo) -> Credentials:
    values = json.loads(secrets.open(info.sealed_credentials))
    values["shop_id"] = info.shop_id  # 抖店 token.create and 有赞's silent grant name the shop
    return Credentials(**{k: v for k, v in values.items() if k in CREDENTIAL_FIELDS})


def public_credentials(credentials: Credentials) -> dict[str, str]:
    return {k: v for k, v in asdict(credentials).items() if k in PUBLIC_FIELDS and v}


def default_shop_id(platform: str, credentials: Mapping[str, str]) -> str:
    """微信小店's shop is its AppID; the others name theirs (抖店 shop_id, 快手 seller id, 有赞 kdt_id)."""
    return credentials.get("app_id", "") if platform == "wechat_shop" else ""


# -- the running view -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Connection:
    """One connection, credentials opened, as the endpoint and the worker use it."""

    info: ConnectionInfo
    credentials: Credentials
    connector: ConnectorModule

    @property
    def id(self) -> int:
        return self.info.id

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def event_platform(self) -> str:
        return self.connector.platform

    def context(self, campaign: str) -> MappingContext:
        return MappingContext(campaign=campaign, county=self.info.county, shop_id=self.info.shop_id)


def open_connection(secrets: SecretBox, info: ConnectionInfo) -> Connection:
    return Connection(info=info, credentials=open_credentials(secrets, info), connector=get_connector(info.platform))


UNKNOWN_CACHED = 1024  # names cached as "no such connection" per process, at most


class ConnectionDirectory:
    """Connections by name and id, opened once and cached briefly: a change (new credentials,
    disabling) takes effect within `ttl_s` in every process."""

    def __init__(self, sessions: sessionmaker[Session], secrets: SecretBox, *, ttl_s: float = 2.0,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self.sessions, self.secrets, self.ttl_s, self.clock = sessions, secrets, ttl_s, clock
        self._by_name: dict[str, tuple[float, Connection | None]] = {}
        self._unknown: dict[str, None] = {}  # names cached as unknown, oldest first
        self._by_id: dict[int, Connection] = {}
        self._campaigns: tuple[float, dict[str, CampaignDays]] | None = None
        self._lock = threading.Lock()

    def get(self, name: str) -> Connection | None:
        now = self.clock.monotonic()
        with self._lock:
            hit = self._by_name.get(name)
        if hit and now - hit[0] < self.ttl_s:
            return hit[1]
        info = store.get_connection(self.sessions, name)
        connection = None
        if info is not None:
            cached = self._by_id.get(info.id)
            connection = cached if cached is not None and cached.info == info else open_connection(self.secrets, info)
        with self._lock:
            self._by_name[name] = (now, connection)
            if connection is not None:
                self._by_id[connection.id] = connection
            else:
                self._unknown[name] = None
                while len(self._unknown) > UNKNOWN_CACHED:  # made-up names: a capped negative cache
                    oldest = next(iter(self._unknown))
                    del self._unknown[oldest]
                    if oldest in self._by_name and self._by_name[oldest][1] is None:
                        del self._by_name[oldest]
        return connection

    def sizes(self) -> tuple[int, int]:
        """(names cached, of which unknown)."""
        with self._lock:
            return len(self._by_name), sum(1 for _, c in self._by_name.values() if c is None)

    def active(self, name: str) -> Connection | None:
        connection = self.get(name)
        return connection if connection is not None and connection.info.active else None

    def by_id(self, connection_id: int) -> Connection | None:
        with self._lock:
            known = self._by_id.get(connection_id)
        if known is not None:
            return self.get(known.name)
        for info in store.list_connections(self.sessions):
            if info.id == connection_id:
                return self.get(info.name)
        return None

    def invalidate(self, name: str) -> None:
        with self._lock:
            self._by_name.pop(name, None)

    def campaign_days(self, slugs: tuple[str, ...]) -> list[CampaignDays]:
        """The days of these campaigns (registered ones), cached like the connections."""
        now = self.clock.monotonic()
        with self._lock:
            cached = self._campaigns
        if cached is None or now - cached[0] >= self.ttl_s:
            days = {c.slug: CampaignDays(c.slug, c.first_day, c.last_day) for c in registry.all_campaigns(self.sessions)}
            with self._lock:
                self._campaigns = cached = (now, days)
        return [cached[1][s] for s in slugs if s in cached[1]]


# -- tokens shared between processes ------------------------------------------------------------------

class SharedTokens:
    """The `TokenBroker` of one connection: its platform token lives in the config store (sealed),
    every process and thread starts from it, and only the holder of the lease asks the platform for
    a new one; the others wait for it and use what it stored."""

    LEASE_S = 30.0
    MAX_WAIT_S = 25.0

    def __init__(self, sessions: sessionmaker[Session], secrets: SecretBox, connection_id: int, *,
                 clock: Clock = SYSTEM_CLOCK, wait: Callable[[float], None] = time.sleep,
                 owner: str | None = None) -> None:
        self.sessions, self.secrets, self.connection_id, self.clock, self.wait = (
            sessions, secrets, connection_id, clock, wait)
        self.owner = owner or f"{os.getpid()}:{threading.get_ident()}:{id(self):x}"

    def stored(self) -> AccessToken | None:
        row = store.load_token(self.sessions, self.connection_id)
        if row is None:
            return None
        return AccessToken(value=self.secrets.open(row.access_token), expires_at=row.expires_at,
                           refresh_token=self.secrets.open(row.refresh_token) if row.refresh_token else "")

    def save(self, token: AccessToken) -> None:
        store.save_token(self.sessions, self.connection_id, access_token=self.secrets.seal(token.value),
                         refresh_token=self.secrets.seal(token.refresh_token) if token.refresh_token else "",
                         expires_at=token.expires_at, now=self.clock.time())

    def _usable(self, token: AccessToken | None, stale: AccessToken | None) -> bool:
        return (token is not None and token.is_fresh(self.clock.time())
                and (stale is None or token.value != stale.value))

    def fetch(self, stale: AccessToken | None,
              fetch_from_platform: Callable[[AccessToken | None], AccessToken]) -> AccessToken:
        deadline = self.clock.monotonic() + self.MAX_WAIT_S
        while True:
            current = self.stored()
            if self._usable(current, stale):
                return current  # type: ignore[return-value]
            if store.try_token_lease(self.sessions, self.connection_id, self.owner, self.clock.time(), self.LEASE_S):
                try:
                    current = self.stored()  # someone may have finished just before we took the lease
                    if self._usable(current, stale):
                        return current  # type: ignore[return-value]
                    token = fetch_from_platform(current or stale)
                    self.save(token)
                    return token
                finally:
                    store.release_token_lease(self.sessions, self.connection_id, self.owner)
            if self.clock.monotonic() > deadline:
                raise PlatformUnavailable("等待其他进程刷新平台令牌超时", platform="")
            self.wait(0.05)


def build_client(connection: Connection, sessions: sessionmaker[Session], secrets: SecretBox, *,
                 clock: Clock = SYSTEM_CLOCK, session: Any = None) -> Any:
    """An API client for the connection, starting from the shared stored token."""
    tokens = SharedTokens(sessions, secrets, connection.id, clock=clock)
    return connection.connector.client(connection.credentials, base_url=connection.info.api_base_url or None,
                                       session=session, token=tokens.stored(), token_broker=tokens)


# -- operations (CLI, console) ------------------------------------------------------------------------

def create(sessions: sessionmaker[Session], secrets: SecretBox, *, platform: str, name: str, shop_id: str,
           enterprise_id: str, campaigns: list[str], county: str, credentials: Mapping[str, str],
           api_base_url: str = "", rate_limit_per_second: float = 10.0) -> ConnectionInfo:
    if platform not in REQUIRED:
        raise ConfigError("invalid_platform", f"平台只能是 {'、'.join(REQUIRED)}")
    clean = check_credentials(platform, credentials)
    shop_id = (shop_id or "").strip() or default_shop_id(platform, clean)
    if platform == "youzan" and not clean.get("refresh_token") and not shop_id:
        raise ConfigError("credentials_missing", "有赞自用型应用需要店铺编号（kdt_id），工具型应用需要 refresh_token")
    return store.create_connection(
        sessions, name=name, platform=platform, event_platform=get_connector(platform).platform, shop_id=shop_id,
        enterprise_id=(enterprise_id or "").strip(), campaigns=campaigns, county=(county or "").strip(),
        sealed_credentials=seal_credentials(secrets, clean), api_base_url=(api_base_url or "").strip(),
        rate_limit_per_second=rate_limit_per_second)


def replace_credentials(sessions: sessionmaker[Session], secrets: SecretBox, name: str,
                        credentials: Mapping[str, str]) -> ConnectionInfo:
    """New credentials (fields left empty keep their stored value); the stored token is dropped."""
    info = store.get_connection(sessions, name)
    if info is None:
        raise ConfigError("connection_not_found", f"平台连接 {name} 不存在", status=404)
    current = json.loads(secrets.open(info.sealed_credentials))
    merged = {**current, **{k: v for k, v in credentials.items() if v is not None and str(v).strip()}}
    return store.update_connection(sessions, name, sealed_credentials=seal_credentials(
        secrets, check_credentials(info.platform, merged)))


@dataclass(frozen=True)
class ConnectionView:
    """A connection and its status, as the console and `liveboard connectors list` show it."""

    info: ConnectionInfo
    status: ConnectionStatus
    public: dict[str, str]
    now: float

    @property
    def lag_seconds(self) -> float:
        return self.status.lag_seconds(self.now)

    def as_dict(self, base_url: str = "") -> dict[str, Any]:
        s = self.status
        return {**self.info.as_dict(), "push_url": push_url(base_url, self.info.name), "credentials": self.public,
                "last_push_at": s.last_push_at, "last_heartbeat_at": s.last_heartbeat_at,
                "last_pull_at": s.last_pull_at, "pull_cursor": s.pull_cursor, "pending": s.pending,
                "dead": s.dead, "done": s.done, "last_error": s.last_error, "last_error_at": s.last_error_at,
                "last_pull_error": s.last_pull_error, "lag_seconds": round(self.lag_seconds, 1)}


def views(sessions: sessionmaker[Session], secrets: SecretBox, *, clock: Clock = SYSTEM_CLOCK) -> list[ConnectionView]:
    infos = store.list_connections(sessions)
    statuses = store.status_of(sessions, [i.id for i in infos])
    now = clock.time()
    result = []
    for info in infos:
        try:
            public = public_credentials(open_credentials(secrets, info))
        except ValueError:  # SecretUnreadable: the deployment's keys changed; say so, show the rest
            public = {"error": "凭据无法解密（LIVEBOARD_SECRETS_KEY 与保存时不一致）"}
        result.append(ConnectionView(info, statuses[info.id], public, now))
    return result
