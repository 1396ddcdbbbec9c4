"""/v1/openapi.json (OpenAPI 3, built with apispec from the declared operations and their
marshmallow schemas) and /v1/docs, a server-rendered page listing the same document.

Every JSON endpoint is in it: the organizer API from its `operation(...)` declarations
(backend/admin_api.py, backend/awards_api.py), and the endpoints declared with plain Flask routes
elsewhere (the webhook, the public read API, the mini-program API, host binding, /healthz) from
the table `ENDPOINTS` below. Each error response lists the `error.code` values it can carry.
"""
from __future__ import annotations

import functools
import re
from collections import defaultdict
from dataclasses import dataclass, field

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, jsonify, render_template

from backend import admin_schemas as S
from backend.admin_api import operations
from backend.connector_push import ERRORS as PUSH_ERRORS
from backend.connector_push import PushAddressSchema, PushReplySchema
from backend.webhooks import ERRORS as WEBHOOK_ERRORS
from configstore.accounts import ROLE_NAMES_ZH
from schemas.events import load_schema

bp = Blueprint("api_docs", __name__, template_folder="templates")

_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_ERROR_TEXT = {
    400: "请求参数无效（逐字段说明见 error.details）",
    401: "未认证或认证无效",
    403: "当前角色无权执行此操作",
    404: "资源不存在",
    405: "不支持该请求方法",
    409: "与现有状态冲突",
    413: "请求体过大",
    415: "不支持的 Content-Type",
    429: "请求过于频繁",
    500: "服务器配置错误",
    502: "上游服务（微信）出错",
    503: "服务暂时不可用",
}
_STANDARD_ADMIN_ERRORS: dict[int, tuple[str, ...]] = {400: (), 401: ("unauthorized", "invalid_token"),
                                                       403: ("forbidden",), 404: (), 409: ()}
_INTEGER = {"type": "integer", "minimum": 0, "maximum": S.MAX_INT}
_RETRY_AFTER = {"Retry-After": {"description": "多少秒后重试", "schema": {"type": "integer"}}}
_WWW_AUTHENTICATE = {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}}


@dataclass(frozen=True)
class Endpoint:
    """A JSON endpoint declared with a plain Flask route (not with backend.admin_api.operation)."""

    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    response: type | tuple[type, ...]  # a marshmallow schema; several: any of them
    status: int = 200
    security: str | None = None  # "mpSession" (mini-program session) or "bearer" (organizer API token)
    role: str | None = None  # for "bearer": the least role
    body: type | dict | None = None  # a marshmallow schema, or an OpenAPI schema
    params: tuple[dict, ...] = ()
    errors: dict[int, tuple[str, ...]] = field(default_factory=dict)
    conditional: bool = False  # ETag / Last-Modified: answers 304 to a matching If-None-Match / If-Modified-Since
    also: dict[int, type] = field(default_factory=dict)  # other statuses answered with a schema of their own


def _query(name: str, schema: dict, description: str, required: bool = False) -> dict:
    return {"in": "query", "name": name, "required": required, "schema": schema, "description": description}


_PERIOD = _query("period", {"type": "string", "enum": ["campaign", "today", "day", "week", "month", "year"],
                            "default": "campaign"},
                 "campaign 活动总榜、today 今日（已发布的榜单）；day、week、month、year 按需计算（Asia/Shanghai）")
_PUBLISHED_PERIOD = _query("period", {"type": "string", "enum": ["campaign", "today"], "default": "campaign"},
                           "campaign 活动总榜或 today 今日")
_ON_DEMAND_PERIOD = _query("period", {"type": "string", "enum": ["day", "week", "month", "year", "campaign"],
                                      "default": "campaign"}, "周期（Asia/Shanghai）")
_KEY = _query("key", {"type": "string"}, "周期键，例如 2026-06-01、2026-W23、2026-06、2026；省略为当前周期")
_BOARD = {"in": "path", "name": "board", "required": True,
          "schema": {"type": "string", "enum": ["hosts", "enterprises"]}}
