"""Fraud signals for one campaign board: analytics.fraud inputs -> domain.fraud rules -> a list of
flagged participants with the evidence, each marked whether it is already disqualified.

A signal decides nothing: an organizer disqualifies (configstore.registry.disqualify, with the
reason), which removes the participant from boards at the next ranking run and from award selections.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from analytics import fraud as fraud_data
from configstore import registry
from configstore.errors import ConfigError, NotFound
from domain.boards import BOARDS
from domain.fraud import (
    BUYER_ORDER_BURST,
    HIGH_REFUND_RATE,
    HOURLY_SPIKE,
    buyer_burst_signals,
    refund_rate_signals,
    spike_signals,
)

KIND_NAMES_ZH = {HIGH_REFUND_RATE: "退款率过高", BUYER_ORDER_BURST: "单一买家短时集中下单", HOURLY_SPIKE: "成交额突增"}
REFUND_THRESHOLD = "0.60"
MIN_PAID_ORDERS = 5
BURST_MIN_ORDERS = 20


def fraud_signals(sessions: sessionmaker[Session], store, campaign_slug: str, board: str, *,
                  refund_threshold: str = REFUND_THRESHOLD, min_paid_orders: int = MIN_PAID_ORDERS,
                  burst_min_orders: int = BURST_MIN_ORDERS) -> dict[str, Any]:
    if board not in BOARDS:
        raise ConfigError("invalid_board", "board 只能是 hosts 或 enterprises")
    campaign = registry.get_campaign(sessions, campaign_slug)
    if campaign is None:
        raise NotFound("campaign_not_found", f"活动 {campaign_slug} 不存在")
    attribution = registry.attribution(sessions, board)
    totals = fraud_data.refund_totals(store, campaign=campaign.slug, board=board, attribution=attribution)
    bursts = fraud_data.buyer_hour_orders(store, campaign=campaign.slug, board=board, attribution=attribution,
                                          min_orders=burst_min_orders)
    hours = fraud_data.hourly_net(store, campaign=campaign.slug, board=board, attribution=attribution)
    signals = (refund_rate_signals(totals, threshold=refund_threshold, min_paid_orders=min_paid_orders)
               + buyer_burst_signals(bursts, min_orders=burst_min_orders) + spike_signals(hours))
    names = registry.names(sessions, board)
    disqualified = registry.disqualified(sessions, campaign.slug, board)
    participants: dict[str, dict] = {}
    for s in signals:
        entry = participants.setdefault(s.participant_id, {
            "participant_id": s.participant_id, "name": names.get(s.participant_id, s.participant_id),
            "disqualified": s.participant_id in disqualified, "disqualified_reason": disqualified.get(s.participant_id),
            "signals": []})
        entry["signals"].append({"kind": s.kind, "kind_name": KIND_NAMES_ZH[s.kind], "description": s.description,
                                 "evidence": s.evidence})
    return {"campaign": campaign.slug, "campaign_name": campaign.name, "board": board,
            "thresholds": {"refund_rate": refund_threshold, "min_paid_orders": min_paid_orders,
                           "buyer_orders_per_hour": burst_min_orders},
            "participants": [participants[pid] for pid in sorted(participants)]}
