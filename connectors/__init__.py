"""Native platform connectors: 抖店, 快手小店, 微信小店 and 有赞.

The surface a caller uses::

    from connectors import get_connector, Credentials, MappingContext

    conn = get_connector("douyin_shop")          # or kuaishou_shop, wechat_shop, youzan
    result = conn.verify_push(creds, method, headers, query, body)   # PushResult / PushRejected
    client = conn.client(creds, base_url=..., token=..., on_token=...)
    detail = client.order_detail(order_id)
    events = conn.paid_events(detail, MappingContext(campaign=..., county=..., shop_id=...))

See ``connectors.base`` for the types and docs/connectors.md for each platform's sources.
"""
from connectors import douyin_shop, kuaishou_shop, wechat_shop, youzan  # noqa: E402  (after base)
from connectors._events import UNATTRIBUTED_HOST
from connectors.base import (
    KINDS,
    ORDER_PAID,
    OTHER,
    REFUND,
    TEST,
    AccessToken,
    Connector,
    ConnectorError,
    ConnectorModule,
    Credentials,
    MappingContext,
    MappingError,
    Page,
    PlatformError,
    PlatformRateLimited,
    PlatformRefused,
    PlatformUnavailable,
    PushMessage,
    PushRejected,
    PushReply,
    PushResult,
    TokenExpired,
    Window,
)

CONNECTORS: dict[str, ConnectorModule] = {
    module.CONNECTOR.name: module.CONNECTOR for module in (douyin_shop, kuaishou_shop, wechat_shop, youzan)
}


def get_connector(name: str) -> ConnectorModule:
    try:
        return CONNECTORS[name]
    except KeyError:
        raise KeyError(f"未知的平台连接器：{name}（可选：{', '.join(sorted(CONNECTORS))}）") from None


__all__ = [
    "CONNECTORS", "get_connector", "UNATTRIBUTED_HOST", "AccessToken", "Connector", "ConnectorError",
    "ConnectorModule", "Credentials", "MappingContext", "MappingError", "Page", "PlatformError",
    "PlatformRateLimited", "PlatformRefused", "PlatformUnavailable", "PushMessage", "PushRejected",
    "PushReply", "PushResult", "TokenExpired", "Window", "KINDS", "ORDER_PAID", "REFUND", "TEST", "OTHER",
]
