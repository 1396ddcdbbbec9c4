"""Webhook sources: create (secret shown once, stored sealed), rotate (two active at most), revoke, look up."""
from __future__ import annotations

import base64
import re
import secrets
import threading
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from configstore.db import as_utc, transaction
from configstore.errors import ConfigError
from configstore.models import Campaign, Enterprise, EnterpriseAccount, WebhookSecret, WebhookSource, utcnow
from configstore.secretbox import SecretBox
from domain.attribution import Attribution
from domain.boards import PLATFORMS
from domain.clock import SYSTEM_CLOCK, Clock
from domain.scope import ANY_SCOPE, SourceScope
from domain.ttl_cache import TtlCache

MAX_ACTIVE_SECRETS = 2
SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")  # whole name (fullmatch)


def valid_name(name: object) -> bool:
    """A name a source could have. Checked before any lookup, cache or rate-limit key uses it."""
    return isinstance(name, str) and len(name) <= 64 and SOURCE_NAME.fullmatch(name) is not None


class SourceError(ConfigError):
    """A source operation that cannot be done; `code` is for machines, the message for people."""


def new_secret() -> str:
    """A Standard Webhooks secret: whsec_ + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _scope_lists(platforms, campaigns, enterprises) -> dict[str, list[str] | None]:
    """Checked scope lists: None means any; an empty list is refused (it would allow nothing)."""
    checked: dict[str, list[str] | None] = {}
    for field_name, values, known, label in (("platforms", platforms, PLATFORMS, "平台"),
                                             ("campaigns", campaigns, None, "活动"),
                                             ("enterprises", enterprises, None, "企业")):
        if values is None:
            checked[field_name] = None
            continue
        values = sorted({str(v).strip() for v in values if str(v).strip()})
        if not values:
            raise SourceError("empty_scope", f"数据来源的{label}范围不能为空（不限请留空该项）")
        if known is not None and (unknown := [v for v in values if v not in known]):
            raise SourceError("unknown_platform", f"未知平台：{'、'.join(unknown)}（可选：{'、'.join(known)}）")
        checked[field_name] = values
    return checked


def _require_known(session: Session, scope: dict[str, list[str] | None]) -> None:
    """A scope may name only campaigns and enterprises that exist."""
    for field_name, model, label in (("campaigns", Campaign, "活动"), ("enterprises", Enterprise, "企业")):
        wanted = scope[field_name] or []
        known = set(session.scalars(select(model.slug if model is Campaign else model.id).where(
            (model.slug if model is Campaign else model.id).in_(wanted)))) if wanted else set()
        if missing := [v for v in wanted if v not in known]:
            raise SourceError(f"unknown_{field_name[:-1]}", f"{label}不存在：{'、'.join(missing)}")


def create_source(factory: sessionmaker[Session], name: str, description: str = "", *, box: SecretBox,
                  platforms=None, campaigns=None, enterprises=None) -> str:
    """Create a source and return its first secret (the only time it is shown; stored sealed). The
    scope lists say what it may report (None: any)."""
    if not valid_name(name):
        raise SourceError("invalid_name", "来源名称只能包含小写字母、数字、下划线和连字符，且以字母或数字开头")
    scope = _scope_lists(platforms, campaigns, enterprises)
    secret = new_secret()
    with transaction(factory) as session:
        if session.scalar(select(WebhookSource).where(WebhookSource.name == name)):
            raise SourceError("name_taken", f"来源 {name} 已存在", status=409)
        _require_known(session, scope)
        source = WebhookSource(name=name, description=description, **scope)
        source.secrets.append(WebhookSecret(secret=box.seal(secret)))
        session.add(source)
    return secret


def rotate_secret(factory: sessionmaker[Session], name: str, *, box: SecretBox) -> str:
    """Add a new secret; if two are active, the oldest is revoked so at most two stay valid."""
    secret = new_secret()
    with transaction(factory) as session:
        source = _get(session, name)
        if source.revoked_at is not None:
            raise SourceError("already_revoked", f"来源 {name} 已吊销，不能轮换密钥", status=409)
        active = [s for s in source.secrets if s.revoked_at is None]
        for old in active[: max(0, len(active) - (MAX_ACTIVE_SECRETS - 1))]:
            old.revoked_at = utcnow()
        source.secrets.append(WebhookSecret(secret=box.seal(secret)))
    return secret


def set_scope(factory: sessionmaker[Session], name: str, *, platforms=None, campaigns=None,
              enterprises=None) -> dict:
    """Change what a source may report (audited like every change); returns the source."""
    scope = _scope_lists(platforms, campaigns, enterprises)
    with transaction(factory) as session:
        source = _get(session, name)
        _require_known(session, scope)
        for field_name, values in scope.items():
            setattr(source, field_name, values)
    return next(s for s in list_sources(factory) if s["name"] == name)


def revoke_source(factory: sessionmaker[Session], name: str) -> None:
    with transaction(factory) as session:
        source = _get(session, name)
        if source.revoked_at is not None:
            raise SourceError("already_revoked", f"来源 {name} 已吊销", status=409)
        source.revoked_at = utcnow()


def list_sources(factory: sessionmaker[Session]) -> list[dict]:
    """Every source with its state; never a secret."""
    with factory() as session:
        rows = session.scalars(select(WebhookSource).order_by(WebhookSource.id)).all()
        return [{"name": s.name, "description": s.description, "created_at": _iso(s.created_at),
                 "revoked_at": _iso(s.revoked_at), "active": s.revoked_at is None,
                 "active_secrets": sum(1 for k in s.secrets if k.revoked_at is None),
                 "platforms": s.platforms, "campaigns": s.campaigns, "enterprises": s.enterprises} for s in rows]


def _iso(value) -> str | None:

    return as_utc(value).isoformat() if value is not None else None


def _get(session: Session, name: str) -> WebhookSource:
    source = session.scalar(select(WebhookSource).where(WebhookSource.name == name))
    if source is None:
        raise SourceError("unknown_source", f"来源 {name} 不存在", status=404)
    return source


@dataclass(frozen=True)
class ActiveSource:
    """A source's active secrets, opened (kept only in the bounded, short-lived SourceCache)."""

    name: str
    secrets: tuple[str, ...] = field(repr=False)
    keys: tuple[bytes, ...] = field(repr=False)  # the HMAC keys: each secret's base64 part, decoded
    scope: SourceScope = ANY_SCOPE

    @classmethod
    def of(cls, name: str, secrets_: tuple[str, ...], scope: SourceScope = ANY_SCOPE) -> "ActiveSource":
        return cls(name, secrets_, tuple(hmac_key(s) for s in secrets_), scope)


