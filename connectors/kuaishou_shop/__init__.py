"""快手小店 (Kwaishop) connector: push decryption, open API client, event mapping."""
from connectors.base import ConnectorModule
from connectors.kuaishou_shop.client import KuaishouShopClient
from connectors.kuaishou_shop.mapping import paid_events, refund_events, refund_ids
from connectors.kuaishou_shop.push import verify_push

CONNECTOR = ConnectorModule(name="kuaishou_shop", platform="kuaishou", verify_push=verify_push,
                            client=KuaishouShopClient, paid_events=paid_events,
                            refund_events=refund_events, refund_ids=refund_ids)

__all__ = ["CONNECTOR", "KuaishouShopClient", "paid_events", "refund_events", "refund_ids", "verify_push"]
