"""Which of a connection's campaigns a sale counts for.

The rule (docs/platforms.md): the campaign whose Beijing days contain the order's **pay time**.
A refund follows its order: it counts for the campaign of the order's pay time, whenever the
money goes back, so a campaign's net is what its own orders kept.
* Several campaigns contain the day (overlapping campaigns): the one that started last (the more
  specific one), then the smaller code.
* None contains it: the campaign nearest in days. The sale is kept and shows in the
  unattributed view as "不在活动日期内" — never dropped, and moved onto a board as soon as the
  campaign's days are changed to include it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from domain.periods import local_day


@dataclass(frozen=True)
class CampaignDays:
    slug: str
    first_day: date
    last_day: date

    def distance(self, day: date) -> int:
        if day < self.first_day:
            return (self.first_day - day).days
        if day > self.last_day:
            return (day - self.last_day).days
        return 0


def choose_campaign(campaigns: list[CampaignDays], paid_at: datetime) -> str:
    if not campaigns:
        raise ValueError("a connection always has at least one campaign")
    day = local_day(paid_at)
    return min(campaigns, key=lambda c: (c.distance(day), -c.first_day.toordinal(), c.slug)).slug
