from datetime import date, datetime, timedelta, timezone

import pytest

from domain.periods import Period, local_day, parse_period_key, period_containing


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "ts, expected",
    [
        ("2026-11-22T15:59:59", date(2026, 11, 22)),
        ("2026-11-22T16:00:00", date(2026, 11, 23)),  # already Monday in Shanghai
        ("2026-12-31T16:00:00", date(2027, 1, 1)),
        ("2026-06-30T23:59:59", date(2026, 7, 1)),
    ],
)
def test_local_day(ts, expected):
    assert local_day(utc(ts)) == expected


def test_local_day_accepts_other_offsets_and_rejects_naive():
    assert local_day(datetime(2026, 11, 23, 0, 30, tzinfo=timezone(timedelta(hours=8)))) == date(2026, 11, 23)
    with pytest.raises(ValueError, match="timezone-aware"):
        local_day(datetime(2026, 11, 23))


# kind, instant (UTC), key, first_day, last_day, start_utc, end_utc
CALENDAR_CASES = [
    ("day", "2026-11-22T15:59:59", "2026-11-22", "2026-11-22", "2026-11-22", "2026-11-21T16:00", "2026-11-22T16:00"),
    ("day", "2026-11-22T16:00:00", "2026-11-23", "2026-11-23", "2026-11-23", "2026-11-22T16:00", "2026-11-23T16:00"),
    ("week", "2026-11-22T15:59:59", "2026-W47", "2026-11-16", "2026-11-22", "2026-11-15T16:00", "2026-11-22T16:00"),
    ("week", "2026-11-22T16:00:00", "2026-W48", "2026-11-23", "2026-11-29", "2026-11-22T16:00", "2026-11-29T16:00"),
    ("week", "2026-11-29T15:59:59", "2026-W48", "2026-11-23", "2026-11-29", "2026-11-22T16:00", "2026-11-29T16:00"),
    ("month", "2026-11-30T15:59:59", "2026-11", "2026-11-01", "2026-11-30", "2026-10-31T16:00", "2026-11-30T16:00"),
    ("month", "2026-11-30T16:00:00", "2026-12", "2026-12-01", "2026-12-31", "2026-11-30T16:00", "2026-12-31T16:00"),
    ("month", "2028-02-29T12:00:00", "2028-02", "2028-02-01", "2028-02-29", "2028-01-31T16:00", "2028-02-29T16:00"),
    ("year", "2026-12-31T15:59:59", "2026", "2026-01-01", "2026-12-31", "2025-12-31T16:00", "2026-12-31T16:00"),
    ("year", "2026-12-31T16:00:00", "2027", "2027-01-01", "2027-12-31", "2026-12-31T16:00", "2027-12-31T16:00"),
    ("month", "2026-12-31T16:00:00", "2027-01", "2027-01-01", "2027-01-31", "2026-12-31T16:00", "2027-01-31T16:00"),
    # ISO week 53 across the year boundary: 2026 starts on a Thursday, so it has a W53.
    ("week", "2026-12-31T04:00:00", "2026-W53", "2026-12-28", "2027-01-03", "2026-12-27T16:00", "2027-01-03T16:00"),
    ("week", "2026-12-31T16:00:00", "2026-W53", "2026-12-28", "2027-01-03", "2026-12-27T16:00", "2027-01-03T16:00"),
    ("week", "2027-01-03T16:00:00", "2027-W01", "2027-01-04", "2027-01-10", "2027-01-03T16:00", "2027-01-10T16:00"),
    ("week", "2020-12-31T04:00:00", "2020-W53", "2020-12-28", "2021-01-03", "2020-12-27T16:00", "2021-01-03T16:00"),
    ("week", "2021-01-03T15:59:59", "2020-W53", "2020-12-28", "2021-01-03", "2020-12-27T16:00", "2021-01-03T16:00"),
    ("week", "2021-01-03T16:00:00", "2021-W01", "2021-01-04", "2021-01-10", "2021-01-03T16:00", "2021-01-10T16:00"),
    # 2024-12-30 (Monday) already belongs to ISO year 2025.
    ("week", "2024-12-31T04:00:00", "2025-W01", "2024-12-30", "2025-01-05", "2024-12-29T16:00", "2025-01-05T16:00"),
]


