"""WeChat mini-program integration: login, shared access token, subscribe-message outbox.

``wechat.adapter`` is the only module that imports wechatpy; import it explicitly::

    from wechat.adapter import WeChatClient
    from wechat.tokens import SharedTokenProvider
    from wechat.outbox import enqueue_push, deliver_pending
"""
from domain.redact import mask_openid
from wechat.errors import (
    InvalidCode,
    NoSubscriptionCredit,
    RateLimited,
    TokenExpired,
    TokenUnavailable,
    WeChatError,
    WeChatTransportError,
)

__all__ = [
    "InvalidCode",
    "NoSubscriptionCredit",
    "RateLimited",
    "TokenExpired",
    "TokenUnavailable",
    "WeChatError",
    "WeChatTransportError",
    "mask_openid",
]
