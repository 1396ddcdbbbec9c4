"""What organizers type, read the way they mean it: the one place where console forms, the organizer
API's schemas (backend/admin_schemas.py) and spreadsheet imports (services/organizer.py) turn
free text into dates, numbers, county codes and platform accounts.

Rules (each parser raises InputError with a Chinese message when the text cannot mean anything):
- Full-width characters are folded first (NFKC): "２０２６／１２／０１" is "2026/12/01", "：" is ":".
- Dates: 2026-12-01, 2026/12/01, 2026.12.01, 2026年12月1日, 20261201 (month and day may drop the 0).
- Times: a date, then optionally "20:00", "20:00:00", "T20:00", "20时30分"; Beijing time unless the
  text carries an offset (2026-06-30T20:00:00+08:00, ...Z).
- Whole numbers: "10,000", "10，000", "10 000", "1万", "1.5万" (thousands separators, 万 = 10,000).
- Amounts in yuan: the same, with up to two decimals and an optional ¥ / 元 / 万元: "12,345.60元" is
  1234560 fen.
- Counties: the 6-digit code, the full name ("吉首市"), the name without 市/县 ("吉首"), or both
  ("吉首市（433101）"). Any other 6-digit division code is kept (the caller may warn about it).
- Platforms: the event contract's value (douyin) or a name people use (抖音, 抖店, 快手, 视频号, ...).
- Platform accounts: "抖音:dy123", "抖音：dy123", "douyin: dy123"; several separated by ; ； , ， 、
  or new lines.
- Yes/no: 是/否, 有/无, 对/错, √/×, yes/no, y/n, true/false, 1/0.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.boards import PLATFORM_NAMES_ZH, PLATFORMS
from domain.periods import SHANGHAI
from domain.regions import XIANGXI_COUNTIES, XIANGXI_PREFECTURE_CODE


class InputError(ValueError):
    """Text that cannot be read as what the field wants; the message is for people (Chinese)."""

    @property
    def message(self) -> str:
        return str(self.args[0])


def fold(text: object) -> str:
    """Full-width to half-width, trimmed ("２０２６／１２" -> "2026/12", "抖音：" -> "抖音:")."""
    return unicodedata.normalize("NFKC", "" if text is None else str(text)).strip()


# -- dates and times ----------------------------------------------------------------------------
_DATE = re.compile(r"(\d{4})\s*(?:[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?|(\d{2})(\d{2}))")
_TIME = re.compile(r"(\d{1,2})\s*[:时點点]\s*(\d{1,2})?\s*(?:[:分]\s*(\d{1,2})?\s*秒?)?")
_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$", re.I)
DATE_HINT = "日期格式应为 YYYY-MM-DD"


def parse_date(text: object) -> date:
    folded = fold(text)
    match = _DATE.fullmatch(folded)
    if not match:
        raise InputError(DATE_HINT)
    year, month, day = match.group(1), match.group(2) or match.group(4), match.group(3) or match.group(5)
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise InputError(f"{folded} 不是有效的日期") from None


def parse_moment(text: object) -> datetime:
    """An aware datetime; text without an offset is Beijing time."""
    folded = fold(text)
    offset = _OFFSET.search(folded)
    if offset:  # an instant written with its offset: ISO 8601 as the API documents it
        try:
            return datetime.fromisoformat(folded[:offset.start()] + ("+00:00" if offset.group(1).upper() == "Z"
                                                                      else offset.group(1)))
        except ValueError:
            raise InputError("时间格式应为 YYYY-MM-DD HH:MM（北京时间）") from None
    head = _DATE.match(folded)
    if not head:
        raise InputError("时间格式应为 YYYY-MM-DD HH:MM（北京时间）")
    day = parse_date(head.group(0))
    rest = folded[head.end():].strip().lstrip("Tt").strip()
    if not rest:
        return datetime.combine(day, time(0), SHANGHAI)
    clock = _TIME.fullmatch(rest)
    if not clock:
        raise InputError("时间格式应为 YYYY-MM-DD HH:MM（北京时间）")
    hour, minute, second = (int(part or 0) for part in clock.groups())
    try:
        return datetime.combine(day, time(hour, minute, second), SHANGHAI)
    except ValueError:
        raise InputError(f"{folded} 不是有效的时间") from None


# -- numbers and money ------------------------------------------------------------------------
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def _decimal(text: object, *, units: tuple[str, ...]) -> Decimal:
    folded = fold(text)
    compact = re.sub(r"[\s,，_']", "", folded).lstrip("¥￥")
    scale = Decimal(1)
    for unit in units:  # longest first: 万元 before 元
        if compact.endswith(unit):
            compact = compact[: -len(unit)]
            scale = Decimal(10_000) if unit.startswith("万") else Decimal(1)
            break
    if not _NUMBER.fullmatch(compact):
        raise InputError(f"“{folded}”不是数字" if folded else "请填写数字")
    try:
        return Decimal(compact) * scale
    except InvalidOperation:
        raise InputError(f"“{folded}”不是数字") from None


def parse_int(text: object, *, minimum: int | None = 0) -> int:
    value = _decimal(text, units=("万",))
    if value != value.to_integral_value():
        raise InputError("应为整数")
    if minimum is not None and value < minimum:
        raise InputError(f"不能小于 {minimum:,}")
    return int(value)


def parse_yuan(text: object, *, minimum: int | None = 0) -> int:
    """An amount in yuan -> integer fen."""
    value = _decimal(text, units=("万元", "万", "元"))
    fen = value * 100
    if fen != fen.to_integral_value():
        raise InputError("金额最多两位小数（分）")
    if minimum is not None and value < minimum:
        raise InputError(f"金额不能小于 {minimum:,} 元")
    return int(fen)


# -- places -------------------------------------------------------------------------------------
_COUNTY_BY_NAME = {name: code for code, name in XIANGXI_COUNTIES.items()}
_COUNTY_BY_NAME.update({name[:-1]: code for code, name in XIANGXI_COUNTIES.items()})  # 吉首, 泸溪, ...
_COUNTY_BY_NAME.update({"湘西州": XIANGXI_PREFECTURE_CODE, "湘西土家族苗族自治州": XIANGXI_PREFECTURE_CODE})


def parse_county(text: object) -> str:
    """A county-level division code ("" stays "": the field is optional where it is used)."""
    folded = fold(text)
    if not folded:
        return ""
    if folded.endswith(".0") and folded[:-2].isdigit():  # a numeric spreadsheet cell
        folded = folded[:-2]
    code = re.search(r"\d{6}", folded)
    name = re.sub(r"[\s()（）\d]", "", folded)
    if name and name in _COUNTY_BY_NAME:
        if code and code.group(0) != _COUNTY_BY_NAME[name]:
            raise InputError(f"{name} 的代码是 {_COUNTY_BY_NAME[name]}，不是 {code.group(0)}")
        return _COUNTY_BY_NAME[name]
    if code and not name and re.fullmatch(r"\d{6}", folded) and folded[0] != "0":
        return folded
    raise InputError("县市应填 6 位行政区划代码或湘西州的县市名称（如 433101 或 吉首市）")


def outside_prefecture(county: str) -> bool:
    """A valid division code that is not one of Xiangxi's (a warning, not a refusal)."""
    return bool(county) and county not in XIANGXI_COUNTIES and county != XIANGXI_PREFECTURE_CODE


