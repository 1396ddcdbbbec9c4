"""Building v1 sales events from platform details: ids, money, time, attribution.

Rules every platform mapping follows (see docs/connectors.md):

* one ``order.paid`` per sub-order (``order_id`` = the sub-order id, ``parent_order_id`` extra),
  one ``order.refunded`` per completed aftersale, referring to the sub-order it refunds;
* event ids are derived from platform, shop and the platform's own ids only
  (``<prefix>-<shop>-<sub_order>-paid``, ``<prefix>-<shop>-<aftersale>-refund``), so a re-push,
  a replay or the pull backstop always yields the same id for the same sale;
* money is integer fen; yuan strings are converted exactly with ``Decimal``;
* time is RFC 3339 with the +08:00 offset the platforms use;
* ``buyer`` is a hash of the platform's buyer id, never the id itself;
* when the platform names no 达人, ``host`` is ``UNATTRIBUTED_HOST`` and the event carries an
  ``attribution_note`` saying why, so the lead can list and fix such sales.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.base import MappingContext, MappingError

CST = timezone(timedelta(hours=8))
UNATTRIBUTED_HOST = "unattributed"
NOTE_NO_HOST = "达人未登记：订单未标明带货达人"
NOTE_NO_ORDER = "达人未登记：退款未附订单详情，无法确定带货达人"

_ID_CHAR = re.compile(r"[^A-Za-z0-9._:@/-]")
_MAX_ID = 128


# -- time -----------------------------------------------------------------------------------

def rfc3339(moment: datetime) -> str:
    return moment.astimezone(CST).isoformat(timespec="seconds")


def from_epoch(value: Any, *, millis: bool = False) -> datetime | None:
    """Epoch seconds (or milliseconds) -> aware datetime; 0 / missing -> None."""
    number = whole_number(value, "时间戳")
    if not number:
        return None
    return datetime.fromtimestamp(number / 1000 if millis else number, tz=CST)


def from_cst_text(value: Any) -> datetime | None:
    """``"2026-11-23 20:15:00"`` in Beijing time -> aware datetime; empty -> None."""
    if not value:
        return None
    try:
        return datetime.strptime(str(value).strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CST)
    except ValueError as exc:
        raise MappingError(f"时间格式无法识别：{value!r}") from exc


# -- money ----------------------------------------------------------------------------------

def whole_number(value: Any, what: str) -> int:
    """An integer from an int or a decimal string; floats and bools are refused (money, ids)."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool) or isinstance(value, float):
        raise MappingError(f"{what}必须是整数，收到 {value!r}")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not re.fullmatch(r"-?\d+", text):
        raise MappingError(f"{what}必须是整数，收到 {value!r}")
    return int(text)


