"""Request and response shapes of the organizer API (marshmallow), shared by the console forms.

The same classes validate input and, through apispec, describe it in /v1/openapi.json.
Validation errors come back as ApiError 400 with per-field messages in Chinese.
"""
from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import Schema, ValidationError, fields, validate

from backend.errors import ApiError
from configstore.accounts import ROLES
from configstore.places import STATION_KINDS
from configstore.registry import ALL_BOARDS

SHANGHAI = ZoneInfo("Asia/Shanghai")

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


def load(schema: type[Schema], data: Any) -> dict:
    """Validate `data` against `schema`; ApiError 400 with Chinese per-field messages otherwise."""
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", "请求体应为 JSON 对象")
    try:
        return schema().load(data)
    except ValidationError as exc:
        raise ApiError(400, "validation_failed", "请求参数无效", details=_translate(exc.messages)) from None


def _text(max_len: int, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=max_len), **kwargs)


def _boards(**kwargs) -> fields.List:
    return fields.List(fields.String(validate=validate.OneOf(ALL_BOARDS)), validate=validate.Length(min=1, max=2),
                       metadata={"description": "展示哪些榜单：hosts 主播榜、enterprises 企业榜"}, **kwargs)


def _freeze_at(**kwargs) -> fields.AwareDateTime:
    return fields.AwareDateTime(default_timezone=SHANGHAI, allow_none=True,
                                metadata={"description": "封榜时间（无时区时按上海时间）：此后榜单不再变动"}, **kwargs)


# -- input -----------------------------------------------------------------------------------
class CampaignCreate(Schema):
    slug = _text(64, required=True, metadata={"description": "活动代码（URL 中使用），小写字母、数字、连字符"})
    name = _text(200, required=True, metadata={"description": "活动名称"})
    first_day = fields.Date(required=True, metadata={"description": "开始日期（上海时间，含）"})
    last_day = fields.Date(required=True, metadata={"description": "结束日期（上海时间，含）"})
    freeze_at = _freeze_at(load_default=None)
    boards = _boards(load_default=list(ALL_BOARDS))


class CampaignUpdate(Schema):
    name = _text(200)
    first_day = fields.Date()
    last_day = fields.Date()
    freeze_at = _freeze_at()
    boards = _boards()


class StatusChange(Schema):
    status = fields.String(required=True, validate=validate.OneOf(("active", "frozen", "closed")),
                           metadata={"description": "目标状态：active 启用、frozen 封榜、closed 结束"})


class DisqualifyIn(Schema):
    board = fields.String(required=True, validate=validate.OneOf(ALL_BOARDS))
    participant_id = _text(64, required=True)
    reason = _text(500, required=True, metadata={"description": "取消资格原因（公开展示）"})


class SourceCreate(Schema):
    name = _text(64, required=True, metadata={"description": "来源名称，出现在 webhook 地址中"})
    description = fields.String(validate=validate.Length(max=200), load_default="")


class Reattribute(Schema):
    board = fields.String(required=True, validate=validate.OneOf(ALL_BOARDS))
    platform = _text(32, required=True)
    account = _text(64, required=True, metadata={"description": "事件中填写的主播或企业值（平台账号）"})
    participant_id = _text(64, required=True, metadata={"description": "归属到的已登记主播或企业编号"})


class UserCreate(Schema):
    username = _text(64, required=True)
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=10, max=200))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class UserUpdate(Schema):
    role = fields.String(validate=validate.OneOf(ROLES))
    active = fields.Boolean()
    password = fields.String(load_only=True, validate=validate.Length(min=10, max=200))


class TokenCreate(Schema):
    name = _text(100, required=True, metadata={"description": "令牌用途，例如“每日导出脚本”"})
    username = _text(64, metadata={"description": "令牌属于谁（仅管理员可填他人；默认自己）"})


class RegionCreate(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^\d{6,12}$"))
    name = _text(100, required=True)
    parent_code = fields.String(required=True, validate=validate.Regexp(r"^\d{6,12}$"))


class StationCreate(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(tuple(STATION_KINDS)))
    region_code = fields.String(required=True)
    name = _text(200, required=True)


# -- output (documentation) --------------------------------------------------------------------
class ErrorBody(Schema):
    code = fields.String(metadata={"description": "机器可读的错误代码（英文）"})
    message = fields.String(metadata={"description": "给人看的说明（简体中文）"})
    details = fields.Raw(metadata={"description": "可选的细节，例如逐字段的错误"})


class Error(Schema):
    error = fields.Nested(ErrorBody)


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


class SourceSecret(Schema):
    name = fields.String()
    secret = fields.String(metadata={"description": "签名密钥，只显示这一次"})
    webhook_url = fields.String()


class ImportRowError(Schema):
    row = fields.Integer()
    field = fields.String()
    message = fields.String()


class ImportReport(Schema):
    hosts = fields.Integer()
    enterprises = fields.Integer()
    kept = fields.Integer()
    bad_rows = fields.Integer()
    errors = fields.List(fields.Nested(ImportRowError))


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


class Token(Schema):
    id = fields.Integer()
    username = fields.String()
    name = fields.String()
    hint = fields.String()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
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
