"""What a webhook source may speak for: its platforms, and optionally its campaigns and enterprises.

A source reports sales it can see. It may report only on the platforms it was created for; when
campaigns or enterprises are set, only for those. An event outside the scope is refused, per item,
and never stored — so a source can never put sales on (or take refunds off) someone else's board.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from domain.attribution import Attribution


@dataclass(frozen=True)
class SourceScope:
    platforms: frozenset[str] | None = None  # None: any platform (sources made before scopes existed)
    campaigns: frozenset[str] | None = None  # None: any campaign
    enterprises: frozenset[str] | None = None  # None: any enterprise (participant ids)
    # the posted values that mean one of `enterprises`: their ids and (platform, shop account) pairs
    enterprise_ids: frozenset[str] = frozenset()
    enterprise_accounts: frozenset[tuple[str, str]] = field(default=frozenset())

    @classmethod
    def resolved(cls, platforms, campaigns, enterprises, attribution: Attribution) -> "SourceScope":
        """A scope whose enterprise check knows the enterprises' platform accounts."""
        allowed = frozenset(enterprises) if enterprises is not None else None
        accounts = frozenset(key for key, owner in attribution.accounts.items() if allowed and owner in allowed)
        return cls(platforms=frozenset(platforms) if platforms is not None else None,
                   campaigns=frozenset(campaigns) if campaigns is not None else None,
                   enterprises=allowed, enterprise_ids=allowed or frozenset(), enterprise_accounts=accounts)

    def refusal(self, event: Mapping[str, Any]) -> tuple[str, str] | None:
        """(field, Chinese message) when the event lies outside this scope, else None."""
        platform = event.get("platform")
        if self.platforms is not None and platform not in self.platforms:
            return "platform", f"此数据来源不能上报平台 {platform} 的数据"
        if self.campaigns is not None and event.get("campaign") not in self.campaigns:
            return "campaign", f"此数据来源不能上报活动 {event.get('campaign')} 的数据"
        if self.enterprises is not None and "enterprise" in event and not self.covers_enterprise(
                str(platform), str(event["enterprise"])):
            return "enterprise", f"此数据来源不能代企业 {event['enterprise']} 上报"
        return None

    def covers_enterprise(self, platform: str, posted: str) -> bool:
        if self.enterprises is None:
            return True
        return posted in self.enterprise_ids or (platform, posted) in self.enterprise_accounts

    def covers_order(self, platform: str, campaign: str, enterprise: str) -> bool:
        """May this source refund an order another source reported (attribution as stored)?"""
        return ((self.platforms is None or platform in self.platforms)
                and (self.campaigns is None or campaign in self.campaigns)
                and self.covers_enterprise(platform, enterprise))


ANY_SCOPE = SourceScope()
