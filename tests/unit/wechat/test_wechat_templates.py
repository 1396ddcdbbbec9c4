"""Template value fitting: exact strings per WeChat key type."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from wechat.templates import TemplateValueError, build_data, cut, fen_to_yuan, fit_value, key_type


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        # thing: <= 20 chars, overflow -> 19 chars + "…"
        ("thing1", "湘西州直播带货大赛", "湘西州直播带货大赛"),
        ("thing1", "一二三四五六七八九十一二三四五六七八九十", "一二三四五六七八九十一二三四五六七八九十"),
        ("thing1", "一二三四五六七八九十一二三四五六七八九十超", "一二三四五六七八九十一二三四五六七八九…"),
        ("thing2", "abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrs…"),
        ("thing3", "  第一名\n恭喜  你 ", "第一名 恭喜 你"),
        # character_string: <= 32, hard cut (no "…": not in its charset)
        ("character_string1", "A" * 40, "A" * 32),
        ("character_string2", "ORDER-2024-0001", "ORDER-2024-0001"),
        # letter <= 32, symbol <= 5, phrase <= 5: hard cut
        ("letter1", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ", "abcdefghijklmnopqrstuvwxyzABCDEF"),
        ("symbol1", "!@#$%^&", "!@#$%"),
        ("phrase1", "排名上升了一位", "排名上升了"),
        ("phrase2", "已上榜", "已上榜"),
        # name: <= 10 for Chinese, <= 20 for latin letters; hard cut
        ("name1", "欧阳娜娜", "欧阳娜娜"),
        ("name1", "一二三四五六七八九十十一", "一二三四五六七八九十"),
        ("name2", "Alexandra Catherine Smith", "Alexandra Catherine "),
        # number / amount: validated, kept
        ("number1", 42, "42"),
        ("number1", "3.14", "3.14"),
        ("number2", Decimal("12.50"), "12.50"),
        ("amount1", "12,345.67元", "12,345.67元"),
        ("amount1", "100", "100"),
        ("amount2", "¥99.00", "¥99.00"),
        # date/time: kept verbatim; date/datetime objects formatted
        ("date1", "2024年5月1日", "2024年5月1日"),
        ("date2", "2024-05-01 08:30", "2024-05-01 08:30"),
        ("time1", "15:01", "15:01"),
        ("date3", date(2024, 5, 1), "2024年5月1日"),
        ("time2", datetime(2024, 5, 1, 8, 5), "2024年5月1日 08:05"),
    ],
)
def test_fit_value_table(key: str, value: object, expected: str) -> None:
    assert fit_value(key, value) == expected


@pytest.mark.parametrize("key,limit", [("thing1", 20), ("character_string1", 32), ("letter1", 32),
                                       ("symbol1", 5), ("phrase1", 5), ("name1", 10)])
def test_never_exceeds_limit(key: str, limit: int) -> None:
    value = {"letter1": "x" * 100, "symbol1": "#" * 100}.get(key, "测" * 100)
    assert len(fit_value(key, value)) == limit


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("number1", "1" * 33),           # too long: cutting would change the number
        ("number1", "十二"),              # not digits
        ("amount1", "12元5角"),           # must be digits, optionally ending with 元
        ("amount1", "1" * 33),
        ("phone_number1", "1" * 18),
        ("car_number1", "湘U1234567"),
        ("thing1", ""),
        ("thing1", None),
        ("unknownkey1", "x"),
        ("thing", "no index"),
    ],
)
def test_fit_value_rejects(key: str, value: object) -> None:
    with pytest.raises(TemplateValueError):
        fit_value(key, value)


def test_key_type() -> None:
    assert key_type("character_string12") == "character_string"
    assert key_type("thing1") == "thing"
    assert key_type("phone_number3") == "phone_number"


def test_cut_helper() -> None:
    assert cut("abcdef", 4, ellipsis=True) == "abc…"
    assert cut("abcdef", 4, ellipsis=False) == "abcd"
    assert cut("abcd", 4, ellipsis=True) == "abcd"


def test_build_data_payload() -> None:
    assert build_data({"thing1": "湘西州第一届直播带货大赛总决赛排行榜更新通知", "number2": 3,
                       "amount3": fen_to_yuan(1234567)}) == {
        "thing1": {"value": "湘西州第一届直播带货大赛总决赛排行榜更…"},
        "number2": {"value": "3"},
        "amount3": {"value": "12,345.67元"},
    }


@pytest.mark.parametrize(
    ("fen", "kwargs", "expected"),
    [
        (1234567, {}, "12,345.67元"),
        (0, {}, "0.00元"),
        (5, {}, "0.05元"),
        (100, {}, "1.00元"),
        (123456789012, {}, "1,234,567,890.12元"),
        (1234567, {"thousands": False}, "12345.67元"),
        (-250, {}, "-2.50元"),
        (99999, {"suffix": ""}, "999.99"),
    ],
)
def test_fen_to_yuan(fen: int, kwargs: dict, expected: str) -> None:
    assert fen_to_yuan(fen, **kwargs) == expected


def test_fen_to_yuan_rejects_float() -> None:
    with pytest.raises(TypeError):
        fen_to_yuan(12.5)  # type: ignore[arg-type]
