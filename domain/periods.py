"""Board periods. Instants are timezone-aware UTC; days, ISO weeks (Monday to Sunday),
months and years are cut at midnight Asia/Shanghai, the organizers' calendar."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
PERIOD_KINDS = ("day", "week", "month", "year", "campaign")

_ONE_DAY = timedelta(days=1)
# [0-9] not \d: \d also matches full-width and other Unicode digits.
_KEY_PATTERNS = {
    "day": re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})"),
    "week": re.compile(r"([0-9]{4})-W([0-9]{2})"),
    "month": re.compile(r"([0-9]{4})-([0-9]{2})"),
    "year": re.compile(r"([0-9]{4})"),
}


@dataclass(frozen=True)
class Period:
    kind: str  # 'day' | 'week' | 'month' | 'year' | 'campaign'
    key: str  # '2026-11-23', '2026-W48', '2026-11', '2026' or the campaign slug
    first_day: date  # Shanghai local, inclusive
    last_day: date  # Shanghai local, inclusive
    start_utc: datetime  # inclusive
    end_utc: datetime  # exclusive

    def contains(self, at_utc: datetime) -> bool:
        _require_aware(at_utc, "at_utc")
        return self.start_utc <= at_utc < self.end_utc


def _require_aware(ts: datetime, what: str) -> None:
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {ts!r}")


def local_day(ts_utc: datetime) -> date:
    """The Asia/Shanghai calendar date of an instant."""
    _require_aware(ts_utc, "ts_utc")
    return ts_utc.astimezone(SHANGHAI).date()


def _local_midnight_utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(timezone.utc)


def _calendar_period(kind: str, key: str, first_day: date, last_day: date) -> Period:
    return Period(
        kind=kind,
        key=key,
        first_day=first_day,
        last_day=last_day,
        start_utc=_local_midnight_utc(first_day),
        end_utc=_local_midnight_utc(last_day + _ONE_DAY),
    )


def day_period(day: date) -> Period:
    return _calendar_period("day", day.isoformat(), day, day)


def week_period(iso_year: int, iso_week: int) -> Period:
    monday = date.fromisocalendar(iso_year, iso_week, 1)
    return _calendar_period("week", f"{iso_year:04d}-W{iso_week:02d}", monday, monday + 6 * _ONE_DAY)


def month_period(year: int, month: int) -> Period:
    first = date(year, month, 1)
    next_first = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return _calendar_period("month", f"{year:04d}-{month:02d}", first, next_first - _ONE_DAY)


def year_period(year: int) -> Period:
    return _calendar_period("year", f"{year:04d}", date(year, 1, 1), date(year, 12, 31))


def campaign_period(slug: str, start_utc: datetime, end_utc: datetime) -> Period:
    """A campaign's own window [start_utc, end_utc); its days are the Shanghai dates it touches."""
    _require_aware(start_utc, "campaign_start")
    _require_aware(end_utc, "campaign_end")
    if not slug:
        raise ValueError("campaign_slug is required")
    if not start_utc < end_utc:
        raise ValueError("campaign_start must be before campaign_end")
    return Period(
        kind="campaign",
        key=slug,
        first_day=local_day(start_utc),
        # end is exclusive, so the last day is the one holding the last instant before it
        last_day=local_day(end_utc - timedelta(microseconds=1)),
        start_utc=start_utc.astimezone(timezone.utc),
        end_utc=end_utc.astimezone(timezone.utc),
    )


def period_containing(
    kind: str,
    at_utc: datetime,
    *,
    campaign_start: datetime | None = None,
    campaign_end: datetime | None = None,
    campaign_slug: str | None = None,
) -> Period:
    """The period of the given kind that contains ``at_utc``.

    For 'campaign' the window must be given and must contain ``at_utc``.
    """
    _require_aware(at_utc, "at_utc")
    if kind == "campaign":
        if campaign_start is None or campaign_end is None or campaign_slug is None:
            raise ValueError("campaign periods need campaign_start, campaign_end and campaign_slug")
        period = campaign_period(campaign_slug, campaign_start, campaign_end)
        if not period.contains(at_utc):
            raise ValueError(f"{at_utc.isoformat()} is outside campaign {campaign_slug!r}")
        return period
    day = local_day(at_utc)
    if kind == "day":
        return day_period(day)
    if kind == "week":
        iso = day.isocalendar()
        return week_period(iso.year, iso.week)
    if kind == "month":
        return month_period(day.year, day.month)
    if kind == "year":
        return year_period(day.year)
    raise ValueError(f"unknown period kind {kind!r}; expected one of {PERIOD_KINDS}")


def parse_period_key(kind: str, key: str) -> Period:
    """Inverse of ``Period.key`` for calendar kinds (URLs like ?period=week&key=2026-W48).

    Raises ValueError for anything malformed or out of range; a campaign key alone cannot be
    resolved here (it needs the campaign's window, see ``campaign_period``).
    """
    if kind == "campaign":
        raise ValueError("a campaign key needs the campaign window; use campaign_period()")
    pattern = _KEY_PATTERNS.get(kind)
    if pattern is None:
        raise ValueError(f"unknown period kind {kind!r}; expected one of {PERIOD_KINDS}")
    match = pattern.fullmatch(key)
    if match is None:
        raise ValueError(f"malformed {kind} key {key!r}")
    numbers = [int(part) for part in match.groups()]
    try:
        if kind == "day":
            return day_period(date(*numbers))
        if kind == "week":
            return week_period(*numbers)
        if kind == "month":
            return month_period(*numbers)
        return year_period(*numbers)
    except (ValueError, OverflowError) as exc:  # e.g. 2026-W54, 2026-13, year 0000
        raise ValueError(f"invalid {kind} key {key!r}: {exc}") from None
