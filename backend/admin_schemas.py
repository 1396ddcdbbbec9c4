"""Request and response shapes of the JSON APIs (marshmallow): the organizer API (shared by the
console forms), and, for documentation only, the public read API, the mini-program API, the
webhook's replies and the health check.

The same classes validate organizer input and, through apispec, describe every API in
/v1/openapi.json (backend/openapi.py). Validation errors come back as ApiError 400 with
per-field messages in Chinese; the message names the fields in Chinese (FIELD_NAMES_ZH), the details
keep the keys for programs.

Input is read tolerantly (services/tolerant_input.py, the one place for it): dates as 2026/12/01 or
2026年12月1日, times in Beijing time, numbers with thousands separators ("10,000"), counties by name
("吉首市"), platforms by their Chinese names ("抖音").
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate

from configstore.accounts import ROLES
from configstore.places import STATION_KINDS
from domain.boards import BOARDS, PLATFORMS
from services import tolerant_input as tolerant
from services.errors import ApiError

_MESSAGES_ZH = {
    "Missing data for required field.": "缺少必填字段",
    "Field may not be null.": "不能为空",
    "Not a valid string.": "应为字符串",
    "Not a valid integer.": "应为整数",
    "Not a valid boolean.": "应为布尔值",
    "Not a valid date.": "日期格式应为 YYYY-MM-DD",
    "Not a valid datetime.": "时间格式应为 ISO 8601，例如 2026-06-30T20:00:00+08:00",
    "Not a valid list.": "应为数组",
    "Unknown field.": "未知字段",
    "Invalid input type.": "输入类型无效",
    "String does not match expected pattern.": "格式不正确",
}


def _zh(message: str) -> str:
    if message in _MESSAGES_ZH:
        return _MESSAGES_ZH[message]
    if message.startswith("Must be one of:"):
        return "取值只能是：" + message.split(":", 1)[1].strip().rstrip(".")
    match = re.match(r"Must be greater than or equal to (-?\d+)(?: and less than or equal to (-?\d+))?\.$", message)
    if match:
        low, high = match.groups()
        return f"应在 {low} 到 {high} 之间" if high else f"不能小于 {low}"
    match = re.match(r"(?:Length must be between (\d+) and (\d+)|Shorter than minimum length (\d+)|"
                     r"Longer than maximum length (\d+))", message)
    if match:
        low, high, minimum, maximum = match.groups()
        if low:
            return f"长度应在 {low} 到 {high} 之间"
        return f"长度至少为 {minimum}" if minimum else f"长度最多为 {maximum}"
    return message


def _translate(messages: Any) -> Any:
    if isinstance(messages, dict):
        return {k: _translate(v) for k, v in messages.items()}
    if isinstance(messages, list):
        return [_translate(m) for m in messages]
    return _zh(str(messages))


FIELD_NAMES_ZH = tolerant.FIELD_NAMES_ZH
field_name = tolerant.field_name


def _one_line(messages: Any) -> str:
    if isinstance(messages, list):
        return "；".join(_one_line(m) for m in messages)
    if isinstance(messages, dict):
        return "；".join(f"{field_name(k)}：{_one_line(v)}" for k, v in messages.items())
    return str(messages)


def field_messages(details: Any) -> dict[str, str]:
    """Per-field messages as one line each ({"first_day": "日期格式应为 YYYY-MM-DD"}), for forms."""
    if not isinstance(details, dict):
        return {}
    return {str(key): _one_line(messages) for key, messages in details.items()}


def describe_errors(details: Any) -> str:
    """"开始日期：日期格式应为 YYYY-MM-DD；名称：缺少必填字段" (the Chinese field names, never the keys)."""
    return "；".join(f"{field_name(key)}：{message}" for key, message in field_messages(details).items())


def load(schema: type[Schema], data: Any) -> dict:
    """Validate `data` against `schema`; ApiError 400 with Chinese per-field messages otherwise."""
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", "请求体应为 JSON 对象")
    try:
        return schema().load(data)
    except ValidationError as exc:
        details = _translate(exc.messages)
        raise ApiError(400, "validation_failed", f"请求参数无效：{describe_errors(details)}", details=details) from None


MAX_INT = 2**63 - 1  # the config store's integer columns are 64-bit (SQLite INTEGER, PostgreSQL BIGINT)


def _read(parse, value: Any, hint: str) -> Any:
    """`parse` (services.tolerant_input) on text; its Chinese message as the field's error. An empty
    field (a form's blank input) is a missing one."""
    if not isinstance(value, str):
        raise ValidationError(hint)
    if not value.strip():
        raise ValidationError(_MESSAGES_ZH["Missing data for required field."])
    try:
        return parse(value)
    except tolerant.InputError as exc:
        raise ValidationError(exc.message) from None


class WholeNumber(fields.Integer):
    """An integer; text may carry thousands separators or 万 ("10,000", "1.5万")."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            return _read(lambda text: tolerant.parse_int(text, minimum=None), value, "应为整数")
        return super()._deserialize(value, attr, data, **kwargs)


def whole(minimum: int = 0, **kwargs) -> fields.Integer:
    """An integer from `minimum` up to what the config store can hold (larger ones are a 400, not a crash)."""
    return WholeNumber(validate=validate.Range(min=minimum, max=MAX_INT), **kwargs)


_YEARS = (1900, 9998)  # what a campaign or a freeze can be: far from datetime's edges (no overflow in UTC)


def _in_years(value: date | datetime) -> date | datetime:
    if not _YEARS[0] <= value.year <= _YEARS[1]:
        raise ValidationError(f"年份应在 {_YEARS[0]} 到 {_YEARS[1]} 之间")
    return value


class Day(fields.Date):
    """A calendar day: 2026-12-01, 2026/12/01, 2026.12.01, 2026年12月1日, 20261201."""

    def _deserialize(self, value, attr, data, **kwargs):
        return _in_years(_read(tolerant.parse_date, value, tolerant.DATE_HINT))


class Moment(fields.AwareDateTime):
    """An instant: ISO 8601 with an offset, or a date and time without one, read as Beijing time."""

    def _deserialize(self, value, attr, data, **kwargs):
        return _in_years(_read(tolerant.parse_moment, value, "时间格式应为 YYYY-MM-DD HH:MM（北京时间）"))


class Platform(fields.String):
    """A platform value of the event contract, or its Chinese name ("抖音" -> douyin)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return _read(tolerant.parse_platform, value, "应为字符串")


# C0 control characters but tab, newline and carriage return: no spreadsheet export, certificate or
# WeChat message can carry them, so text with them is refused at the door.
_NO_CONTROL_CHARACTERS = validate.Regexp(r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$", error="不能包含控制字符")


def text(max_len: int, min_len: int = 1, **kwargs) -> fields.String:
    """Text of min_len..max_len characters, without control characters."""
    return fields.String(validate=[validate.Length(min=min_len, max=max_len), _NO_CONTROL_CHARACTERS], **kwargs)


def _boards(**kwargs) -> fields.List:
    return fields.List(fields.String(validate=validate.OneOf(BOARDS)), validate=validate.Length(min=1, max=2),
                       metadata={"description": "展示哪些榜单：hosts 主播榜、enterprises 企业榜"}, **kwargs)


def _freeze_at(**kwargs) -> fields.AwareDateTime:
    return Moment(allow_none=True, metadata={"description": "封榜时间（无时区时按北京时间）：此后榜单不再变动"}, **kwargs)


# -- input -----------------------------------------------------------------------------------
class CampaignCreate(Schema):
    slug = text(64, required=True, metadata={"description": "活动代码（URL 中使用），小写字母、数字、连字符"})
    name = text(200, required=True, metadata={"description": "活动名称"})
    first_day = Day(required=True, metadata={"description": "开始日期（北京时间，含）"})
    last_day = Day(required=True, metadata={"description": "结束日期（北京时间，含）"})
    freeze_at = _freeze_at(load_default=None)
    boards = _boards(load_default=list(BOARDS))


class CampaignUpdate(Schema):
    name = text(200)
    first_day = Day()
    last_day = Day()
    freeze_at = _freeze_at()
    boards = _boards()


class StatusChange(Schema):
    status = fields.String(required=True, validate=validate.OneOf(("active", "frozen", "closed")),
                           metadata={"description": "目标状态：active 启用、frozen 封榜、closed 结束"})


class DisqualifyIn(Schema):
    board = fields.String(required=True, validate=validate.OneOf(BOARDS))
    participant_id = text(64, required=True)
    reason = text(500, required=True, metadata={"description": "取消资格原因（公开展示）"})


def _scope_list(description: str, values: tuple[str, ...] | None = None) -> fields.List:
    item = fields.String(validate=validate.OneOf(values)) if values else text(64)
    return fields.List(item, load_default=None, allow_none=True, validate=validate.Length(min=1, max=500),
                       metadata={"description": description})


class SourceScopeIn(Schema):
    platforms = _scope_list("可上报的平台；省略或 null 为不限", PLATFORMS)
    campaigns = _scope_list("可上报的活动代码；省略或 null 为不限")
    enterprises = _scope_list("可代其上报的企业编号；省略或 null 为不限")


class SourceCreate(SourceScopeIn):
    name = text(64, required=True, metadata={"description": "来源名称，出现在 webhook 地址中"})
    description = text(200, min_len=0, load_default="")


class HeldRefund(Schema):
    source = fields.String(required=True)
    event_id = fields.String(required=True)
    platform = fields.String(required=True)
    order_id = fields.String(required=True)
    received_at = fields.DateTime(required=True)
    amount_fen = fields.Integer(required=True)
    campaign = fields.String(required=True)


class ConflictingEvent(Schema):
    source = fields.String(required=True)
    event_id = fields.String(required=True)
    detected_at = fields.DateTime(required=True)
    changed_fields = fields.List(fields.String(), required=True)
    stored = fields.Dict(required=True, metadata={"description": "先到、已计入的内容"})
    incoming = fields.Dict(required=True, metadata={"description": "后到、未计入的内容"})


class SetAside(Schema):
    health = fields.Dict(required=True, metadata={"description": "接入计数与后台组件（同 /healthz）"})
    held_refunds = fields.List(fields.Nested(HeldRefund), required=True)
    conflicts = fields.List(fields.Nested(ConflictingEvent), required=True)


class Reattribute(Schema):
    board = fields.String(required=True, validate=validate.OneOf(BOARDS))
    platform = Platform(required=True, metadata={"description": "平台：douyin 等，或中文名（抖音、快手、视频号……）"})
    account = text(64, required=True, metadata={"description": "事件中填写的主播或企业值（平台账号）"})
    participant_id = text(64, required=True, metadata={"description": "归属到的已登记主播或企业编号"})


class UserCreate(Schema):
    username = text(64, required=True)
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=10, max=200))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class UserUpdate(Schema):
    role = fields.String(validate=validate.OneOf(ROLES))
    active = fields.Boolean()
    password = fields.String(load_only=True, validate=validate.Length(min=10, max=200))


