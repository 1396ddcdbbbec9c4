"""The awards part of the organizer API (/v1/admin/awards..., station scores, targets).

Declared like backend/admin_api.py: `operation(...)` registers the Flask route, enforces the role
(backend.auth.api_auth: Bearer token, audited as that user), validates the body with its
marshmallow schema and records the operation, which backend/openapi.py adds to /v1/openapi.json.
Roles: viewer reads and downloads; operator computes, moves lists through the workflow (except
定稿, admin only), records review steps and enters scores and targets; admin adjusts lines.
"""
from __future__ import annotations

import re
from typing import Callable
from urllib.parse import quote

from flask import Blueprint, Response, g, request
from marshmallow import Schema, fields, validate

from backend import admin_schemas as S
from backend.admin_api import Operation, register
from configstore import awards as award_store
from configstore import registry
from domain.boards import BOARDS
from services import awards as award_compute
from services import certificates, spreadsheets
from services import fraud as fraud_compute
from services.errors import ApiError
from services.runtime import current_runtime
from services.spreadsheets import DownloadName

bp = Blueprint("awards_api", __name__, url_prefix="/v1/admin")
TAG = "奖项与目标"
OPERATIONS: list[Operation] = []


def operation(method: str, rule: str, *, summary: str, role: str, body: type | None = None, status: int = 200,
              query: tuple = (), multipart: bool = False, media_type: str = "application/json") -> Callable:
    def decorate(fn):
        register(bp, OPERATIONS, Operation(method, rule, fn.__name__, summary, TAG, role, body, None, "", status,
                                           multipart, tuple(query), media_type), fn)
        return fn

    return decorate


def operations() -> list[Operation]:
    return list(OPERATIONS)




def _year_arg(raw: str | None = None) -> int:
    """?year= (or `raw`, e.g. a form field) as a four-digit year; ApiError 400 otherwise."""
    raw = (request.args.get("year", "") if raw is None else raw).strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) == 4):  # isascii: isdigit() alone takes "²"
        raise ApiError(400, "invalid_year", "year 应为四位年份，例如 2026")
    return int(raw)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"


def content_disposition(name: DownloadName) -> str:
    """RFC 6266: the ASCII name for old clients, the UTF-8 name (RFC 8187) for the rest."""
    fallback = re.sub(r'[^\x20-\x7e]|["\\]', "_", name.ascii)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name.name, safe='')}"