def yuan_to_fen(value: Any, what: str = "金额") -> int:
    """``"12.30"`` yuan -> 1230 fen, exactly. More than two decimals is an error, not a rounding."""
    if value is None or value == "":
        return 0
    if isinstance(value, (bool, float)):
        raise MappingError(f"{what}必须是字符串或整数形式的元，收到 {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise MappingError(f"{what}不是合法的金额：{value!r}") from exc
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise MappingError(f"{what}精度超过分：{value!r}")
    return int(fen)


def split_fen(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` fen by ``weights`` exactly (largest remainder; ties to the earlier part)."""
    if not weights:
        return []
    if sum(weights) <= 0:
        weights = [1] * len(weights)
    whole = sum(weights)
    shares = [total * w // whole for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in remainders[: total - sum(shares)]:
        shares[i] += 1
    return shares


# -- ids ------------------------------------------------------------------------------------

def as_id(value: Any) -> str | None:
    """A platform id as a string. Ids are often 19-digit integers: JSON parsing keeps them exact
    as ``int``, so a ``float`` means digits were already lost upstream — refuse to guess."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, float):
        raise MappingError(f"编号不是整数或字符串：{value!r}")
    return str(value)


def make_event_id(prefix: str, shop: str, key: str, kind: str) -> str:
    """``dy-<shop>-<key>-paid``; characters outside the contract become ``.``; an over-long
    shop id is replaced by a short digest so the id stays <= 128 and deterministic."""
    shop_part = _ID_CHAR.sub(".", shop)
    key_part = _ID_CHAR.sub(".", key)
    event_id = f"{prefix}-{shop_part}-{key_part}-{kind}"
    if len(event_id) > _MAX_ID:
        shop_part = "s" + hashlib.sha256(shop.encode()).hexdigest()[:16]
        event_id = f"{prefix}-{shop_part}-{key_part}-{kind}"
    if len(event_id) > _MAX_ID:
        raise MappingError(f"平台编号过长，无法生成事件编号：{key[:40]}…")
    return event_id


def buyer_hash(platform: str, buyer_id: Any, salt: str = "") -> str | None:
    """An opaque, stable buyer key for distinct-buyer counts; the raw id never leaves here."""
    if buyer_id is None or buyer_id == "":
        return None
    digest = hashlib.sha256(f"{salt}:{platform}:{buyer_id}".encode()).hexdigest()
    return f"b:{digest[:40]}"


def check_shop(context: MappingContext, detail_shop_id: Any) -> None:
    """Refuse to map another shop's order into this connection (a misrouted push or token)."""
    if detail_shop_id in (None, "", 0):
        return
    if str(detail_shop_id) != context.shop_id:
        raise MappingError(f"订单属于店铺 {detail_shop_id}，不是本连接的店铺 {context.shop_id}")


# -- events ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SaleLine:
    """One sub-order as every platform mapping describes it."""

    sub_order_id: str
    parent_order_id: str
    sku: str
    name: str
    category: str
    quantity: int
    paid_fen: int
    host: str | None = None
    host_extras: dict[str, Any] = field(default_factory=dict)  # only with a named host
    extras: dict[str, Any] = field(default_factory=dict)       # always (live_id, category id)


def _common(platform: str, context: MappingContext, line: SaleLine, occurred: datetime,
            buyer: str | None, no_host_note: str) -> dict[str, Any]:
    event: dict[str, Any] = {
        "occurred_at": rfc3339(occurred),
        "platform": platform,
        "campaign": context.campaign,
        "enterprise": context.shop_id[:64],
        "order_id": line.sub_order_id,
        "parent_order_id": line.parent_order_id,
        "product": {
            "sku": (line.sku or line.sub_order_id)[:64],
            "name": (line.name or "未命名商品")[:200],
            "category": (line.category or context.default_category)[:64],
        },
        "county": context.county,
        **line.extras,
    }
    if line.host:
        event["host"] = line.host[:64]
        event.update(line.host_extras)
    else:
        event["host"] = UNATTRIBUTED_HOST
        event["attribution_note"] = no_host_note
    if buyer:
        event["buyer"] = buyer
    return event


def paid_event(platform: str, prefix: str, context: MappingContext, line: SaleLine,
               paid_at: datetime, buyer: str | None, no_host_note: str = NOTE_NO_HOST) -> dict[str, Any]:
    event = _common(platform, context, line, paid_at, buyer, no_host_note)
    event.update({
        "event_id": make_event_id(prefix, context.shop_id, line.sub_order_id, "paid"),
        "type": "order.paid",
        "quantity": line.quantity,
        "amount_fen": line.paid_fen,
    })
    return event


def refund_event(platform: str, prefix: str, context: MappingContext, line: SaleLine, *,
                 refund_id: str, refund_key: str, refunded_fen: int, quantity: int,
                 refunded_at: datetime, buyer: str | None,
                 no_host_note: str = NOTE_NO_HOST) -> dict[str, Any] | None:
    """``refund_key`` is the aftersale id (plus ``:<sub order>`` when one refund is split).
    A refund of zero fen is not an event (the contract requires at least 1 fen)."""
    if refunded_fen <= 0:
        return None
    event = _common(platform, context, line, refunded_at, buyer, no_host_note)
    event.update({
        "event_id": make_event_id(prefix, context.shop_id, refund_key, "refund"),
        "type": "order.refunded",
        "refund_id": refund_id,
        "quantity": max(0, quantity),
        "amount_fen": refunded_fen,
    })
    return event


def capped(refunded_fen: int, line: SaleLine | None) -> int:
    """A refund never exceeds what the buyer paid for the sub-order, so net sales of a
    sub-order cannot go negative (e.g. when a platform's refund includes postage that its
    sub-order amount does not)."""
    if line is None or line.paid_fen <= 0:
        return refunded_fen
    return min(refunded_fen, line.paid_fen)


def inferred_refund_quantity(refunded_fen: int, line: SaleLine | None) -> int:
    """For platforms whose refund detail names no quantity: a refund of the whole sub-order
    returned all its units; a partial refund is counted as money only (0 units)."""
    if line is None or line.paid_fen <= 0 or refunded_fen < line.paid_fen:
        return 0
    return line.quantity