class TokenCreate(Schema):
    name = text(100, required=True, metadata={"description": "令牌用途，例如“每日导出脚本”"})
    username = text(64, metadata={"description": "令牌属于谁（仅管理员可填他人；默认自己）"})


class RegionCreate(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^\d{6,12}$"))
    name = text(100, required=True)
    parent_code = fields.String(required=True, validate=validate.Regexp(r"^\d{6,12}$"))


class StationCreate(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(tuple(STATION_KINDS)))
    region_code = text(12, required=True)
    name = text(200, required=True)

    @pre_load
    def _fold_code(self, data, **_kwargs):
        if isinstance(data, dict) and isinstance(data.get("region_code"), str):
            code = data["region_code"]
            try:  # a county may be given by name; townships and villages only by code
                code = tolerant.parse_county(code) if not tolerant.normalise_code(code).isdigit() else code
            except tolerant.InputError:
                pass  # left as typed: the region lookup names what is wrong
            data = {**data, "region_code": tolerant.normalise_code(code)}
        return data


# -- output (documentation) --------------------------------------------------------------------
class ErrorBody(Schema):
    code = fields.String(required=True, metadata={"description": "机器可读的错误代码（英文）"})
    message = fields.String(required=True, metadata={"description": "给人看的说明（简体中文）"})
    details = fields.Raw(metadata={"description": "可选的细节，例如逐字段的错误"})


class Error(Schema):
    error = fields.Nested(ErrorBody, required=True)


class Campaign(Schema):
    slug = fields.String()
    name = fields.String()
    first_day = fields.Date()
    last_day = fields.Date()
    status = fields.String(metadata={"description": "draft 草稿 / active 进行中 / frozen 已封榜 / closed 已结束"})
    freeze_at = fields.DateTime(allow_none=True)
    boards = fields.List(fields.String())


class CampaignList(Schema):
    campaigns = fields.List(fields.Nested(Campaign))


class Source(Schema):
    name = fields.String()
    description = fields.String()
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    active = fields.Boolean()
    active_secrets = fields.Integer()
    platforms = fields.List(fields.String(), allow_none=True, metadata={"description": "可上报的平台；null 为不限"})
    campaigns = fields.List(fields.String(), allow_none=True, metadata={"description": "可上报的活动；null 为不限"})
    enterprises = fields.List(fields.String(), allow_none=True, metadata={"description": "可代其上报的企业；null 为不限"})


class SourceSecret(Schema):
    name = fields.String()
    secret = fields.String(metadata={"description": "签名密钥，只显示这一次"})
    webhook_url = fields.String()


class ImportRowError(Schema):
    row = fields.Integer()
    field = fields.String(metadata={"description": "列（英文键，例如 county）"})
    field_name = fields.String(metadata={"description": "列的中文名，例如 县市"})
    message = fields.String()


class ImportReport(Schema):
    hosts = fields.Integer()
    enterprises = fields.Integer()
    kept = fields.Integer()
    bad_rows = fields.Integer()
    errors = fields.List(fields.Nested(ImportRowError))
    warnings = fields.List(fields.Nested(ImportRowError),
                           metadata={"description": "已导入但需核对的行（例如县市不在湘西州辖区内）"})


class UnattributedGroup(Schema):
    campaign = fields.String()
    platform = fields.String()
    host = fields.String()
    enterprise = fields.String()
    reasons = fields.List(fields.String())
    reasons_zh = fields.List(fields.String())
    net_gmv_fen = fields.Integer()
    order_count = fields.Integer()
    refund_count = fields.Integer()
    first_day = fields.Date()
    last_day = fields.Date()


class User(Schema):
    id = fields.Integer()
    username = fields.String()
    role = fields.String()
    active = fields.Boolean()
    created_at = fields.DateTime(allow_none=True, metadata={"description": "仅用户列表中给出"})


class Token(Schema):
    id = fields.Integer()
    username = fields.String()
    name = fields.String()
    hint = fields.String()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True, metadata={"description": "到期时间（创建后一年），之后需新建令牌"})
    revoked = fields.Boolean()