def county_warning(county: str) -> str | None:
    if not outside_prefecture(county):
        return None
    return f"县市代码 {county} 不在湘西州（433100）辖区内，已照常登记，请核对"


# -- platforms and accounts -----------------------------------------------------------------------
_PLATFORM_ALIASES = {value: value for value in PLATFORMS}
_PLATFORM_ALIASES.update({name.lower(): value for value, name in PLATFORM_NAMES_ZH.items()})
_PLATFORM_ALIASES.update({
    "抖店": "douyin", "抖音小店": "douyin", "抖音电商": "douyin", "dy": "douyin", "tiktok中国": "douyin",
    "快手小店": "kuaishou", "ks": "kuaishou", "淘宝": "taobao", "天猫": "taobao", "点淘": "taobao", "tb": "taobao",
    "京东直播": "jd", "jingdong": "jd", "pdd": "pinduoduo", "多多直播": "pinduoduo", "微信视频号": "wechat_channels",
    "视频号小店": "wechat_channels", "wechat": "wechat_channels", "channels": "wechat_channels", "芒果": "mango",
    "芒果直播": "mango", "芒果扶贫云超市": "mango", "mgtv": "mango", "有赞微商城": "youzan", "其他": "other",
    "其它": "other",
})
PLATFORM_HINT = "平台应为 " + "、".join(PLATFORM_NAMES_ZH.values())