_CAMPAIGN_404: dict[int, tuple[str, ...]] = {404: ("campaign_not_found",)}
_MP_401 = ("login_required", "session_expired")
_MP_HOST = {401: _MP_401, 403: ("not_bound",)}
_HOST_ADMIN_401 = ("unauthorized", "invalid_token", "admin_auth_unavailable")
_BODY_413 = ("payload_too_large",)
_PUBLIC, _MP, _BINDING = "公开榜单", "小程序", "主播绑定（组织者）"
_EVENTS = {"anyOf": [{"$ref": "#/components/schemas/SalesEvent"}, {"$ref": "#/components/schemas/EventBatch"}],
           "description": '一个事件，或 {"events": [...]}（最多 500 个、1 MiB）'}

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("POST", "/v1/webhooks/{source_name}", "receive_webhook", "接收平台推送的销售事件（Standard Webhooks 签名）",
             "事件推送", S.WebhookAccepted, status=202, body=_EVENTS, errors=WEBHOOK_ERRORS,
             params=tuple({"in": "header", "name": name, "required": True, "schema": {"type": "string"},
                           "description": description} for name, description in (
                 ("webhook-id", "消息 id（重放同一消息是安全的：5 分钟内同一 id 与请求体按首次结果回答 202，"
                                "带 replayed: true，不再写入；事件按 event_id 幂等）"),
                 ("webhook-timestamp", "Unix 时间戳（整数秒，仅限 ASCII 数字），与服务器时间相差不得超过 5 分钟"),
                 ("webhook-signature", "v1,<base64 HMAC-SHA256(id.timestamp.body)>，可空格分隔多个（轮换密钥）；"
                                       "格式不对的条目被跳过")))),
    Endpoint("POST", "/v1/connectors/{connection}/push", "receive_platform_push",
             "接收平台原生消息推送（抖店、快手小店、微信小店、有赞；按平台的签名或加密校验）", "事件推送",
             PushReplySchema, errors=PUSH_ERRORS,
             body={"type": "string", "description": "平台推送的原始内容，原样校验（见 docs/platforms.md）"}),
    Endpoint("GET", "/v1/connectors/{connection}/push", "check_platform_push",
             "微信小店推送地址校验（回显 echostr）；其他平台：推送地址可用", "事件推送", (PushAddressSchema, PushReplySchema),
             errors={401: ("push_rejected",), 404: ("unknown_connection",)}),
    Endpoint("GET", "/v1/campaigns", "public_campaigns", "进行中、已封榜和已结束的活动", _PUBLIC, S.CampaignList),
    Endpoint("GET", "/v1/campaigns/{slug}/boards", "public_boards", "主播榜和企业榜（前十）", _PUBLIC,
             (S.Boards, S.PeriodBoards), params=(_PERIOD, _KEY), conditional=True,
             errors={400: ("invalid_period", "invalid_period_key"), **_CAMPAIGN_404}),
    Endpoint("GET", "/v1/campaigns/{slug}/boards/{board}/participants/{participant_id}", "public_rank_card",
             "一个参与者的名次卡（名次、与上一名和第十名的差距）", _PUBLIC, S.RankCard,
             params=(_BOARD, _PUBLISHED_PERIOD), conditional=True,
             errors={400: ("invalid_period",),
                     404: ("campaign_not_found", "board_not_found", "participant_not_ranked")}),
    Endpoint("GET", "/v1/campaigns/{slug}/summary", "public_summary", "活动汇总（成交额、订单、按县市、未归属）", _PUBLIC,
             S.Summary, errors=_CAMPAIGN_404),
    Endpoint("GET", "/v1/campaigns/{slug}/breakdown", "public_breakdown", "按县市、品类或平台的成交额分布", _PUBLIC,
             S.Breakdown, errors={400: ("invalid_dimension", "invalid_period", "invalid_period_key"), **_CAMPAIGN_404},
             params=(_query("dimension", {"type": "string", "enum": ["county", "category", "platform"],
                                          "default": "county"}, "维度"), _ON_DEMAND_PERIOD, _KEY)),
    Endpoint("GET", "/v1/campaigns/{slug}/boards/history", "public_board_history", "某一天当时发布的榜单", _PUBLIC,
             S.PublishedDay, params=(_query("day", {"type": "string", "format": "date"}, "YYYY-MM-DD", True),),
             errors={400: ("invalid_day",), 404: ("campaign_not_found", "snapshot_not_found")}),
    Endpoint("POST", "/v1/mp/login", "mp_login", "小程序登录：wx.login() 的 code 换取会话令牌", _MP, S.MpLogin,
             body=S.MpCode, errors={400: ("invalid_json", "invalid_code"), 401: ("invalid_code",), 413: _BODY_413,
                                    502: ("wechat_error",), 503: ("wechat_unavailable",)}),
    Endpoint("POST", "/v1/mp/bind", "mp_bind", "输入组织方给出的绑定码，绑定主播身份", _MP, S.MpBound,
             security="mpSession", body=S.MpCode,
             errors={400: ("invalid_json", "invalid_bind_code"), 401: _MP_401, 413: _BODY_413,
                     429: ("too_many_attempts",)}),
    Endpoint("GET", "/v1/mp/me", "mp_me", "当前微信用户及其绑定的主播", _MP, S.MpMe, security="mpSession",
             errors={401: _MP_401}),
    Endpoint("GET", "/v1/mp/me/campaigns", "mp_my_campaigns", "我参加的活动及我的名次", _MP, S.MpCampaigns,
             security="mpSession", errors=_MP_HOST),
    Endpoint("GET", "/v1/mp/me/campaigns/{slug}/rank", "mp_my_rank", "我的名次卡（活动总榜和今日）", _MP, S.MpRank,
             security="mpSession", errors={**_MP_HOST, **_CAMPAIGN_404}),
    Endpoint("GET", "/v1/mp/me/campaigns/{slug}/daily", "mp_my_daily", "我最近 14 天每天的净成交额", _MP, S.MpDaily,
             security="mpSession", errors={**_MP_HOST, **_CAMPAIGN_404}),
    Endpoint("GET", "/v1/mp/me/awards", "mp_my_awards", "我的奖项", _MP, S.MpAwards, security="mpSession",
             errors=_MP_HOST),
    Endpoint("GET", "/v1/mp/subscriptions", "mp_subscriptions", "可订阅的消息模板和剩余推送次数", _MP,
             S.MpSubscriptions, security="mpSession", errors={401: _MP_401}),
    Endpoint("POST", "/v1/mp/subscriptions", "mp_accept_subscriptions", "报告用户同意的订阅消息模板（每个加一次推送）", _MP,
             S.MpSubscriptions, security="mpSession", body=S.MpTemplateIds,
             errors={400: ("invalid_json", "invalid_template_ids", "unknown_template"), 401: _MP_401,
                     413: _BODY_413}),
    Endpoint("POST", "/v1/admin/hosts/{host_id}/bind-code", "issue_bind_code", "为主播生成一次性绑定码（及小程序码）",
             _BINDING, S.BindCode, status=201, security="bearer", role="operator",
             params=(_query("image", {"type": "string"}, "0 表示不生成小程序码"),),
             errors={401: _HOST_ADMIN_401, 403: ("forbidden",), 404: ("host_not_found",)}),
    Endpoint("GET", "/v1/admin/hosts/{host_id}/binding", "get_host_binding", "主播是否已绑定微信", _BINDING,
             S.HostBindingStatus, security="bearer", role="viewer",
             errors={401: _HOST_ADMIN_401, 404: ("host_not_found",)}),
    Endpoint("DELETE", "/v1/admin/hosts/{host_id}/binding", "delete_host_binding", "解除主播与微信的绑定", _BINDING,
             S.HostUnbound, security="bearer", role="operator",
             errors={401: _HOST_ADMIN_401, 403: ("forbidden",), 404: ("host_not_found",)}),
    Endpoint("GET", "/healthz", "healthz", "健康检查：写入器、定时任务、积压和计数器（写入器停止或积压过多时 503）",
             "运行状态", S.Health, also={503: S.Health}),
    Endpoint("GET", "/livez", "livez", "进程存活检查（不检查后台组件）", "运行状态", S.Live),
)