class TokenCreated(Token):
    token = fields.String(metadata={"description": "令牌本身，只显示这一次"})


class AuditEntry(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    action = fields.String(metadata={"description": "create / update / delete"})
    target_type = fields.String(metadata={"description": "表名，例如 campaigns"})
    target_id = fields.String()
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)


# -- public read API (miniprogram_api/boards.py, periods.py; documentation) ---------------------
def _int(**kwargs) -> fields.Integer:
    return fields.Integer(required=True, **kwargs)


MOVEMENTS = ("up", "down", "same", "new")


class _Totals(Schema):
    """What a board line and a breakdown row both show: the sums of one participant or value."""
    name = fields.String(required=True)
    net_gmv_fen = _int(metadata={"description": "净成交额（分）= 支付 − 退款"})
    paid_fen = _int()
    refunded_fen = _int()
    order_count = _int()
    refund_count = _int()
    units = _int()
    buyers = fields.Integer(required=True, allow_none=True, metadata={"description": "去重买家数（仅前十名）"})
    refund_rate = fields.Float(required=True)


class BoardEntry(_Totals):
    rank = _int()
    previous_rank = fields.Integer(required=True, allow_none=True, metadata={"description": "上次变动前的名次"})
    movement = fields.String(required=True, validate=validate.OneOf(MOVEMENTS))
    id = fields.String(required=True, metadata={"description": "主播或企业编号"})
    reached_at = fields.DateTime(required=True, metadata={"description": "达到当前金额的时间（并列时先到者在前）"})