def parse_platform(text: object) -> str:
    folded = fold(text)
    value = _PLATFORM_ALIASES.get(folded.lower()) or _PLATFORM_ALIASES.get(re.sub(r"\s", "", folded).lower())
    if value is None:
        raise InputError(PLATFORM_HINT if folded else "请选择平台")
    return value


def parse_accounts(text: object) -> list[tuple[str, str]]:
    """"抖音:dy123；快手：ks9" -> [("douyin", "dy123"), ("kuaishou", "ks9")]."""
    accounts = []
    for part in filter(None, (p.strip() for p in re.split(r"[;,、\n]", fold(text)))):
        platform, sep, account = part.partition(":")
        if not sep:
            raise InputError(f"“{part}”应写成 平台:账号，例如 抖音:dy123")
        if not account.strip():
            raise InputError(f"“{part}”缺少账号，例如 抖音:dy123")
        accounts.append((parse_platform(platform), account.strip()))
    return accounts


def accounts_text(accounts: list[tuple[str, str]]) -> str:
    """The canonical form the importer stores: "douyin:dy123;kuaishou:ks9"."""
    return ";".join(f"{platform}:{account}" for platform, account in accounts)


# -- the rest ---------------------------------------------------------------------------------------
_YES = {"是", "有", "对", "√", "✓", "yes", "y", "true", "1"}
_NO = {"否", "无", "没有", "错", "×", "✗", "no", "n", "false", "0"}


def parse_yes_no(text: object, default: bool | None = None) -> bool:
    folded = fold(text).lower()
    if not folded and default is not None:
        return default
    if folded in _YES:
        return True
    if folded in _NO:
        return False
    raise InputError("应填 是 或 否")


def normalise_credit_code(text: object) -> str:
    """Upper case without spaces or dashes (an 18-character unified social credit code)."""
    return re.sub(r"[\s-]", "", fold(text)).upper()


def normalise_code(text: object) -> str:
    """A division or region code typed or pasted from a spreadsheet ("433101.0", " 433101 ")."""
    folded = re.sub(r"\s", "", fold(text))
    return folded[:-2] if folded.endswith(".0") and folded[:-2].isdigit() else folded


# -- field names ----------------------------------------------------------------------------------
# What each input field is called on forms and in messages; keys as in the JSON bodies and the
# import columns (the report keeps the key for programs and adds the name for people).
FIELD_NAMES_ZH = {
    "slug": "活动代码", "name": "名称", "first_day": "开始日期", "last_day": "结束日期", "freeze_at": "封榜时间",
    "boards": "展示的榜单", "status": "状态", "board": "榜单", "participant_id": "编号", "reason": "原因",
    "description": "说明", "platform": "平台", "account": "账号", "username": "用户名", "password": "密码",
    "role": "角色", "active": "启用", "kind": "类型", "region_code": "区划代码", "code": "区划代码",
    "parent_code": "上级区划代码", "id": "编号", "county": "县市", "accounts": "平台账号",
    "credit_code": "统一社会信用代码", "tax_compliant": "依法纳税", "enterprises": "所属企业",
    "target_yuan": "年度目标（元）", "target_fen": "年度目标（分）", "annual_target_fen": "年度目标",
    "year": "年份", "file": "文件", "host_id": "主播编号", "scope_key": "活动代码或年份",
    "min_net_gmv_fen": "最低净成交额", "min_order_count": "最低订单数", "amount_fen": "金额", "note": "备注",
    "quality_score": "服务质量评分", "volume_fen": "交易额", "state": "状态", "step": "评审环节",
    "decision": "评审结论", "policy": "升档规则", "scope": "范围", "category": "类别", "included": "入选",
    "notice_start": "公示开始日期", "notice_end": "公示结束日期", "template_ids": "订阅模板",
    "event_id": "事件编号", "type": "事件类型", "occurred_at": "发生时间", "campaign": "活动", "host": "主播",
    "enterprise": "企业", "order_id": "订单号", "refund_id": "退款单号", "live_id": "直播场次", "buyer": "买家",
    "product": "商品", "quantity": "数量", "peak_viewers": "最高在线人数", "total_viewers": "观看人数",
    "platforms": "可上报的平台", "campaigns": "可上报的活动",
    "_schema": "表单",
}


def field_name(key: Any) -> str:
    if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
        return f"第 {int(key) + 1} 项"  # an item of a list field
    return FIELD_NAMES_ZH.get(key, str(key))
