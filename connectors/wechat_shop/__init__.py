"""微信小店 / 视频号小店 connector: push handshake and decryption, API client, event mapping."""
from connectors.base import ConnectorModule
from connectors.wechat_shop.client import WechatShopClient
from connectors.wechat_shop.mapping import paid_events, refund_events, refund_ids
from connectors.wechat_shop.push import verify_push

CONNECTOR = ConnectorModule(name="wechat_shop", platform="wechat_channels", verify_push=verify_push,
                            client=WechatShopClient, paid_events=paid_events,
                            refund_events=refund_events, refund_ids=refund_ids)

__all__ = ["CONNECTOR", "WechatShopClient", "paid_events", "refund_events", "refund_ids", "verify_push"]
