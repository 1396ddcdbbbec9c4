"""抖店 (Douyin shop) connector: push verification, open API client, event mapping."""
from connectors.base import ConnectorModule
from connectors.douyin_shop.client import DouyinShopClient
from connectors.douyin_shop.mapping import paid_events, refund_events, refund_ids
from connectors.douyin_shop.push import verify_push

CONNECTOR = ConnectorModule(name="douyin_shop", platform="douyin", verify_push=verify_push,
                            client=DouyinShopClient, paid_events=paid_events,
                            refund_events=refund_events, refund_ids=refund_ids)

__all__ = ["CONNECTOR", "DouyinShopClient", "paid_events", "refund_events", "refund_ids", "verify_push"]