def download(content: bytes, name: DownloadName, mimetype: str) -> Response:
    """Every export download, API and console: the file as an attachment with its Chinese name."""
    response = Response(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition(name)
    return response


def award_list_download(award_list: dict) -> Response:
    directory = spreadsheets.load_directory(current_runtime().sessions)
    return download(spreadsheets.award_list_xlsx(award_list, directory),
                    spreadsheets.award_list_filename(award_list, directory), XLSX)


def targets_download(progress: dict) -> Response:
    return download(spreadsheets.targets_xlsx(progress), spreadsheets.targets_filename(progress["year"]), XLSX)


def certificate_download(award_list: dict, item: dict) -> Response:
    """One winner's certificate (services.certificates) with the campaign's current name and the
    settings' organizer and seal. Raises certificates.CertificateError when it cannot be made right."""
    runtime = current_runtime()
    campaign = (registry.get_campaign(runtime.sessions, award_list["scope_key"])
                if award_list["scope"] == "campaign" else None)
    pdf = certificates.certificate_pdf(award_list, item, campaign_name=campaign.name if campaign else None,
                                       organizer=runtime.settings.organizer_name,
                                       seal_image=runtime.settings.seal_image)
    return download(pdf, certificates.certificate_filename(award_list, item), PDF)


# -- schemas -----------------------------------------------------------------------------------
class AwardCompute(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(tuple(award_store.KINDS)),
                         metadata={"description": "top_enterprises 十佳电商企业、top_influencers 十大电商达人、"
                                                  "sales_milestone 销售额首次突破奖励、station_rating 服务站点评定"})
    scope = fields.String(required=True, validate=validate.OneOf(tuple(award_store.SCOPES)),
                          metadata={"description": "campaign（按活动）或 year（按年度）"})
    scope_key = S.text(64, required=True, metadata={"description": "活动代码或四位年份"})
    min_net_gmv_fen = S.whole(load_default=0, metadata={"description": "评选最低净成交额（分）"})
    min_order_count = S.whole(load_default=0, metadata={"description": "评选最低订单数"})
    policy = fields.String(load_default="pay_difference",
                           validate=validate.OneOf(("pay_difference", "pay_full_higher_tier")),
                           metadata={"description": "销售额奖励跨年升档：pay_difference 补足差额（默认）或 "
                                                    "pay_full_higher_tier 高档全额"})


class AwardTransition(Schema):
    state = fields.String(required=True, validate=validate.OneOf(award_store.STATES),
                          metadata={"description": "draft 草稿、frozen 冻结、notice 公示、final 定稿"})
    notice_start = fields.Date(load_default=None, metadata={"description": "公示开始日期（进入公示时必填）"})
    notice_end = fields.Date(load_default=None, metadata={"description": "公示结束日期（进入公示时必填）"})


class AwardAdjustment(Schema):
    participant_id = S.text(64, required=True)
    reason = S.text(500, required=True, metadata={"description": "调整原因（必填，记入审计日志并在名单上显示）"})
    amount_fen = S.whole(load_default=None, allow_none=True)
    included = fields.Boolean(load_default=None, allow_none=True, metadata={"description": "false 表示移出名单"})
    name = S.text(200, min_len=0, load_default=None, allow_none=True)
    category = S.text(64, min_len=0, load_default=None, allow_none=True)


class AwardReviewIn(Schema):
    participant_id = S.text(64, required=True)
    step = fields.String(required=True, validate=validate.OneOf(award_store.REVIEW_STEPS),
                         metadata={"description": "county_prereview 县级初审 → prefecture_office 州商务局审核 → "
                                                  "expert_review 专家评审 → government_approval 州政府审定"})
    decision = fields.String(required=True, validate=validate.OneOf(tuple(award_store.DECISIONS)))
    note = S.text(500, min_len=0, load_default="")


class StationScoreIn(Schema):
    quality_score = fields.String(required=True, metadata={"description": "服务质量评分 0–100（最多两位小数）"})
    volume_fen = S.whole(load_default=None, allow_none=True,
                         metadata={"description": "年度交易额（分）；县级运营中心不填时取本县销售额"})


class TargetIn(Schema):
    annual_target_fen = S.whole(1, required=True, metadata={"description": "年度销售目标（分）"})


# -- award lists -------------------------------------------------------------------------------
@operation("GET", "/awards", summary="奖项名单（各版本）", role="viewer",
           query=(("kind", "string", "奖项类型"), ("scope", "string", "campaign 或 year"),
                  ("scope_key", "string", "活动代码或年份")))
def list_award_lists():
    return {"award_lists": award_store.list_lists(current_runtime().sessions, kind=request.args.get("kind") or None,
                                                  scope=request.args.get("scope") or None,
                                                  scope_key=request.args.get("scope_key") or None)}


@operation("POST", "/awards/compute", summary="按数据计算奖项名单（存为草稿；已定稿则生成新版本）", role="operator",
           body=AwardCompute, status=201)
def compute_award_list(data: dict):
    runtime = current_runtime()
    return award_compute.compute_and_store(runtime.sessions, runtime.store, **data)


@operation("GET", "/awards/<int:list_id>", summary="奖项名单详情（含调整与评审记录）", role="viewer")
def get_award_list(list_id: int):
    return award_store.get_list(current_runtime().sessions, list_id)


@operation("POST", "/awards/<int:list_id>/transition", summary="名单状态：草稿→冻结→公示→定稿（定稿须管理员）",
           role="operator", body=AwardTransition)
def transition_award_list(list_id: int, data: dict):
    if data["state"] == "final" and not g.user.can("admin"):
        raise ApiError(403, "forbidden", "只有管理员可以定稿", details={"required_role": "admin", "role": g.user.role})
    return award_store.transition(current_runtime().sessions, list_id, data["state"], notice_start=data["notice_start"],
                                  notice_end=data["notice_end"])


@operation("POST", "/awards/<int:list_id>/adjustments", summary="人工调整一条（须填原因；已定稿则生成新版本）",
           role="admin", body=AwardAdjustment, status=201)
def adjust_award_list(list_id: int, data: dict):
    participant_id = data.pop("participant_id")
    return award_store.adjust(current_runtime().sessions, list_id, participant_id, **data)


@operation("POST", "/awards/<int:list_id>/reviews", summary="记录评审环节（县级初审→州商务局→专家评审→州政府审定）",
           role="operator", body=AwardReviewIn, status=201)
def review_award(list_id: int, data: dict):
    participant_id = data.pop("participant_id")
    return award_store.record_review(current_runtime().sessions, list_id, participant_id, **data)


@operation("GET", "/awards/<int:list_id>/export.xlsx", summary="导出名单（.xlsx）", role="viewer", media_type=XLSX)
def export_award_list(list_id: int):
    return award_list_download(award_store.get_list(current_runtime().sessions, list_id))


@operation("GET", "/awards/<int:list_id>/certificates/<participant_id>.pdf", summary="获奖证书（PDF，可打印）",
           role="viewer", media_type=PDF)
def award_certificate(list_id: int, participant_id: str):
    award_list = award_store.get_list(current_runtime().sessions, list_id)
    item = next((i for i in award_list["items"] if i["participant_id"] == participant_id and i["included"]), None)
    if item is None:
        raise ApiError(404, "award_item_not_found", f"{participant_id} 不在该名单上")
    try:
        return certificate_download(award_list, item)
    except certificates.CertificateError as exc:
        raise ApiError(409, "certificate_unavailable", str(exc)) from None


# -- station scores and targets ------------------------------------------------------------------
@operation("PUT", "/stations/<int:station_id>/scores/<int:year>", summary="录入服务站点年度服务质量评分",
           role="operator", body=StationScoreIn)
def set_station_score(station_id: int, year: int, data: dict):
    return award_store.set_station_score(current_runtime().sessions, station_id, year, data["quality_score"], data["volume_fen"])


@operation("PUT", "/targets/<region_code>/<int:year>", summary="设置区划年度销售目标", role="operator", body=TargetIn)
def set_region_target(region_code: str, year: int, data: dict):
    return award_store.set_target(current_runtime().sessions, region_code, year, data["annual_target_fen"])


@operation("GET", "/targets/progress", summary="年度目标完成情况（逐级汇总，“完成年度任务的 X%”）", role="viewer",
           query=(("year", "integer", "四位年份"),))
def target_progress():
    runtime = current_runtime()
    return award_compute.target_progress(runtime.sessions, runtime.store, year=_year_arg())


@operation("GET", "/targets/progress.xlsx", summary="导出年度目标完成情况（.xlsx）", role="viewer",
           query=(("year", "integer", "四位年份"),), media_type=XLSX)
def export_target_progress():
    runtime = current_runtime()
    year = _year_arg()
    progress = award_compute.target_progress(runtime.sessions, runtime.store, year=year)
    return targets_download(progress)


@operation("POST", "/targets/import", summary="从 CSV 或 .xlsx 导入区划年度销售目标（逐行报告，保留正确的行）",
           role="operator", multipart=True, query=(("year", "integer", "四位年份"),))
def import_region_targets():
    from configstore.participants_import import read_rows
    from configstore.targets_import import import_targets
    from services import organizer

    request.max_content_length = organizer.IMPORT_MAX_BYTES
    year = _year_arg() if request.args.get("year") else _year_arg(request.form.get("year") or "")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(400, "file_required", "请以 multipart/form-data 上传字段 file（.csv 或 .xlsx）")
    try:
        rows = read_rows(upload.filename, upload.read())
    except ValueError as exc:  # an unsupported type, or over the import limits (ImportTooLarge)
        raise ApiError(400, getattr(exc, "code", "unsupported_file"), str(exc)) from None
    except Exception:  # a corrupt workbook, a CSV that is not UTF-8, ...
        raise ApiError(400, "unreadable_file", "文件无法读取：请上传 UTF-8 编码的 CSV 或 .xlsx 表格") from None
    return import_targets(current_runtime().sessions, rows, year).as_dict()


# -- fraud signals -------------------------------------------------------------------------------
@operation("GET", "/campaigns/<slug>/fraud-signals", summary="疑似刷单信号（退款率过高、单一买家集中下单、成交额突增）",
           role="viewer", query=(("board", "string", "hosts（主播，默认）或 enterprises（企业）"),))
def fraud_signals(slug: str):
    board = request.args.get("board", "hosts")
    if board not in BOARDS:
        raise ApiError(400, "invalid_board", "board 只能是 hosts 或 enterprises")
    runtime = current_runtime()
    return fraud_compute.fraud_signals(runtime.sessions, runtime.store, slug, board)