def _schema_name(schema) -> str:
    return (schema if isinstance(schema, type) else type(schema)).__name__


@functools.lru_cache(maxsize=1)
def build_spec() -> dict:
    spec = APISpec(
        title="Liveboard API", version="1.0.0", openapi_version="3.0.3",
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
        info={"description": "湘西州直播带货活动的接口：组织者（/v1/admin，`Authorization: Bearer <令牌>`，在控制台"
                             "“API 令牌”页或 `liveboard admin token` 创建）、平台推送（/v1/webhooks，Standard Webhooks "
                             "签名）、公开榜单（/v1/campaigns）和小程序（/v1/mp，登录得到的会话令牌）。错误统一为 "
                             '`{"error": {"code", "message", "details"}}`，message 为简体中文。'},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})  # organizer API tokens (lbt_…)
    spec.components.security_scheme("mpSession", {"type": "http", "scheme": "bearer", "bearerFormat": "mps_…",
                                                  "description": "小程序会话令牌：POST /v1/mp/login 的 token"})
    spec.components.schema("Error", schema=S.Error)
    _event_schemas(spec)
    by_path: dict[str, dict] = defaultdict(dict)
    for op in _all_operations():
        by_path[op.path][op.method.lower()] = _admin_item(spec, op)
    for endpoint in ENDPOINTS:
        by_path[endpoint.path][endpoint.method.lower()] = _endpoint_item(spec, endpoint)
    for path, items in by_path.items():
        spec.path(path=path, operations=items)
    return spec.to_dict()


