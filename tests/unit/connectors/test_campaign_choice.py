"""Which campaign a connection's sale counts for: the one whose Beijing days hold the pay time."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from connectors.campaigns import CampaignDays, choose_campaign

CST = timezone(timedelta(hours=8))
SPRING = CampaignDays("spring", date(2026, 3, 1), date(2026, 3, 31))
PEACH = CampaignDays("peach", date(2026, 3, 20), date(2026, 3, 25))
AUTUMN = CampaignDays("autumn", date(2026, 9, 1), date(2026, 9, 30))


def test_the_campaign_of_the_beijing_day_of_the_pay_time():
    # 2026-03-31 23:30 in Beijing is 15:30 UTC: still March 31st, still spring
    assert choose_campaign([AUTUMN, SPRING], datetime(2026, 3, 31, 15, 30, tzinfo=timezone.utc)) == "spring"
    # 2026-04-01 00:10 in Beijing (16:10 UTC on March 31st): outside spring now
    assert choose_campaign([SPRING], datetime(2026, 3, 31, 16, 10, tzinfo=timezone.utc)) == "spring"  # nearest
    assert choose_campaign([SPRING, AUTUMN], datetime(2026, 8, 31, 12, 0, tzinfo=CST)) == "autumn"


def test_overlapping_campaigns_prefer_the_one_that_started_last():
    assert choose_campaign([SPRING, PEACH], datetime(2026, 3, 22, 10, 0, tzinfo=CST)) == "peach"
    assert choose_campaign([SPRING, PEACH], datetime(2026, 3, 26, 10, 0, tzinfo=CST)) == "spring"


def test_outside_every_campaign_the_nearest_keeps_the_sale():
    assert choose_campaign([SPRING, AUTUMN], datetime(2026, 5, 1, 10, 0, tzinfo=CST)) == "spring"
    assert choose_campaign([SPRING, AUTUMN], datetime(2026, 8, 1, 10, 0, tzinfo=CST)) == "autumn"