def hmac_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret (whsec_ + base64), as the reference library reads it."""
    return base64.b64decode(secret.removeprefix("whsec_") + "==")


def scope_of(session: Session, source: WebhookSource) -> SourceScope:
    """The source's scope, with its enterprises' platform accounts resolved."""
    accounts = {}
    if source.enterprises:
        accounts = {(row.platform, row.account_id): row.enterprise_id for row in session.scalars(
            select(EnterpriseAccount).where(EnterpriseAccount.enterprise_id.in_(source.enterprises)))}
    return SourceScope.resolved(source.platforms, source.campaigns, source.enterprises,
                                Attribution(ids=tuple(source.enterprises or ()), accounts=accounts))


class SourceScopes:
    """Scopes by source name for the sales writer (cached briefly, bounded; unknown sources: None)."""

    def __init__(self, factory: sessionmaker[Session], ttl_s: float = 5.0, clock: Clock = SYSTEM_CLOCK,
                 capacity: int = 1024):
        self.factory, self.ttl_s, self.clock = factory, ttl_s, clock
        self._cache: TtlCache[str, tuple[SourceScope | None]] = TtlCache(capacity)

    def __call__(self, name: str) -> SourceScope | None:
        now = self.clock.monotonic()
        hit = self._cache.get(name, now)
        if hit is not None:
            return hit[0]
        with self.factory() as session:
            source = session.scalar(select(WebhookSource).where(WebhookSource.name == name))
            scope = scope_of(session, source) if source is not None else None
        self._cache.put(name, (scope,), now + self.ttl_s)
        return scope


class SourceCache:
    """Active secrets per source, opened and cached briefly: a revocation takes effect within `ttl_s`.

    Bounded whatever is asked: a name that is not a valid source name is refused before any lookup
    and never cached; at most `capacity` sources (least recently used out) and `unknown_capacity`
    valid names that are not active sources (for `unknown_ttl_s`, so a flood of made-up names costs
    one query each at most, and no memory beyond the cap)."""

    def __init__(self, factory: sessionmaker[Session], box: SecretBox, *, ttl_s: float = 2.0,
                 clock: Clock = SYSTEM_CLOCK, capacity: int = 1024, unknown_ttl_s: float = 2.0,
                 unknown_capacity: int = 1024):
        self.factory = factory
        self.box = box
        self.clock = clock
        self.ttl_s = ttl_s
        self.unknown_ttl_s = unknown_ttl_s
        self._active: TtlCache[str, ActiveSource] = TtlCache(capacity)
        self._unknown: TtlCache[str, bool] = TtlCache(unknown_capacity)
        # While one thread reloads an expired source, the others answer from what it was a moment
        # ago instead of all querying at once (every request thread misses in the same instant).
        self._previous: TtlCache[str, ActiveSource] = TtlCache(capacity)
        self._loading: set[str] = set()
        self._loading_lock = threading.Lock()

    def invalidate(self, name: str) -> None:
        """Forget a source after a change made in this process (others see it within ttl_s)."""
        self._active.pop(name)
        self._unknown.pop(name)
        self._previous.pop(name)

    def sizes(self) -> tuple[int, int]:
        """(active sources cached, unknown names cached)."""
        return len(self._active), len(self._unknown)

    def get(self, name: str) -> ActiveSource | None:
        if not valid_name(name):
            return None
        now = self.clock.monotonic()
        active = self._active.get(name, now)
        if active is not None or self._unknown.get(name, now):
            return active
        with self._loading_lock:
            loading = name in self._loading
            self._loading.add(name)
        if loading:
            previous = self._previous.get(name, now)
            if previous is not None:
                return previous
        try:
            return self._load(name, now)
        finally:
            if not loading:
                with self._loading_lock:
                    self._loading.discard(name)

    def _load(self, name: str, now: float) -> ActiveSource | None:
        with self.factory() as session:
            source = session.scalar(select(WebhookSource).where(WebhookSource.name == name))
            stored = () if source is None or source.revoked_at is not None else \
                tuple(s.secret for s in source.secrets if s.revoked_at is None)
            scope = scope_of(session, source) if stored and source is not None else ANY_SCOPE
        if not stored:
            self._previous.pop(name)
            self._unknown.put(name, True, now + self.unknown_ttl_s)
            return None
        active = ActiveSource.of(name, tuple(self.box.open(value) for value in stored), scope)
        self._active.put(name, active, now + self.ttl_s)
        self._previous.put(name, active, now + 2 * self.ttl_s)
        return active