def _admin_item(spec: APISpec, op) -> dict:
    parameters = [_path_param(name, converter) for converter, name in _rule_params(op.rule)]
    parameters += [_query(name, {**_INTEGER} if kind == "integer" else {"type": kind}, description)
                   for name, kind, description in op.query]
    if op.media_type != "application/json":
        success = _success({op.media_type: {"schema": {"type": "string", "format": "binary"}}})
    else:
        schema = _ref(spec, op.response) if op.response is not None else {"type": "object"}
        if op.many:  # a list under one key, e.g. {"sources": [...]}
            schema = {"type": "object", "properties": {op.many: {"type": "array", "items": schema}}}
        success = _success({"application/json": {"schema": schema}})
    errors = {status: codes for status, codes in _STANDARD_ADMIN_ERRORS.items()
              if not (status == 403 and op.role == "viewer" and not op.writes)}
    if op.body is not None or op.multipart:
        errors[413] = _BODY_413
    item = {
        "operationId": op.endpoint, "summary": op.summary, "tags": [op.tag],
        "description": f"所需角色：{ROLE_NAMES_ZH[op.role]}（{op.role}）及以上",
        "security": [{"bearer": []}], "parameters": parameters,
        "responses": {str(op.status): success, **_error_responses(errors)},
        "x-required-role": op.role,
    }
    if op.body is not None:
        item["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(spec, op.body)}}}
    if op.multipart:
        item["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary", "description": ".csv 或 .xlsx"}}}}}}
    return item


