"""What organizers type, read the way they mean it (services/tolerant_input.py), and the API's
schemas that use it (backend/admin_schemas.py): messages name fields in Chinese."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from marshmallow import Schema

from backend import admin_schemas as S
from services import tolerant_input as tolerant
from services.errors import ApiError
from services.organizer import normalise_participant_rows


@pytest.mark.parametrize("text", ["2026-12-01", "2026/12/01", "2026.12.1", "2026年12月1日", "20261201",
                                  "２０２６／１２／０１", " 2026 / 12 / 01 "])
def test_dates(text):
    assert tolerant.parse_date(text) == date(2026, 12, 1)


@pytest.mark.parametrize("text", ["6月1日", "2026-13-01", "2026-02-30", "明天", ""])
def test_what_is_not_a_date(text):
    with pytest.raises(tolerant.InputError):
        tolerant.parse_date(text)


@pytest.mark.parametrize("text, utc", [
    ("2026-06-30 20:00", "2026-06-30T12:00:00+00:00"),  # Beijing time when no offset is given
    ("2026/06/30T20:00", "2026-06-30T12:00:00+00:00"),  # what a datetime-local input sends, with slashes
    ("2026年6月30日 20时30分", "2026-06-30T12:30:00+00:00"),
    ("2026-06-30T20:00:00+08:00", "2026-06-30T12:00:00+00:00"),
    ("2026-06-30T12:00:00Z", "2026-06-30T12:00:00+00:00"),
])
def test_moments(text, utc):
    assert tolerant.parse_moment(text).astimezone(timezone.utc).isoformat() == utc


@pytest.mark.parametrize("text, value", [("10,000", 10_000), ("10，000", 10_000), ("１０，０００", 10_000),
                                         ("10 000", 10_000), ("1万", 10_000), ("1.5万", 15_000), ("0", 0)])
def test_whole_numbers(text, value):
    assert tolerant.parse_int(text) == value


@pytest.mark.parametrize("text, fen", [("12,345.60", 1_234_560), ("12,345.6元", 1_234_560), ("¥10", 1_000),
                                       ("1,200万", 1_200_000_000), ("1.2万元", 1_200_000)])
def test_amounts_in_yuan(text, fen):
    assert tolerant.parse_yuan(text) == fen


@pytest.mark.parametrize("text", ["1.5", "-3", "abc", "1.001元"])
def test_what_is_not_a_whole_number_or_an_amount(text):
    with pytest.raises(tolerant.InputError):
        tolerant.parse_int(text) if "元" not in text else tolerant.parse_yuan(text)


@pytest.mark.parametrize("text, code", [("吉首市", "433101"), ("吉首", "433101"), ("433101", "433101"),
                                        ("433101.0", "433101"), ("吉首市（433101）", "433101"), ("龙山县", "433130"),
                                        ("430100", "430100"), ("", "")])
def test_counties(text, code):
    assert tolerant.parse_county(text) == code


def test_counties_outside_the_prefecture_are_kept_with_a_warning():
    assert tolerant.county_warning("430100") == "县市代码 430100 不在湘西州（433100）辖区内，已照常登记，请核对"
    assert tolerant.county_warning("433126") is None and tolerant.county_warning("") is None
    with pytest.raises(tolerant.InputError, match="433123"):
        tolerant.parse_county("凤凰县（433124）")  # a name and a code that disagree
    with pytest.raises(tolerant.InputError):
        tolerant.parse_county("12345")


@pytest.mark.parametrize("text, accounts", [
    ("抖音:dy123", [("douyin", "dy123")]),
    ("抖音：dy123", [("douyin", "dy123")]),
    ("抖店: shop-1；快手：ks9", [("douyin", "shop-1"), ("kuaishou", "ks9")]),
    ("douyin:dy1, 视频号:v1、芒果TV:m1", [("douyin", "dy1"), ("wechat_channels", "v1"), ("mango", "m1")]),
])
def test_platform_accounts(text, accounts):
    assert tolerant.parse_accounts(text) == accounts


@pytest.mark.parametrize("text, message", [("抖音:", "缺少账号"), ("tiktok:xx", "平台应为"), ("dy123", "平台:账号")])
def test_what_is_not_an_account(text, message):
    with pytest.raises(tolerant.InputError, match=message):
        tolerant.parse_accounts(text)


def test_import_rows_are_read_the_same_way():
    rows, errors, warnings = normalise_participant_rows([
        {"kind": "主播", "id": "H1", "name": "向秀英", "county": "吉首市", "accounts": "抖音：dy1；快手:k1"},
        {"kind": "主播", "id": "H2", "name": "长沙的达人", "county": "430100", "accounts": "抖音:dy2"},
        {"kind": "企业", "id": "E1", "name": "古丈茶业", "county": "古丈", "tax_compliant": "有",
         "credit_code": "91433126 ma4l 0x 2k8q"},
        {"kind": "主播", "id": "H3", "name": "龙秋菊", "accounts": "抖音:"},
    ])
    assert rows[0]["county"] == "433101" and rows[0]["accounts"] == "douyin:dy1;kuaishou:k1"
    assert rows[2] == {"kind": "企业", "id": "E1", "name": "古丈茶业", "county": "433126", "tax_compliant": "是",
                       "credit_code": "91433126MA4L0X2K8Q"}
    assert rows[3] == {}  # blanked: the importer skips it and keeps the line numbers
    assert [(e.row, e.field) for e in errors] == [(5, "accounts")]
    assert [(w.row, w.field) for w in warnings] == [(3, "county")]


class Counts(Schema):
    orders = S.whole()


def test_the_api_schemas_read_tolerantly_and_name_fields_in_chinese():
    loaded = S.load(S.CampaignCreate, {"slug": "qcqh-2027", "name": "千村千红", "first_day": "2027/6/1",
                                       "last_day": "2027年6月30日", "freeze_at": "2027/06/30 20:00"})
    assert (loaded["first_day"], loaded["last_day"]) == (date(2027, 6, 1), date(2027, 6, 30))
    assert loaded["freeze_at"].astimezone(timezone.utc) == datetime(2027, 6, 30, 12, tzinfo=timezone.utc)
    assert S.load(Counts, {"orders": "10,000"}) == {"orders": 10_000}
    assert S.load(S.Reattribute, {"board": "hosts", "platform": "抖音", "account": "dy1", "participant_id": "H1"})[
        "platform"] == "douyin"
    assert S.load(S.StationCreate, {"kind": "county_centre", "region_code": "吉首市", "name": "吉首市运营中心"})[
        "region_code"] == "433101"
    with pytest.raises(ApiError) as refused:
        S.load(S.CampaignCreate, {"slug": "x", "first_day": "6月1日", "last_day": "0001-01-01"})
    assert refused.value.details == {"name": ["缺少必填字段"], "first_day": ["日期格式应为 YYYY-MM-DD"],
                                     "last_day": ["年份应在 1900 到 9998 之间"]}
    assert refused.value.message == ("请求参数无效：名称：缺少必填字段；开始日期：日期格式应为 YYYY-MM-DD；"
                                     "结束日期：年份应在 1900 到 9998 之间")
    assert "first_day" not in refused.value.message


@pytest.mark.parametrize("text, items", [
    ("10万、50万、100万", ["10万", "50万", "100万"]),
    ("100000, 500000, 1000000", ["100000", "500000", "1000000"]),
    ("100,000, 500,000，1,000,000", ["100000", "500000", "1000000"]),  # thousands, then list commas
    ("100，500, 10000", ["100", "500", "10000"]),  # a full-width comma always separates
    ("100000,500000", ["100000", "500000"]),  # six digits after a comma: two amounts
    ("10,000", ["10000"]),
    ("", []),
])
def test_lists_of_amounts(text, items):
    assert tolerant.split_amounts(text) == items
    assert all(tolerant.parse_yuan(item) > 0 for item in items)  # each item is an amount
