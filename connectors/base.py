"""Shared types of the native platform connectors.

Every platform module (``douyin_shop``, ``kuaishou_shop``, ``wechat_shop``, ``youzan``) works on
these types only, so a caller (the push endpoint, the pull worker) never needs to know a
platform's wire format:

* ``Credentials``: the secrets of one platform connection (a plain dataclass; only the fields
  the platform uses are filled in).
* ``verify_push(...) -> PushResult``: authenticated ``PushMessage`` objects plus the exact
  reply the platform expects; ``PushRejected`` when the request is not authentic.
* API clients raise the ``PlatformError`` family, classified by what the caller should do:
  wait (``PlatformRateLimited``), retry later (``PlatformUnavailable``), re-authorise
  (``TokenExpired`` after the one automatic refresh failed) or give up (``PlatformRefused``).
* ``paid_events`` / ``refund_events`` map platform details to v1 sales events, using a
  ``MappingContext`` for what the platform does not know (campaign, county, shop).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Callable, Mapping, Protocol

# PushMessage.kind values
ORDER_PAID = "order_paid"
REFUND = "refund"
TEST = "test"
OTHER = "other"
KINDS = (ORDER_PAID, REFUND, TEST, OTHER)

_SECRET_FIELDS = {"app_secret", "sign_secret", "message_key", "token", "encoding_aes_key",
                  "client_secret", "refresh_token"}


@dataclass(frozen=True, repr=False)
class Credentials:
    """The secrets of one platform connection. Fill in what the platform uses:

    * 抖店: ``app_key``, ``app_secret``, ``shop_id`` (self-use app token), ``sign_method``
      (``"md5"`` or ``"hmac-sha256"``, default ``"hmac-sha256"``).
    * 快手小店: ``app_key``, ``app_secret``, ``sign_secret``, ``message_key`` (消息私钥, base64),
      ``refresh_token`` (from the OAuth grant), ``sign_method`` (``"MD5"`` or ``"HMAC_SHA256"``).
    * 微信小店: ``app_id``, ``app_secret``, ``token`` and ``encoding_aes_key`` (消息推送).
    * 有赞: ``client_id``, ``client_secret``, ``shop_id`` (kdt_id, the ``grant_id`` of a
      self-use app) or ``refresh_token`` (tool app).
    """

    app_key: str = ""
    app_secret: str = ""
    sign_secret: str = ""
    message_key: str = ""
    token: str = ""
    encoding_aes_key: str = ""
    app_id: str = ""
    client_id: str = ""
    client_secret: str = ""
    shop_id: str = ""
    refresh_token: str = ""
    sign_method: str = ""

    def __repr__(self) -> str:  # never print a secret into a log
        shown = ", ".join(
            f"{f.name}={'***' if f.name in _SECRET_FIELDS else getattr(self, f.name)!r}"
            for f in fields(self) if getattr(self, f.name)
        )
        return f"Credentials({shown})"


@dataclass(frozen=True)
class PushMessage:
    """One authenticated message of a platform push, in platform-neutral terms.

    ``message_id`` is stable across the platform's retries of the same message (use it to
    dedupe); ``raw`` is the decrypted/parsed plaintext as the platform sent it.
    """

    platform: str
    message_id: str
    kind: str
    event: str
    raw: Mapping[str, Any]
    order_id: str | None = None
    aftersale_id: str | None = None
    shop_id: str | None = None
    sub_order_ids: tuple[str, ...] = ()
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class PushReply:
    """The exact HTTP answer the platform expects."""

    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class PushResult:
    messages: list[PushMessage]
    reply: PushReply


@dataclass(frozen=True)
class MappingContext:
    """What a platform detail cannot say: the connection's campaign, county and shop.

    ``shop_id`` is the platform shop / account id of the connection (抖店 shop_id, 快手 seller
    id, 微信小店 appid, 有赞 kdt_id). It becomes ``enterprise`` and part of every event id, so
    push and pull paths must pass the same value.
    """

    campaign: str
    county: str
    shop_id: str
    default_category: str = "未分类"
    buyer_salt: str = ""


@dataclass
class AccessToken:
    value: str
    expires_at: float  # epoch seconds
    refresh_token: str = ""

    def is_fresh(self, now: float | None = None, margin: float = 300.0) -> bool:
        return bool(self.value) and (now if now is not None else time.time()) < self.expires_at - margin


@dataclass(frozen=True)
class Page:
    """One page of a listing: platform ids, and the cursor of the next page (None at the end).

    ``updated`` maps an id to the platform's update time (epoch seconds) when the listing says it
    (微信小店's listing names ids only): a caller can skip what it already read after that time."""

    ids: list[str]
    next_cursor: str | None = None
    updated: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Window:
    """A closed time window [start, end] for a pull backstop listing (aware datetimes)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("时间窗口必须带时区")
        if self.end < self.start:
            raise ValueError("时间窗口的结束早于开始")


# -- errors ---------------------------------------------------------------------------------


class ConnectorError(Exception):
    """Base of every connector error; ``str(error)`` is a message for people (Chinese)."""


class PushRejected(ConnectorError):
    """A push that is not authentic (bad signature, undecryptable, another app's message).

    ``status`` is the HTTP status to answer: any non-success answer makes the platform retry
    (and lets an operator see the misconfiguration), so we never reply with the success body.
    """

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


class MappingError(ConnectorError, ValueError):
    """A platform detail that cannot be mapped to events (missing ids, another shop's order)."""


class PlatformError(ConnectorError):
    """An API call that did not succeed. ``code`` is the platform's own error code."""

    def __init__(self, message: str, *, platform: str = "", code: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.platform = platform
        self.code = code
        self.detail = detail


class PlatformRateLimited(PlatformError):
    """Rate limited: retry after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float = 60.0, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class PlatformUnavailable(PlatformError):
    """5xx, timeout, connection failure or an unreadable answer: retry later."""


class TokenExpired(PlatformError):
    """The access token was rejected (after the client's one automatic refresh)."""


class PlatformRefused(PlatformError):
    """A permanent refusal (order not found, no permission, bad parameters): do not retry."""


# -- the connector surface ------------------------------------------------------------------


class PlatformClient(Protocol):
    def order_detail(self, order_id: str) -> dict[str, Any]: ...

    def refund_detail(self, refund_id: str, *, order_id: str | None = None) -> dict[str, Any]: ...

    def list_orders(self, window: Window, cursor: str | None = None) -> Page: ...


class Connector(Protocol):
    """What each platform module exposes (see ``connectors.get_connector``)."""

    name: str       # "douyin_shop" | "kuaishou_shop" | "wechat_shop" | "youzan"
    platform: str   # the v1 event platform: "douyin" | "kuaishou" | "wechat_channels" | "youzan"

    def verify_push(self, credentials: Credentials, method: str, headers: Mapping[str, str],
                    query: Mapping[str, str], body: bytes) -> PushResult: ...

    def client(self, credentials: Credentials, *, base_url: str | None = None,
               session: Any = None, timeout: float | tuple[float, float] = (3.05, 10.0),
               token: AccessToken | None = None,
               on_token: Callable[[AccessToken], None] | None = None) -> PlatformClient: ...

    def paid_events(self, detail: Mapping[str, Any], context: MappingContext) -> list[dict[str, Any]]: ...

    def refund_events(self, detail: Mapping[str, Any], context: MappingContext,
                      order_detail: Mapping[str, Any] | None = None) -> list[dict[str, Any]]: ...

    def refund_ids(self, order_detail: Mapping[str, Any]) -> list[str]: ...


@dataclass(frozen=True)
class ConnectorModule:
    """A ``Connector`` assembled from a platform's functions (what ``get_connector`` returns)."""

    name: str
    platform: str
    verify_push: Callable[..., PushResult]
    client: Callable[..., PlatformClient]
    paid_events: Callable[..., list[dict[str, Any]]]
    refund_events: Callable[..., list[dict[str, Any]]]
    refund_ids: Callable[[Mapping[str, Any]], list[str]]