def _endpoint_item(spec: APISpec, endpoint: Endpoint) -> dict:
    declared = {p["name"] for p in endpoint.params if p["in"] == "path"}
    parameters = [_path_param(name) for name in re.findall(r"{(\w+)}", endpoint.path) if name not in declared]
    parameters += list(endpoint.params)
    if isinstance(endpoint.response, tuple):
        schema = {"anyOf": [_ref(spec, one) for one in endpoint.response]}
    else:
        schema = _ref(spec, endpoint.response)
    responses = {str(endpoint.status): _success({"application/json": {"schema": schema}})}
    if endpoint.conditional:
        parameters += [{"in": "header", "name": name, "required": False, "schema": {"type": "string"},
                        "description": "条件请求：未变化时返回 304"} for name in ("If-None-Match", "If-Modified-Since")]
        responses["304"] = {"description": "未变化（ETag / Last-Modified 匹配），无响应体"}
    responses.update(_error_responses(endpoint.errors))
    for status, other in endpoint.also.items():
        responses[str(status)] = {"description": _ERROR_TEXT.get(status, "其他"),
                                  "content": {"application/json": {"schema": _ref(spec, other)}}}
    item = {"operationId": endpoint.operation_id, "summary": endpoint.summary, "tags": [endpoint.tag],
            "parameters": parameters, "responses": responses,
            "security": [{endpoint.security: []}] if endpoint.security else []}
    if endpoint.role:
        item["description"] = f"所需角色：{ROLE_NAMES_ZH[endpoint.role]}（{endpoint.role}）及以上"
        item["x-required-role"] = endpoint.role
    if endpoint.body is not None:
        body = endpoint.body if isinstance(endpoint.body, dict) else _ref(spec, endpoint.body)
        item["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return item


def _success(content: dict) -> dict:
    return {"description": "成功", "content": content}


def _error_responses(errors: dict[int, tuple[str, ...]]) -> dict:
    """One response per status; its schema pins error.code to the codes listed (any code when none are)."""
    responses = {}
    for status, codes in sorted(errors.items()):
        schema: dict = _ERROR_REF
        if codes:
            schema = {"allOf": [_ERROR_REF, {"type": "object", "properties": {"error": {
                "type": "object", "properties": {"code": {"type": "string", "enum": list(codes)}}}}}]}
        response = {"description": _ERROR_TEXT[status] + (f"：{'、'.join(codes)}" if codes else ""),
                    "content": {"application/json": {"schema": schema}}}
        headers = {**(_WWW_AUTHENTICATE if status == 401 else {}), **(_RETRY_AFTER if status in (429, 503) else {})}
        if headers:
            response["headers"] = headers
        responses[str(status)] = response
    return responses


def documented_errors(path: str, method: str) -> dict[int, set[str] | None]:
    """The error statuses of one documented operation, each with its error.code values (None: any code)."""
    responses = build_spec()["paths"][path][method.lower()]["responses"]
    found: dict[int, set[str] | None] = {}
    for status, response in responses.items():
        if int(status) >= 400:
            schema = response["content"]["application/json"]["schema"]
            if "allOf" in schema:  # as _error_responses pins them
                found[int(status)] = set(schema["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"])
            else:
                found[int(status)] = None
    return found


def _event_schemas(spec: APISpec) -> None:
    """SalesEvent and EventBatch from the event contract (schemas/events/v1), in OpenAPI 3.0's dialect:
    the contract's per-type `if`/`then` rules become a `oneOf` with one variant per event type."""
    contract = load_schema("sales-event")
    event = {k: v for k, v in contract.items() if k not in ("$schema", "$id", "allOf")}
    variants = []
    for rule in contract["allOf"]:
        event_type = rule["if"]["properties"]["type"]["const"]
        then = rule["then"]
        variants.append({"title": event_type, "required": then["required"],
                         "properties": {"type": {"enum": [event_type]}, **then.get("properties", {})}})
    event["oneOf"] = variants
    spec.components.schema("SalesEvent", event)
    batch = {k: v for k, v in load_schema("batch").items() if k not in ("$schema", "$id")}
    events = {**batch["properties"]["events"], "items": {"$ref": "#/components/schemas/SalesEvent"}}
    batch["properties"] = {"events": events}
    spec.components.schema("EventBatch", batch)


def _all_operations() -> list:
    from backend.awards_api import operations as award_operations

    return operations() + award_operations()


def _ref(spec: APISpec, schema: type) -> dict:
    name = _schema_name(schema)
    if name not in spec.components.schemas:
        spec.components.schema(name, schema=schema)
    return {"$ref": f"#/components/schemas/{name}"}


def _rule_params(rule: str) -> list[tuple[str, str]]:
    """(converter, name) of each variable in a Flask rule, e.g. <int:list_id> -> ("int", "list_id")."""
    return [(converter or "string", name) for converter, name in re.findall(r"<(?:(\w+):)?(\w+)>", rule)]


def _path_param(name: str, converter: str = "string") -> dict:
    schema = {**_INTEGER} if converter == "int" else {"type": "string", "minLength": 1}
    return {"in": "path", "name": name, "required": True, "schema": schema}


@bp.get("/v1/openapi.json")
def openapi_json():
    return jsonify(build_spec())


@bp.get("/v1/docs")
def docs_page():
    document = build_spec()
    groups: dict[str, list[dict]] = defaultdict(list)
    for path, items in document["paths"].items():
        for method, item in items.items():
            body = (item.get("requestBody") or {}).get("content", {})
            schema = next(iter(body.values()), {}).get("schema") if body else None
            groups[item["tags"][0]].append({"method": method.upper(), "path": path, "item": item,
                                            "body": _fields(document, schema)})
    return render_template("api_docs.html", document=document, groups=groups, roles=ROLE_NAMES_ZH)


def _fields(document: dict, schema: dict | None) -> list[dict]:
    """The request fields of a body schema, resolved from the document's components."""
    if not schema:
        return []
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    required = set(schema.get("required", []))
    return [{"name": name, "type": prop.get("type") or prop.get("format") or "object",
             "format": prop.get("format", ""), "enum": prop.get("enum") or prop.get("items", {}).get("enum"),
             "description": prop.get("description", ""), "required": name in required}
            for name, prop in schema.get("properties", {}).items()]
