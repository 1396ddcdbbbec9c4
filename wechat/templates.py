"""Subscribe-message template values, cut to WeChat's per-type limits.

A template key's type is its prefix (``thing1`` -> ``thing``). Limits are counted in
characters (code points). Only ``thing`` (free text that allows symbols) gets an
ellipsis: ``limit - 1`` characters + ``…``. Types whose character set forbids ``…``
(character_string, letter, symbol, phrase, name) are cut hard. Types where a cut
would change the meaning (number, amount, phone_number, car_number) are validated
and raise :class:`TemplateValueError` instead. date/time strings are kept verbatim;
``date``/``datetime`` objects are formatted like ``2024年5月1日 08:30``.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Mapping

from domain.money import format_yuan

ELLIPSIS = "…"

#: type prefix -> (max chars, how to handle overflow: "ellipsis" | "cut" | "reject" | "keep")
LIMITS: dict[str, tuple[int | None, str]] = {
    "thing": (20, "ellipsis"),
    "character_string": (32, "cut"),
    "number": (32, "reject"),
    "letter": (32, "cut"),
    "symbol": (5, "cut"),
    "amount": (32, "reject"),
    "phrase": (5, "cut"),
    "name": (10, "cut"),  # 20 when the name is pure latin letters
    "phone_number": (17, "reject"),
    "car_number": (8, "reject"),
    "date": (None, "keep"),
    "time": (None, "keep"),
}

NAME_LATIN_LIMIT = 20

_KEY_RE = re.compile(r"^(?P<type>[a-z_]+?)(?P<n>\d+)$")
_NUMBER_RE = re.compile(r"^-?\d+(\.\d+)?$")
_AMOUNT_RE = re.compile(r"^[¥￥$]?-?\d{1,3}(,\d{3})*(\.\d+)?元?$|^[¥￥$]?-?\d+(\.\d+)?元?$")
_LATIN_NAME_RE = re.compile(r"^[A-Za-z .·'\-]+$")
_WS_RE = re.compile(r"\s+")


class TemplateValueError(ValueError):
    """A template value cannot be made valid for its key type."""


def key_type(key: str) -> str:
    """``thing12`` -> ``thing``; ``character_string3`` -> ``character_string``."""
    m = _KEY_RE.match(key)
    if not m or m.group("type") not in LIMITS:
        raise TemplateValueError(f"未知的模板字段类型: {key}")
    return m.group("type")


def _to_text(value: Any, ktype: str) -> str:
    if isinstance(value, datetime):
        return f"{value.year}年{value.month}月{value.day}日 {value:%H:%M}"
    if isinstance(value, date):
        return f"{value.year}年{value.month}月{value.day}日"
    if isinstance(value, time):
        return f"{value:%H:%M}"
    if isinstance(value, bool):
        raise TemplateValueError(f"{ktype} 字段不接受布尔值")
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def cut(text: str, limit: int, *, ellipsis: bool) -> str:
    """Cut ``text`` to at most ``limit`` characters (``limit - 1`` + ``…`` with ellipsis)."""
    if len(text) <= limit:
        return text
    if ellipsis and limit > 1:
        return text[: limit - 1] + ELLIPSIS
    return text[:limit]


def fit_value(key: str, value: Any) -> str:
    """The value for template key ``key``, made to fit WeChat's rules for its type."""
    ktype = key_type(key)
    if value is None:
        raise TemplateValueError(f"{key} 的值不能为空")
    text = _to_text(value, ktype).strip()
    if ktype in ("thing", "name", "phrase", "character_string", "letter"):
        text = _WS_RE.sub(" ", text)
    if not text:
        raise TemplateValueError(f"{key} 的值不能为空")
    limit, mode = LIMITS[ktype]
    if ktype == "name" and _LATIN_NAME_RE.match(text):
        limit = NAME_LATIN_LIMIT
    if ktype == "number" and not _NUMBER_RE.match(text):
        raise TemplateValueError(f"{key} 必须是数字: {text!r}")
    if ktype == "amount" and not _AMOUNT_RE.match(text):
        raise TemplateValueError(f"{key} 必须是数字或以“元”结尾的金额: {text!r}")
    if mode == "keep" or limit is None:
        return text
    if len(text) <= limit:
        return text
    if mode == "reject":
        raise TemplateValueError(f"{key} 超过 {limit} 个字符: {text!r}")
    return cut(text, limit, ellipsis=(mode == "ellipsis"))


def build_data(values: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """``{"thing1": "…", "amount2": 123}`` -> ``{"thing1": {"value": "…"}, ...}``."""
    return {key: {"value": fit_value(key, value)} for key, value in values.items()}


def fen_to_yuan(fen: int, *, thousands: bool = True, suffix: str = "元") -> str:
    """``1234567`` -> ``"12,345.67元"`` (see domain.money.format_yuan)."""
    return format_yuan(fen, thousands=thousands, suffix=suffix)
