"""The organizer API under /v1/admin: JSON in and out, Bearer tokens, roles, audited changes.

Each endpoint is declared once with `operation(...)`, which registers the Flask route, enforces
the role, validates the body with its marshmallow schema, and records the operation for the
OpenAPI document (backend/openapi.py), so the document cannot drift from the code.
Roles: viewer only reads; operator also writes campaigns, participants and its own tokens; admin
everything (sources, users).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from flask import Blueprint, Response, g, jsonify, request

from analytics import ingestion
from backend import admin_schemas as S
from backend.auth import api_auth
from configstore import accounts, audit, places, registry, sources
from domain.boards import BOARDS
from services import organizer
from services.errors import ApiError
from services.runtime import current_runtime

bp = Blueprint("admin_api", __name__, url_prefix="/v1/admin")


@dataclass(frozen=True)
class Operation:
    method: str
    rule: str  # Flask rule under the prefix, e.g. /campaigns/<slug>
    endpoint: str
    summary: str
    tag: str
    role: str
    body: type | None = None
    response: type | None = None
    many: str = ""  # the key of a listed response, e.g. "sources"
    status: int = 200
    multipart: bool = False
    query: tuple[tuple[str, str, str], ...] = ()  # (name, type, description)
    media_type: str = "application/json"  # of the success response (exports: .xlsx, .pdf)

    @property
    def path(self) -> str:
        return str(bp.url_prefix) + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", self.rule)

    @property
    def writes(self) -> bool:
        return self.method != "GET"


OPERATIONS: list[Operation] = []


def register(blueprint: Blueprint, declared: list[Operation], op: Operation, fn: Callable) -> None:
    """Route `op` to `fn` on `blueprint` (role check, body validation, JSON reply unless `fn` returns a
    Response) and add it to `declared`, which backend/openapi.py documents."""

    @api_auth(op.role)
    def view(**kwargs):
        if any(isinstance(value, int) and value > S.MAX_INT for value in kwargs.values()):
            raise ApiError(404, "not_found", "资源不存在")  # an <int:...> past the 64-bit keys names nothing
        if op.body is not None:
            kwargs["data"] = S.load(op.body, request.get_json(silent=True))
        result = fn(**kwargs)
        if isinstance(result, Response):
            return result
        response = jsonify(result)
        response.status_code = op.status
        return response

    view.__name__ = fn.__name__
    blueprint.add_url_rule(op.rule, endpoint=fn.__name__, view_func=view, methods=[op.method])
    declared.append(op)


def operation(method: str, rule: str, *, summary: str, tag: str, role: str, body: type | None = None,
              response: type | None = None, many: str = "", status: int = 200, multipart: bool = False,
              query: tuple = ()) -> Callable:
    def decorate(fn):
        register(bp, OPERATIONS, Operation(method, rule, fn.__name__, summary, tag, role, body, response, many,
                                           status, multipart, tuple(query)), fn)
        return fn

    return decorate




# -- who am I ----------------------------------------------------------------------------------
@operation("GET", "/me", summary="当前令牌对应的用户", tag="账号", role="viewer", response=S.User)
def me():
    return g.user.as_dict()


# -- campaigns ---------------------------------------------------------------------------------
def _campaign_or_404(slug: str) -> registry.CampaignInfo:
    campaign = registry.get_campaign(current_runtime().sessions, slug)
    if campaign is None:
        raise ApiError(404, "campaign_not_found", f"活动 {slug} 不存在")
    return campaign


@operation("GET", "/campaigns", summary="活动列表（含草稿）", tag="活动", role="viewer", response=S.CampaignList)
def list_campaigns():
    return {"campaigns": [c.as_dict() for c in registry.all_campaigns(current_runtime().sessions)]}


@operation("POST", "/campaigns", summary="创建活动（草稿）", tag="活动", role="operator", body=S.CampaignCreate,
           response=S.Campaign, status=201)
def create_campaign(data: dict):
    return registry.create_campaign(current_runtime().sessions, **data).as_dict()


@operation("GET", "/campaigns/<slug>", summary="活动详情", tag="活动", role="viewer", response=S.Campaign)
def get_campaign(slug: str):
    return _campaign_or_404(slug).as_dict()


@operation("PATCH", "/campaigns/<slug>", summary="修改活动（名称、日期、封榜时间、榜单）", tag="活动", role="operator",
           body=S.CampaignUpdate, response=S.Campaign)
def update_campaign(slug: str, data: dict):
    return registry.update_campaign(current_runtime().sessions, slug, **data).as_dict()


@operation("DELETE", "/campaigns/<slug>", summary="删除草稿活动", tag="活动", role="operator", status=200)
def delete_campaign(slug: str):
    registry.delete_campaign(current_runtime().sessions, slug)
    return {"deleted": slug}


@operation("POST", "/campaigns/<slug>/status", summary="切换活动状态（草稿→进行中→已封榜→已结束）", tag="活动",
           role="operator", body=S.StatusChange, response=S.Campaign)
def change_status(slug: str, data: dict):
    return registry.transition_campaign(current_runtime().sessions, slug, data["status"]).as_dict()


@operation("GET", "/campaigns/<slug>/disqualifications", summary="取消资格名单", tag="活动", role="viewer")
def list_disqualifications(slug: str):
    _campaign_or_404(slug)
    return {"disqualifications": registry.list_disqualifications(current_runtime().sessions, slug)}


@operation("POST", "/campaigns/<slug>/disqualifications", summary="取消参与者资格（须填原因）", tag="活动",
           role="operator", body=S.DisqualifyIn, status=201)
def disqualify(slug: str, data: dict):
    _campaign_or_404(slug)
    registry.disqualify(current_runtime().sessions, slug, data["board"], data["participant_id"], data["reason"])
    return {"campaign": slug, **data}


@operation("DELETE", "/campaigns/<slug>/disqualifications/<board>/<participant_id>", summary="恢复参与者资格",
           tag="活动", role="operator")
def requalify(slug: str, board: str, participant_id: str):
    if board not in BOARDS:
        raise ApiError(404, "board_not_found", "榜单不存在（hosts 或 enterprises）")
    registry.requalify(current_runtime().sessions, slug, board, participant_id)
    return {"campaign": slug, "board": board, "participant_id": participant_id, "requalified": True}


# -- participants ------------------------------------------------------------------------------
@operation("GET", "/participants", summary="已登记的主播或企业", tag="参与者", role="viewer",
           query=(("board", "string", "hosts（默认）或 enterprises"),))
def list_participants():
    board = request.args.get("board", "hosts")
    if board not in BOARDS:
        raise ApiError(400, "invalid_board", "board 只能是 hosts 或 enterprises")
    return {"board": board, "participants": registry.list_participants(current_runtime().sessions, board)}


@operation("POST", "/participants/import", summary="从 CSV 或 .xlsx 导入主播和企业（逐行报告）", tag="参与者",
           role="operator", response=S.ImportReport, multipart=True)
def import_participants():
    request.max_content_length = organizer.IMPORT_MAX_BYTES
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(400, "file_required", "请以 multipart/form-data 上传字段 file（.csv 或 .xlsx）")
    return organizer.report_dict(organizer.import_file(current_runtime(), upload.filename, upload.read()))


# -- places ------------------------------------------------------------------------------------
@operation("GET", "/regions", summary="区划（州、县市、乡镇、村）", tag="区划与服务站", role="viewer",
           query=(("parent_code", "string", "只列出该区划的下级"),))
def list_regions():
    return {"regions": places.list_regions(current_runtime().sessions, request.args.get("parent_code") or None)}


@operation("POST", "/regions", summary="添加乡镇或村", tag="区划与服务站", role="operator", body=S.RegionCreate,
           status=201)
def add_region(data: dict):
    return places.add_region(current_runtime().sessions, **data)


@operation("GET", "/stations", summary="电商服务站点", tag="区划与服务站", role="viewer",
           query=(("kind", "string", "county_centre / township_station / village_point"),))
def list_stations():
    return {"stations": places.list_stations(current_runtime().sessions, request.args.get("kind") or None)}


@operation("POST", "/stations", summary="添加服务站点", tag="区划与服务站", role="operator", body=S.StationCreate,
           status=201)
def add_station(data: dict):
    return places.add_station(current_runtime().sessions, **data)


# -- webhook sources ---------------------------------------------------------------------------
def _secret_reply(name: str, secret: str) -> dict:
    return {"name": name, "secret": secret, "webhook_url": f"{request.host_url.rstrip('/')}/v1/webhooks/{name}"}


@operation("GET", "/sources", summary="数据来源列表（不含密钥）", tag="数据来源", role="viewer", response=S.Source,
           many="sources")
def list_sources():
    return {"sources": sources.list_sources(current_runtime().sessions)}


@operation("POST", "/sources", summary="创建数据来源（密钥只返回这一次）", tag="数据来源", role="admin",
           body=S.SourceCreate, response=S.SourceSecret, status=201)
def create_source(data: dict):
    return _secret_reply(data["name"], organizer.create_source(current_runtime(), **data))


@operation("PUT", "/sources/<name>/scope", summary="修改数据来源可上报的平台、活动和企业", tag="数据来源",
           role="admin", body=S.SourceScopeIn, response=S.Source)
def set_source_scope(name: str, data: dict):
    return organizer.set_source_scope(current_runtime(), name, **data)


@operation("POST", "/sources/<name>/rotate", summary="轮换密钥（新旧两个同时有效）", tag="数据来源", role="admin",
           response=S.SourceSecret)
def rotate_source(name: str):
    return _secret_reply(name, organizer.rotate_source(current_runtime(), name))


@operation("POST", "/sources/<name>/revoke", summary="吊销数据来源（之后的推送得到 401）", tag="数据来源",
           role="admin")
def revoke_source(name: str):
    organizer.revoke_source(current_runtime(), name)
    return {"name": name, "revoked": True}


# -- what the writer set aside -------------------------------------------------------------------
@operation("GET", "/ingestion", summary="数据接入状况：计数、后台组件、待匹配订单的退款、内容不同的重复事件",
           tag="未归属", role="viewer", response=S.SetAside)
def set_aside():
    runtime = current_runtime()
    return {"health": organizer.ingestion_health(runtime), "held_refunds": ingestion.held_refunds(runtime.store),
            "conflicts": ingestion.conflicts(runtime.store)}


# -- unattributed ------------------------------------------------------------------------------
@operation("GET", "/unattributed", summary="未归属的销售（按活动、平台、主播、企业分组，附原因）", tag="未归属",
           role="viewer", response=S.UnattributedGroup, many="groups",
           query=(("campaign", "string", "只看一个活动"),))
def list_unattributed():
    groups = organizer.unattributed(current_runtime(), request.args.get("campaign") or None)
    return {"groups": [grp.as_dict() for grp in groups], "totals": organizer.totals(groups)}


@operation("POST", "/unattributed/reattribute", summary="把事件中的账号归属到已登记的主播或企业", tag="未归属",
           role="operator", body=S.Reattribute, status=201)
def reattribute(data: dict):
    registry.register_account(current_runtime().sessions, data["board"], data["platform"], data["account"], data["participant_id"])
    return {**data, "note": "下一次排名计算（约 5 秒内）起计入榜单"}


# -- audit -------------------------------------------------------------------------------------
@operation("GET", "/audit", summary="审计日志（新的在前）", tag="审计", role="viewer", response=S.AuditEntry, many="entries",
           query=(("limit", "integer", "条数，默认 100，最多 500"), ("before_id", "integer", "翻页：上一页最小的 id"),
                  ("target_type", "string", "表名，例如 campaigns"), ("target_id", "string", "对象编号")))
def list_audit():
    def _int(name: str, default: int | None) -> int | None:
        value = request.args.get(name)
        if value is None:
            return default
        if not (value.isascii() and value.isdigit()) or int(value) > S.MAX_INT:  # isdigit() alone takes "²"
            raise ApiError(400, "invalid_query", f"{name} 应为正整数")
        return int(value)

    entries = audit.list_entries(current_runtime().sessions, limit=_int("limit", 100), before_id=_int("before_id", None),
                                 target_type=request.args.get("target_type") or None,
                                 target_id=request.args.get("target_id") or None)
    return {"entries": entries}


# -- users and tokens --------------------------------------------------------------------------
@operation("GET", "/users", summary="用户列表", tag="账号", role="admin", response=S.User, many="users")
def list_users():
    return {"users": accounts.list_users(current_runtime().sessions)}


@operation("POST", "/users", summary="创建用户", tag="账号", role="admin", body=S.UserCreate, response=S.User,
           status=201)
def create_user(data: dict):
    return accounts.create_user(current_runtime().sessions, data["username"], data["password"], data["role"]).as_dict()


@operation("PATCH", "/users/<username>", summary="修改用户角色、启停或密码", tag="账号", role="admin",
           body=S.UserUpdate, response=S.User)
def update_user(username: str, data: dict):
    if username == g.user.username and (data.get("active") is False or data.get("role", "admin") != "admin"):
        raise ApiError(409, "cannot_demote_self", "不能停用自己或降低自己的角色")
    return accounts.update_user(current_runtime().sessions, username, **data).as_dict()


@operation("GET", "/tokens", summary="我的 API 令牌（管理员看全部）", tag="账号", role="viewer", response=S.Token,
           many="tokens")
def list_tokens():
    owner = None if g.user.can("admin") else g.user.username
    return {"tokens": accounts.list_tokens(current_runtime().sessions, owner)}


@operation("POST", "/tokens", summary="创建 API 令牌（只返回这一次；管理员可为他人创建）", tag="账号", role="operator",
           body=S.TokenCreate, response=S.TokenCreated, status=201)
def create_token(data: dict):
    owner = data.get("username") or g.user.username
    if owner != g.user.username and not g.user.can("admin"):
        raise ApiError(403, "forbidden", "只有管理员可以为其他用户创建令牌")
    listing, token = accounts.create_token(current_runtime().sessions, owner, data["name"])
    return {**listing, "token": token}


@operation("DELETE", "/tokens/<int:token_id>", summary="吊销 API 令牌", tag="账号", role="operator")
def revoke_token(token_id: int):
    accounts.revoke_token(current_runtime().sessions, token_id, owner=None if g.user.can("admin") else g.user.username)
    return {"id": token_id, "revoked": True}


def operations() -> list[Operation]:
    return list(OPERATIONS)


