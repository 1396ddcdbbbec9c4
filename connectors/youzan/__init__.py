"""有赞 (Youzan) connector: push verification, 有赞云 API client, event mapping."""
from connectors.base import ConnectorModule
from connectors.youzan.client import YouzanClient
from connectors.youzan.mapping import paid_events, refund_events, refund_ids
from connectors.youzan.push import verify_push

CONNECTOR = ConnectorModule(name="youzan", platform="youzan", verify_push=verify_push,
                            client=YouzanClient, paid_events=paid_events,
                            refund_events=refund_events, refund_ids=refund_ids)

__all__ = ["CONNECTOR", "YouzanClient", "paid_events", "refund_events", "refund_ids", "verify_push"]
