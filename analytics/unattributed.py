"""Sales set aside as unattributed: read from the pre-aggregate, never by rewriting a row.

Nothing posted is dropped. An event that the boards do not count shows up here, grouped by
(campaign, platform, posted host, posted enterprise), with why it is not counted:
  unknown_campaign      the campaign is not registered
  campaign_not_active   the campaign is registered but still a draft
  outside_campaign_days the event's Shanghai day is outside the campaign's days
  unknown_host          the posted host is neither a registered id nor a registered account
  unknown_enterprise    the same for the posted enterprise
Re-attribution is a registry change (register the posted account to a participant, create or
activate the campaign): the next ranking run counts the group, as attribution happens at read
time (see analytics.boards).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Mapping

from analytics.base import AnalyticsStore
from analytics.boards import attribution_params, participant_expr
from domain.attribution import Attribution

REASONS_ZH = {
    "unknown_campaign": "活动未登记",
    "campaign_not_active": "活动尚未启用（草稿）",
    "outside_campaign_days": "不在活动日期内",
    "unknown_host": "达人未登记",
    "unknown_enterprise": "企业未登记",
}


@dataclass(frozen=True)
class CampaignWindow:
    status: str  # draft|active|frozen|closed
    first_day: date
    last_day: date


@dataclass(frozen=True)
class UnattributedGroup:
    campaign: str
    platform: str
    host: str
    enterprise: str
    reasons: tuple[str, ...]
    net_gmv_fen: int
    order_count: int
    refund_count: int
    first_day: date
    last_day: date

    def as_dict(self) -> dict:
        return {"campaign": self.campaign, "platform": self.platform, "host": self.host,
                "enterprise": self.enterprise, "reasons": list(self.reasons),
                "reasons_zh": [REASONS_ZH[r] for r in self.reasons], "net_gmv_fen": self.net_gmv_fen,
                "order_count": self.order_count, "refund_count": self.refund_count,
                "first_day": self.first_day.isoformat(), "last_day": self.last_day.isoformat()}


def _prefixed(params: dict[str, list[str]], prefix: str) -> dict[str, list[str]]:
    return {f"{prefix}_{key}": value for key, value in params.items()}


def unattributed_groups(store: AnalyticsStore, *, campaigns: Mapping[str, CampaignWindow], hosts: Attribution,
                        enterprises: Attribution, campaign: str | None = None) -> list[UnattributedGroup]:
    """Every group the boards leave out, largest net GMV first (optionally one campaign's)."""
    live = {slug: w for slug, w in campaigns.items() if w.status != "draft"}
    slugs = list(live) or ["\x00"]
    host_expr = participant_expr("host").replace("%(", "%(h_")
    enterprise_expr = participant_expr("enterprise").replace("%(", "%(e_")
    where = "WHERE campaign = %(only)s" if campaign is not None else ""
    rows = store.query(
        f"""
        SELECT campaign, platform, host, enterprise,
               {host_expr} AS host_id, {enterprise_expr} AS enterprise_id,
               toString(day) >= transform(campaign, %(slugs)s, %(firsts)s, '9999-99-99')
                   AND toString(day) <= transform(campaign, %(slugs)s, %(lasts)s, '') AS in_window,
               sum(paid_fen) - sum(refunded_fen) AS net, sum(order_count), sum(refund_count),
               toString(min(day)), toString(max(day))
        FROM {{db}}.sales_daily
        {where}
        GROUP BY campaign, platform, host, enterprise, in_window
        HAVING in_window = 0 OR host_id = '' OR enterprise_id = ''
        ORDER BY net DESC, campaign, platform, host, enterprise
        """,
        {"slugs": slugs, "firsts": [live[s].first_day.isoformat() for s in live] or [""],
         "lasts": [live[s].last_day.isoformat() for s in live] or [""], "only": campaign or "",
         **_prefixed(attribution_params(hosts), "h"), **_prefixed(attribution_params(enterprises), "e")},
    )
    groups = []
    for slug, platform, host, enterprise, host_id, enterprise_id, in_window, net, orders, refunds, first, last in rows:
        if slug not in campaigns:
            reasons = ["unknown_campaign"]
        elif slug not in live:
            reasons = ["campaign_not_active"]
        else:
            reasons = [] if in_window else ["outside_campaign_days"]
        if host_id == "":
            reasons.append("unknown_host")
        if enterprise_id == "":
            reasons.append("unknown_enterprise")
        groups.append(UnattributedGroup(slug, platform, host, enterprise, tuple(reasons), int(net), int(orders),
                                        int(refunds), date.fromisoformat(str(first)), date.fromisoformat(str(last))))
    return groups


def totals(groups: list[UnattributedGroup]) -> dict[str, int]:
    return {"groups": len(groups), "net_gmv_fen": sum(g.net_gmv_fen for g in groups),
            "order_count": sum(g.order_count for g in groups)}
