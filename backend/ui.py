"""How pages show times, numbers and money (Jinja filters, one definition each).

- ``bj``: an instant as Beijing time, "YYYY-MM-DD HH:mm" (aware or naive-UTC datetimes, ISO strings,
  dates as "YYYY-MM-DD"); the pages say "北京时间" once, next to the first time they show.
- ``num``: whole numbers with thousands separators (20,000).
- ``yuan``: fen as yuan with separators and two decimals (3,544,526.15).
- ``wan``: fen as 万元 with separators and two decimals (354.45).
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from flask import Blueprint

from domain.money import format_yuan
from domain.periods import SHANGHAI

EMPTY = "—"


def to_beijing(value: Any) -> datetime | None:
    """An aware datetime in Beijing time, from a datetime (naive means UTC) or an ISO string."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(SHANGHAI)


def bj(value: Any, with_seconds: bool = False) -> str:
    """Beijing time "YYYY-MM-DD HH:mm" ("—" when there is none)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    moment = to_beijing(value)
    if moment is None:
        return EMPTY if value in (None, "") else str(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def bj_date(value: Any) -> str:
    """Beijing calendar day "YYYY-MM-DD"."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    moment = to_beijing(value)
    return moment.strftime("%Y-%m-%d") if moment else EMPTY


def num(value: Any) -> str:
    if value is None or value == "":
        return EMPTY
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


def yuan(fen: Any) -> str:
    if fen is None:
        return EMPTY
    return format_yuan(int(fen), suffix="")


def wan(fen: Any) -> str:
    """fen -> 万元 with two decimals, rounded half up (exact integer arithmetic)."""
    if fen is None:
        return EMPTY
    fen = int(fen)
    sign, fen = ("-" if fen < 0 else ""), abs(fen)
    hundredths = (fen + 5_000) // 10_000  # 0.01 万元 = 100 元 = 10,000 fen
    whole, part = divmod(hundredths, 100)
    return f"{sign}{whole:,}.{part:02d}"


FILTERS = {"bj": bj, "bj_date": bj_date, "num": num, "yuan": yuan, "wan": wan}


def register_filters(blueprint: Blueprint) -> None:
    """Make the filters available to every template of the app the blueprint joins."""
    for name, function in FILTERS.items():
        blueprint.add_app_template_filter(function, name)