@pytest.mark.parametrize("kind, ts, key, first, last, start, end", CALENDAR_CASES)
def test_period_containing(kind, ts, key, first, last, start, end):
    expected = Period(
        kind=kind,
        key=key,
        first_day=date.fromisoformat(first),
        last_day=date.fromisoformat(last),
        start_utc=utc(start),
        end_utc=utc(end),
    )
    period = period_containing(kind, utc(ts))
    assert period == expected
    assert period.start_utc.tzinfo is not None and period.start_utc.utcoffset() == timedelta(0)
    assert period.contains(utc(ts))


@pytest.mark.parametrize("kind, ts, key, first, last, start, end", CALENDAR_CASES)
def test_parse_period_key_is_inverse(kind, ts, key, first, last, start, end):
    assert parse_period_key(kind, key) == period_containing(kind, utc(ts))


def test_period_end_is_exclusive():
    period = parse_period_key("day", "2026-11-23")
    assert period.contains(utc("2026-11-23T15:59:59.999999"))
    assert not period.contains(utc("2026-11-23T16:00:00"))
    assert not period.contains(utc("2026-11-22T15:59:59.999999"))


@pytest.mark.parametrize(
    "kind, key",
    [
        ("week", "2026-W54"),
        ("week", "2025-W53"),  # 2025 has only 52 ISO weeks
        ("week", "2026-W00"),
        ("week", "2026-48"),
        ("week", "2026-w48"),
        ("month", "2026-13"),
        ("month", "2026-00"),
        ("month", "2026-1"),
        ("day", "2026-02-29"),
        ("day", "2026-11-23T00:00"),
        ("day", "２０２６-11-23"),  # full-width digits
        ("year", "26"),
        ("year", "0000"),
        ("year", "0001"),  # its start is before what datetime can hold in UTC
        ("year", "9999"),  # its end is after what date can hold
        ("year", " 2026"),
        ("campaign", "qiancun-qianhong"),
        ("fortnight", "2026-F1"),
    ],
)
def test_parse_period_key_rejects(kind, key):
    with pytest.raises(ValueError):
        parse_period_key(kind, key)


CAMPAIGN = dict(
    campaign_start=utc("2026-11-01T16:00:00"),  # 2026-11-02 00:00 Shanghai
    campaign_end=utc("2026-11-11T16:00:00"),  # 2026-11-12 00:00 Shanghai, exclusive
    campaign_slug="qiancun-qianhong",
)


@pytest.mark.parametrize("ts", ["2026-11-01T16:00:00", "2026-11-11T15:59:59"])
def test_campaign_period(ts):
    assert period_containing("campaign", utc(ts), **CAMPAIGN) == Period(
        kind="campaign",
        key="qiancun-qianhong",
        first_day=date(2026, 11, 2),
        last_day=date(2026, 11, 11),
        start_utc=utc("2026-11-01T16:00:00"),
        end_utc=utc("2026-11-11T16:00:00"),
    )


def test_campaign_window_given_in_shanghai_time_is_normalised_to_utc():
    sh = timezone(timedelta(hours=8))
    period = period_containing(
        "campaign",
        utc("2026-11-05T00:00:00"),
        campaign_start=datetime(2026, 11, 2, tzinfo=sh),
        campaign_end=datetime(2026, 11, 12, tzinfo=sh),
        campaign_slug="qiancun-qianhong",
    )
    assert (period.start_utc, period.end_utc) == (utc("2026-11-01T16:00:00"), utc("2026-11-11T16:00:00"))
    assert period.start_utc.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "ts, overrides",
    [
        ("2026-11-11T16:00:00", {}),  # end is exclusive
        ("2026-11-01T15:59:59", {}),
        ("2026-11-05T00:00:00", {"campaign_slug": None}),
        ("2026-11-05T00:00:00", {"campaign_end": None}),
        ("2026-11-05T00:00:00", {"campaign_slug": ""}),
        ("2026-11-05T00:00:00", {"campaign_start": utc("2026-11-11T16:00:00")}),  # empty window
        ("2026-11-05T00:00:00", {"campaign_start": datetime(2026, 11, 2)}),  # naive
    ],
)
def test_campaign_period_rejects(ts, overrides):
    with pytest.raises(ValueError):
        period_containing("campaign", utc(ts), **{**CAMPAIGN, **overrides})


def test_period_containing_rejects_naive_and_unknown_kind():
    with pytest.raises(ValueError):
        period_containing("day", datetime(2026, 11, 23))
    with pytest.raises(ValueError):
        period_containing("quarter", utc("2026-11-23T00:00:00"))