class PublicBoardEntry(Schema):
    """A board line as anyone may see it (the board page and the mini-program show these fields)."""
    rank = _int()
    previous_rank = fields.Integer(required=True, allow_none=True, metadata={"description": "上次变动前的名次"})
    movement = fields.String(required=True, validate=validate.OneOf(MOVEMENTS))
    id = fields.String(required=True, metadata={"description": "主播或企业编号"})
    name = fields.String(required=True)
    net_gmv_fen = _int(metadata={"description": "净成交额（分）= 支付 − 退款"})
    order_count = _int()
    units = _int()
    buyers = fields.Integer(required=True, allow_none=True, metadata={"description": "去重买家数（仅前十名）"})


def _entries() -> fields.List:
    return fields.List(fields.Nested(PublicBoardEntry), required=True, validate=validate.Length(max=10))


def _campaign() -> fields.Nested:
    return fields.Nested(Campaign, required=True)


class _BothBoards(Schema):
    campaign = _campaign()
    period_key = fields.String(required=True)
    hosts = _entries()
    enterprises = _entries()


class Boards(_BothBoards):
    """period=campaign|today: both boards as last published (ETag / Last-Modified)."""
    period = fields.String(required=True, validate=validate.OneOf(("campaign", "today")))
    frozen = fields.Boolean(required=True)
    updated_at = fields.DateTime(required=True, allow_none=True)


