"""The shared WeChat access token: one row per appid, one refresher at a time.

Every process (API workers, outbox workers, scheduler) reads the token from
``wechat_access_tokens``. Refreshing uses ``POST /cgi-bin/stable_token`` and is
guarded by a *lease* on that row, a compare-and-set that works the same on SQLite
and PostgreSQL::

    UPDATE wechat_access_tokens SET lease_owner = :me, lease_until = :now + lease
     WHERE appid = :appid AND (lease_until IS NULL OR lease_until < :now)

The process whose UPDATE matched one row refreshes; everyone else keeps serving the
old token while it is still valid, or polls the row until the new token appears
(or the lease lapses, e.g. the refresher died, and they try to take it).

Timestamps come from the application clock (naive UTC); leases are tens of seconds,
far above normal clock skew between hosts.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Protocol

import requests
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from configstore.db import affected, transaction
from configstore.wechat_models import WeChatAccessToken, utcnow
from wechat.errors import TokenUnavailable, WeChatError, WeChatTransportError, error_for

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.weixin.qq.com"


class TokenProvider(Protocol):
    """What the adapter needs: a current token, and a way to replace a rejected one."""

    def get_token(self) -> str: ...

    def force_refresh(self, stale_token: str | None = None) -> str: ...


@dataclass(frozen=True)
class _Row:
    token: str | None
    expires_at: datetime | None
    refreshed_at: datetime | None
    lease_until: datetime | None


class SharedTokenProvider:
    """Access token shared through the config-store DB; see the module docstring.

    :param refresh_margin: refresh this long before ``expires_at`` (default 5 min).
    :param lease_seconds: how long a refresher owns the lease (must exceed ``http_timeout``).
    :param reuse_window: ``force_refresh()`` reuses a token another process refreshed
        this recently instead of refreshing again (no stampede after a 40001 burst).
    :param min_refresh_interval: inside the margin, don't ask WeChat again sooner than
        this (stable_token in normal mode may hand back the same, soon-expiring token).
    :param wait_timeout: how long a loser waits for the winner's token.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        appid: str,
        secret: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        refresh_margin: float = 300.0,
        lease_seconds: float = 30.0,
        reuse_window: float = 10.0,
        min_refresh_interval: float = 60.0,
        wait_timeout: float = 40.0,
        poll_interval: float = 0.05,
        http_timeout: float = 10.0,
        clock: Callable[[], datetime] = utcnow,
        http: requests.Session | None = None,
    ) -> None:
        if lease_seconds <= http_timeout:
            raise ValueError("lease_seconds must exceed http_timeout")
        self._factory = session_factory
        self.appid = appid
        self._secret = secret
        self.base_url = base_url.rstrip("/")
        self._margin = timedelta(seconds=refresh_margin)
        self._lease = timedelta(seconds=lease_seconds)
        self._reuse_window = timedelta(seconds=reuse_window)
        self._min_refresh_interval = timedelta(seconds=min_refresh_interval)
        self._wait_timeout = wait_timeout
        self._poll = poll_interval
        self._http_timeout = http_timeout
        self._clock = clock
        self._http = http or requests.Session()
        self._lock = threading.Lock()  # one refresher per process, too
        self._cached: _Row | None = None
        self._row_checked = False

    def __repr__(self) -> str:  # never the secret or the token
        return f"SharedTokenProvider(appid={self.appid!r}, base_url={self.base_url!r})"

    # -- public API ---------------------------------------------------------------

    def get_token(self) -> str:
        """A token valid for at least ``refresh_margin`` (or, while another process is
        refreshing, the old still-valid one)."""
        with self._lock:
            now = self._clock()
            c = self._cached
            if c and c.token and c.expires_at and c.expires_at - self._margin > now:
                return c.token
            return self._obtain(stale=None)

    def force_refresh(self, stale_token: str | None = None) -> str:
        """Replace a token WeChat rejected (40001/42001).

        If the shared row already holds a different valid token, or one refreshed
        within ``reuse_window``, that token is returned without calling WeChat.
        """
        with self._lock:
            self._cached = None
            if stale_token is None:
                row = self._read()
                stale_token = row.token
                now = self._clock()
                if row.token and row.refreshed_at and now - row.refreshed_at <= self._reuse_window:
                    self._cached = row
                    return row.token
            return self._obtain(stale=stale_token)

    def invalidate_cache(self) -> None:
        with self._lock:
            self._cached = None

    # -- internals ---------------------------------------------------------------

    def _usable(self, row: _Row, now: datetime, stale: str | None) -> bool:
        if not row.token or not row.expires_at or row.token == stale:
            return False
        if row.expires_at - self._margin > now:
            return True
        # inside the margin: fine if someone refreshed very recently (WeChat gave
        # back a short-lived token; asking again would just spin)
        return (
            row.expires_at > now
            and row.refreshed_at is not None
            and now - row.refreshed_at < self._min_refresh_interval
        )

    def _obtain(self, stale: str | None) -> str:
        self._ensure_row()
        deadline = time.monotonic() + self._wait_timeout
        while True:
            now = self._clock()
            row = self._read()
            if self._usable(row, now, stale):
                self._cached = row
                return row.token  # type: ignore[return-value]
            owner = uuid.uuid4().hex
            if self._try_lease(owner, now):
                try:
                    row = self._read()  # double-check: a refresh may have landed meanwhile
                    if self._usable(row, self._clock(), stale):
                        self._release(owner)
                        self._cached = row
                        return row.token  # type: ignore[return-value]
                    return self._refresh_holding_lease(owner, stale)
                except BaseException:
                    self._release(owner)
                    raise
            # someone else is refreshing
            if stale is None and row.token and row.expires_at and row.expires_at > now:
                return row.token  # still valid: serve it, don't wait
            if time.monotonic() > deadline:
                raise TokenUnavailable("等待其他进程刷新 access_token 超时")
            time.sleep(self._poll)

    def _refresh_holding_lease(self, owner: str, stale: str | None) -> str:
        token, expires_in = self._call_stable_token(force=False)
        if stale is not None and token == stale:
            # WeChat still hands out the token it just rejected: force a new one
            log.warning("stable_token returned the rejected token; forcing refresh appid=%s", self.appid)
            token, expires_in = self._call_stable_token(force=True)
        now = self._clock()
        expires_at = now + timedelta(seconds=expires_in)
        with transaction(self._factory) as s:
            res = s.execute(
                update(WeChatAccessToken)
                .where(WeChatAccessToken.appid == self.appid, WeChatAccessToken.lease_owner == owner)
                .values(token=token, expires_at=expires_at, refreshed_at=now,
                        lease_owner=None, lease_until=None)
            )
        if affected(res) != 1:
            log.warning("access token lease lost during refresh appid=%s; not storing", self.appid)
        else:
            log.info("access token refreshed appid=%s expires_in=%s", self.appid, expires_in)
        self._cached = _Row(token, expires_at, now, None)
        return token

    def _call_stable_token(self, *, force: bool) -> tuple[str, int]:
        body: dict[str, Any] = {
            "grant_type": "client_credential",
            "appid": self.appid,
            "secret": self._secret,
            "force_refresh": force,
        }
        try:
            resp = self._http.post(
                f"{self.base_url}/cgi-bin/stable_token", json=body, timeout=self._http_timeout
            )
            resp.raise_for_status()
            result = resp.json()
        except requests.Timeout:
            raise WeChatTransportError("stable_token 请求超时", ambiguous=True) from None
        except requests.RequestException as exc:
            raise WeChatTransportError(f"stable_token 请求失败: {type(exc).__name__}", ambiguous=False) from None
        except ValueError:
            raise WeChatTransportError("stable_token 返回了无法解析的内容", ambiguous=False) from None
        errcode = int(result.get("errcode", 0) or 0)
        if errcode:
            raise error_for(errcode, result.get("errmsg"))
        token = result.get("access_token")
        if not token:
            raise WeChatError(-3, "stable_token 未返回 access_token")
        return token, int(result.get("expires_in", 7200))

    def _read(self) -> _Row:
        with self._factory() as s:
            r = s.execute(
                select(WeChatAccessToken.token, WeChatAccessToken.expires_at,
                       WeChatAccessToken.refreshed_at, WeChatAccessToken.lease_until)
                .where(WeChatAccessToken.appid == self.appid)
            ).first()
        if r is None:
            return _Row(None, None, None, None)
        return _Row(*r)

    def _ensure_row(self) -> None:
        if self._row_checked:
            return
        with self._factory() as s:
            exists = s.get(WeChatAccessToken, self.appid) is not None
        if not exists:
            try:
                with transaction(self._factory) as s:
                    s.add(WeChatAccessToken(appid=self.appid))
            except IntegrityError:
                pass  # another process inserted it first
        self._row_checked = True

    def _try_lease(self, owner: str, now: datetime) -> bool:
        with transaction(self._factory) as s:
            res = s.execute(
                update(WeChatAccessToken)
                .where(
                    WeChatAccessToken.appid == self.appid,
                    or_(WeChatAccessToken.lease_until.is_(None), WeChatAccessToken.lease_until < now),
                )
                .values(lease_owner=owner, lease_until=now + self._lease)
            )
        return affected(res) == 1

    def _release(self, owner: str) -> None:
        try:
            with transaction(self._factory) as s:
                s.execute(
                    update(WeChatAccessToken)
                    .where(WeChatAccessToken.appid == self.appid, WeChatAccessToken.lease_owner == owner)
                    .values(lease_owner=None, lease_until=None)
                )
        except Exception:  # pragma: no cover - the lease simply lapses
            log.exception("could not release access token lease appid=%s", self.appid)