class PeriodBoards(_BothBoards):
    """period=day|week|month|year (or a key): both boards computed on demand."""
    period = fields.String(required=True, validate=validate.OneOf(("day", "week", "month", "year", "campaign")))
    period_name = fields.String(required=True)
    first_day = fields.Date(required=True)
    last_day = fields.Date(required=True)
    computed_at = fields.DateTime(required=True)
    source = fields.String(required=True, validate=validate.OneOf(("computed", "frozen")),
                           metadata={"description": "frozen：活动已封榜，为封榜时的榜单"})
    frozen_at = fields.DateTime(required=True, allow_none=True)
    ranked_hosts = _int()
    ranked_enterprises = _int()


def _rank_card(required: bool) -> dict[str, fields.Field]:
    return {
        "id": fields.String(required=required), "name": fields.String(required=required),
        "rank": fields.Integer(required=required), "previous_rank": fields.Integer(required=required, allow_none=True),
        "movement": fields.String(required=required, validate=validate.OneOf(MOVEMENTS)),
        "net_gmv_fen": fields.Integer(required=required),
        "gap_to_above_fen": fields.Integer(required=required, allow_none=True,
                                           metadata={"description": "与上一名的差距；第一名为 null"}),
        "gap_to_top10_fen": fields.Integer(required=required, metadata={"description": "进入前十还差多少（分）；已在前十为 0"}),
        "in_top10": fields.Boolean(required=required), "total_ranked": fields.Integer(required=required),
        "updated_at": fields.DateTime(required=required),
    }


RankCard = Schema.from_dict(_rank_card(required=True), name="RankCard")


class CountyGmv(Schema):
    county = fields.String(required=True)
    net_gmv_fen = _int()


class Summary(Schema):
    campaign = _campaign()
    updated_at = fields.DateTime(required=True, allow_none=True)
    net_gmv_fen = _int()
    paid_fen = _int()
    refunded_fen = _int()
    order_count = _int()
    refund_count = _int()
    units = _int()
    ranked_hosts = _int()
    ranked_enterprises = _int()
    net_gmv_by_county = fields.List(fields.Nested(CountyGmv), required=True)
    unattributed = fields.Dict(required=True, metadata={"description": "按榜单的未归属销售合计"})


class BreakdownRow(_Totals):
    rank = _int()
    value = fields.String(required=True, metadata={"description": "县市代码、品类或平台"})
    share = fields.Float(required=True, metadata={"description": "占净成交额的比例"})


class Breakdown(Schema):
    campaign = _campaign()
    dimension = fields.String(required=True, validate=validate.OneOf(("county", "category", "platform")))
    dimension_name = fields.String(required=True)
    period = fields.String(required=True)
    period_key = fields.String(required=True)
    first_day = fields.Date(required=True)
    last_day = fields.Date(required=True)
    net_gmv_fen = fields.Integer(required=True, metadata={"description": "各行之和（含净额为负的行）"})
    rows = fields.List(fields.Nested(BreakdownRow), required=True)
    computed_at = fields.DateTime(required=True)
    source = fields.String(required=True, validate=validate.OneOf(("computed", "frozen")))
    frozen_at = fields.DateTime(required=True, allow_none=True)


class PublishedDay(_BothBoards):
    period = fields.String(required=True, validate=validate.OneOf(("day",)))
    source = fields.String(required=True, validate=validate.OneOf(("snapshot",)))
    hosts_published_at = fields.DateTime(required=True, allow_none=True)
    hosts_computed_at = fields.DateTime(required=True, allow_none=True)
    hosts_content_hash = fields.String(required=True, allow_none=True)
    enterprises_published_at = fields.DateTime(required=True, allow_none=True)
    enterprises_computed_at = fields.DateTime(required=True, allow_none=True)
    enterprises_content_hash = fields.String(required=True, allow_none=True)


# -- mini-program API (miniprogram_api/mp_*.py; documentation) ----------------------------------
class MpCode(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=128),
                         metadata={"description": "wx.login() 的 code，或组织方给出的 8 位绑定码"})


class MpTemplateIds(Schema):
    template_ids = fields.List(fields.String(), required=True, validate=validate.Length(max=10),
                               metadata={"description": "用户同意的订阅消息模板 id"})


class MpUser(Schema):
    id = _int()


class MpHost(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    county = fields.String(required=True, allow_none=True)
    county_name = fields.String(required=True)
    bound_at = fields.DateTime(required=True)


class MpLogin(Schema):
    token = fields.String(required=True, metadata={"description": "会话令牌（mps_…），用作 Authorization: Bearer"})
    token_type = fields.String(required=True, validate=validate.OneOf(("Bearer",)))
    expires_at = fields.DateTime(required=True)
    user = fields.Nested(MpUser, required=True)
    host = fields.Nested(MpHost, required=True, allow_none=True)


class MpBound(Schema):
    host = fields.Nested(MpHost, required=True)


class MpMe(Schema):
    user = fields.Nested(MpUser, required=True)
    bound = fields.Boolean(required=True)
    host = fields.Nested(MpHost, required=True, allow_none=True)


class MpCampaign(Campaign):
    my_rank = fields.Integer(required=True, allow_none=True)
    net_gmv_fen = _int()


class MpCampaigns(Schema):
    campaigns = fields.List(fields.Nested(MpCampaign), required=True)


class MpHostRef(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)


# a rank card (all fields) when ranked; only period_key and ranked otherwise
MpPeriodRank = Schema.from_dict({"period_key": fields.String(required=True), "ranked": fields.Boolean(required=True),
                                 **_rank_card(required=False)}, name="MpPeriodRank")


class MpRankPeriods(Schema):
    campaign = fields.Nested(MpPeriodRank, required=True)
    today = fields.Nested(MpPeriodRank, required=True)


class MpRank(Schema):
    campaign = _campaign()
    board = fields.String(required=True, validate=validate.OneOf(("hosts",)))
    host = fields.Nested(MpHostRef, required=True)
    periods = fields.Nested(MpRankPeriods, required=True)
    frozen = fields.Boolean(required=True)


class MpDay(Schema):
    day = fields.Date(required=True)
    net_gmv_fen = _int()


class MpDaily(Schema):
    campaign = _campaign()
    host = fields.Nested(MpHostRef, required=True)
    days = fields.List(fields.Nested(MpDay), required=True)
    total_net_gmv_fen = _int()


class MpAwards(Schema):
    host = fields.Nested(MpHostRef, required=True)
    awards = fields.List(fields.Dict(), required=True)


class MpTemplate(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(("rank", "award", "milestone")))
    template_id = fields.String(required=True)
    title = fields.String(required=True)


class MpSubscriptions(Schema):
    templates = fields.List(fields.Nested(MpTemplate), required=True)
    credits = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                          metadata={"description": "每个模板剩余的可推送次数"})


class BindCode(Schema):
    host_id = fields.String(required=True)
    code = fields.String(required=True, metadata={"description": "一次性绑定码"})
    display = fields.String(required=True)
    expires_at = fields.DateTime(required=True)
    wxacode_png_base64 = fields.String(required=True, allow_none=True, metadata={"description": "小程序码（PNG）"})
    warning = fields.String(required=True, allow_none=True)


class HostBindingStatus(Schema):
    host_id = fields.String(required=True)
    bound = fields.Boolean(required=True)
    bound_at = fields.DateTime(required=True, allow_none=True)


class HostUnbound(Schema):
    host_id = fields.String(required=True)
    unbound = fields.Boolean(required=True)


# -- the webhook's 202 and the health check (documentation) -------------------------------------
class EventFieldError(Schema):
    field = fields.String(required=True, metadata={"description": "出错的字段，例如 amount_fen 或 product.sku"})
    code = fields.String(required=True, metadata={"description": "JSON Schema 关键字或 too_old / in_future / format"})
    message = fields.String(required=True)


class WebhookItem(Schema):
    index = _int()
    event_id = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(("accepted", "rejected")))
    errors = fields.List(fields.Nested(EventFieldError))


class WebhookAccepted(Schema):
    accepted = _int(metadata={"description": "写入事件日志的事件数"})
    rejected = _int()
    event_ids = fields.List(fields.String(), metadata={"description": "单个事件时：接受的 event_id"})
    results = fields.List(fields.Nested(WebhookItem), metadata={"description": "批量时：逐条结果"})
    replayed = fields.Boolean(metadata={"description": "同一 webhook-id 与请求体的重放：按首次的结果回答，未再次写入"})


class Health(Schema):
    status = fields.String(required=True, validate=validate.OneOf(("ok", "unhealthy")))
    problems = fields.List(fields.String(validate=validate.OneOf(("writer_down", "writer_lagging"))), required=True)
    event_log = fields.String(required=True, validate=validate.OneOf(("sqlite", "kafka")))
    store = fields.String(required=True, validate=validate.OneOf(("chdb", "clickhouse")))
    max_writer_lag = fields.Integer(required=True)
    components = fields.Dict(keys=fields.String(), values=fields.Dict(), required=True,
                             metadata={"description": "writer / scheduler / connector：status, instances, restarts, "
                                                      "last_error, lag, last_batch_at, last_ranking_at"})
    counters = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class Live(Schema):
    status = fields.String(required=True, validate=validate.OneOf(("ok",)))
