"""The awards part of the organizer API (/v1/admin/awards..., station scores, targets).

Declared like backend/admin_api.py: `operation(...)` registers the Flask route, enforces the role
(backend.auth.api_auth: Bearer token, audited as that user), validates the body with its
marshmallow schema and records the operation, which backend/openapi.py adds to /v1/openapi.json.
Roles: viewer reads and downloads; operator computes, moves lists through the workflow (except
定稿, admin only), records review steps and enters scores and targets; admin adjusts lines, records
payments in the grant ledger, sets budgets and limits users to counties. Applications: who records
each step is in services.applications. County users reach only the county-aware operations
(backend.auth.COUNTY_AWARE), for their own counties.
"""
from __future__ import annotations

import re
from typing import Callable
from urllib.parse import quote

from flask import Blueprint, Response, g, request
from marshmallow import Schema, fields, validate

from backend import admin_schemas as S
from backend.admin_api import Operation, register
from configstore import accounts, host_milestones, ledger, places, registry, tax
from configstore import applications as application_store
from configstore import awards as award_store
from domain.awards import TAX_STATUS_NAMES_ZH
from domain.boards import BOARDS
from domain.catalogue import CATALOGUE
from services import applications, budget, certificates, notices, organizer, spreadsheets
from services import awards as award_compute
from services import fraud as fraud_compute
from services.errors import ApiError
from services.runtime import current_runtime
from services.scope import require_county
from services.spreadsheets import DownloadName
from wechat.pushes import PushTemplates

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


XLSX = spreadsheets.XLSX
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
    accept_over_budget = fields.Boolean(load_default=False,
                                        metadata={"description": "定稿将超出资金预算时，确认仍要定稿"})


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
                         metadata={"description": "county_prereview 县市区初审 → prefecture_office 州开放型经济领导小组办公室审核 → "
                                                  "expert_review 专家评审 → government_approval 州政府审定"})
    decision = fields.String(required=True, validate=validate.OneOf(tuple(award_store.DECISIONS)))
    note = S.text(500, min_len=0, load_default="")


class StationScoreIn(Schema):
    quality_score = fields.String(required=True, metadata={"description": "服务质量评分 0–100（最多两位小数）；"
                                                                         "交易额取计入站点所在区划的销售额"})


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
    runtime = current_runtime()
    return award_compute.transition_list(runtime.sessions, list_id, data["state"], notice_start=data["notice_start"],
                                         notice_end=data["notice_end"], accept_over_budget=data["accept_over_budget"],
                                         notify=notices.award_notifier(PushTemplates.from_settings(runtime.settings)))


@operation("POST", "/awards/<int:list_id>/adjustments", summary="人工调整一条（须填原因；已定稿则生成新版本）",
           role="admin", body=AwardAdjustment, status=201)
def adjust_award_list(list_id: int, data: dict):
    participant_id = data.pop("participant_id")
    return award_store.adjust(current_runtime().sessions, list_id, participant_id, **data)


@operation("POST", "/awards/<int:list_id>/reviews", summary="记录评审环节（县市区初审→州开放型经济领导小组办公室→专家评审→州政府审定）",
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
    return award_store.set_station_score(current_runtime().sessions, station_id, year, data["quality_score"])


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


# -- catalogue, ledger, budgets ----------------------------------------------------------------------
def _int_arg(name: str) -> int | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) > S.MAX_INT:
        raise ApiError(400, "invalid_query", f"{name} 应为正整数")
    return int(raw)


@operation("GET", "/awards/catalogue", summary="奖补目录（州政办发〔2018〕25号各项奖励、同类型分组、计算或申报）",
           role="viewer")
def list_catalogue():
    return {"rewards": [r.as_dict() for r in CATALOGUE.values()]}


class PaymentIn(Schema):
    status = fields.String(required=True, validate=validate.OneOf(("paid", "revoked")),
                           metadata={"description": "paid 已支付；revoked 撤销（仅待支付的记录，须写原因）"})
    note = S.text(500, min_len=0, load_default="", metadata={"description": "支付凭证号或撤销原因"})
    paid_on = fields.Date(load_default=None, metadata={"description": "支付日期"})


@operation("GET", "/ledger", summary="奖励台账（每一笔进入定稿名单或审定申报的奖励及支付状态）", role="viewer",
           query=(("recipient_id", "string", "获奖对象编号"), ("year", "integer", "年度"),
                  ("status", "string", "pending 待支付 / paid 已支付 / revoked 已撤销"), ("q", "string", "名称或编号")))
def list_ledger():
    return {"entries": ledger.list_entries(current_runtime().sessions, recipient_id=request.args.get("recipient_id"),
                                           year=_int_arg("year"), status=request.args.get("status") or None,
                                           search=request.args.get("q") or None)}


@operation("POST", "/ledger/<int:entry_id>/payment", summary="登记支付或撤销台账中的奖励（记入审计日志）",
           role="admin", body=PaymentIn)
def record_payment(entry_id: int, data: dict):
    return ledger.set_status(current_runtime().sessions, entry_id, data["status"], note=data["note"],
                             paid_on=data["paid_on"])


class BudgetIn(Schema):
    amount_fen = S.whole(1, required=True, metadata={"description": "年度预算（分）；县市不少于 500 万元"})


@operation("GET", "/budget", summary="年度预算执行：州级及各县市专项资金的预算、已承诺、已支付", role="viewer",
           query=(("year", "integer", "四位年份"),))
def get_budget():
    return budget.overview(current_runtime().sessions, _year_arg())


@operation("PUT", "/budget/<holder>/<int:year>", summary="设置年度预算（prefecture 或县市代码）", role="admin",
           body=BudgetIn)
def set_budget(holder: str, year: int, data: dict):
    return ledger.set_budget(current_runtime().sessions, holder, year, data["amount_fen"])


@operation("GET", "/budget.xlsx", summary="导出年度预算执行（.xlsx）", role="viewer",
           query=(("year", "integer", "四位年份"),), media_type=XLSX)
def export_budget():
    year = _year_arg()
    return download(spreadsheets.budget_xlsx(budget.overview(current_runtime().sessions, year)), spreadsheets.budget_filename(year), XLSX)


# -- enterprises: tax status per year, grants ---------------------------------------------------------
class TaxIn(Schema):
    status = fields.String(required=True, validate=validate.OneOf(tuple(TAX_STATUS_NAMES_ZH)),
                           metadata={"description": "compliant 依法纳税、non_compliant 未依法纳税、unverified 未核实"})
    note = S.text(500, min_len=0, load_default="", metadata={"description": "核实依据，例如税务部门证明编号"})


def _enterprise_county(enterprise_id: str) -> str:
    counties = registry.counties(current_runtime().sessions, "enterprises")
    if enterprise_id not in counties:
        raise ApiError(404, "participant_not_found", f"企业 {enterprise_id} 未登记")
    return counties[enterprise_id]


@operation("GET", "/enterprises/<enterprise_id>/awards", summary="企业的奖励台账、按年度的纳税状态和申报", role="viewer")
def get_enterprise_awards(enterprise_id: str):
    require_county(g.user, _enterprise_county(enterprise_id), "企业")
    sessions = current_runtime().sessions
    return {"enterprise_id": enterprise_id, "name": registry.names(sessions, "enterprises")[enterprise_id],
            "ledger": ledger.list_entries(sessions, recipient_id=enterprise_id),
            "tax": tax.history(sessions, enterprise_id),
            "applications": application_store.list_applications(sessions, recipient_id=enterprise_id)}


@operation("PUT", "/enterprises/<enterprise_id>/tax/<int:year>", summary="设置企业某年度的纳税状态", role="operator",
           body=TaxIn)
def set_tax_status(enterprise_id: str, year: int, data: dict):
    require_county(g.user, _enterprise_county(enterprise_id), "企业")
    return tax.set_status(current_runtime().sessions, enterprise_id, year, data["status"], data["note"])


# -- applications --------------------------------------------------------------------------------------
class ApplicationIn(Schema):
    reward_code = fields.String(required=True, validate=validate.OneOf(tuple(
        code for code, r in CATALOGUE.items() if r.basis.value == "application")),
        metadata={"description": "奖补目录中申报类项目的代码（GET /v1/admin/awards/catalogue）"})
    year = fields.Integer(required=True, validate=validate.Range(min=2018, max=2100))
    recipient_id = S.text(64, required=True, metadata={"description": "企业编号、县市代码，或单位的统一社会信用代码"})
    recipient_name = S.text(200, min_len=0, load_default="", metadata={"description": "单位名称（单位申报时必填）"})
    county_code = S.text(6, min_len=0, load_default="", metadata={"description": "单位所在县市（单位申报时必填）"})
    summary = S.text(2000, min_len=0, load_default="", metadata={"description": "申报说明：符合条件的情况"})
    requested_amount_fen = S.whole(1, load_default=None, allow_none=True,
                                   metadata={"description": "申请金额（分）：只用于金额由当地财政确定的项目"})


class StepIn(Schema):
    step = fields.String(required=True, validate=validate.OneOf(application_store.STEPS),
                         metadata={"description": "county_prereview 县市区初审 → prefecture_office 州开放型经济领导小组"
                                                  "办公室 → expert_review 专家评审 → government_approval 州政府审定 → "
                                                  "payment 资金兑付"})
    decision = fields.String(required=True, validate=validate.OneOf(tuple(application_store.DECISIONS)))
    note = S.text(900, min_len=0, load_default="")
    amount_fen = S.whole(1, load_default=None, allow_none=True,
                         metadata={"description": "州政府审定的金额（分）：只用于金额由当地财政确定的项目"})
    accept_over_budget = fields.Boolean(load_default=False, metadata={"description": "审定将超出预算时，确认仍要审定"})
    paid_on = fields.Date(load_default=None, metadata={"description": "资金兑付：支付日期"})


@operation("GET", "/applications", summary="奖补申报（县市账号只见本县市）", role="viewer",
           query=(("state", "string", "状态"), ("year", "integer", "年度")))
def list_applications():
    return {"applications": applications.list_applications(current_runtime().sessions, g.user,
                                                           state=request.args.get("state") or None,
                                                           year=_int_arg("year"))}


@operation("POST", "/applications", summary="登记奖补申报（进入县市区初审）", role="operator", body=ApplicationIn,
           status=201)
def create_application(data: dict):
    return applications.create(current_runtime().sessions, g.user, **data)


@operation("GET", "/applications/<int:application_id>", summary="申报详情（评审记录、证明材料、同类型就高不就低）",
           role="viewer")
def get_application(application_id: int):
    return applications.get(current_runtime().sessions, g.user, application_id)


@operation("POST", "/applications/<int:application_id>/files", summary="上传证明材料（PDF/JPG/PNG/XLSX/DOCX，每个不超过 10 MB）",
           role="operator", multipart=True, status=201)
def upload_application_file(application_id: int):
    request.max_content_length = application_store.MAX_FILE_BYTES + 256 * 1024
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(400, "file_required", "请以 multipart/form-data 上传字段 file")
    return applications.add_file(current_runtime().sessions, g.user, application_id, upload.filename, upload.read())


@operation("GET", "/applications/<int:application_id>/files/<int:file_id>", summary="下载证明材料", role="viewer",
           media_type="application/octet-stream")
def download_application_file(application_id: int, file_id: int):
    meta, content = applications.read_file(current_runtime().sessions, g.user, application_id, file_id)
    return download(content, applications.evidence_name(application_id, meta), meta["content_type"])


@operation("POST", "/applications/<int:application_id>/steps", summary="记录评审环节（各环节的角色要求见说明）",
           role="operator", body=StepIn, status=201)
def record_application_step(application_id: int, data: dict):
    return applications.record_step(current_runtime().sessions, g.user, application_id, **data)


# -- regions, county users, host milestones -----------------------------------------------------------
@operation("POST", "/regions/import", summary="从 CSV 或 .xlsx 导入乡镇和村（区划代码、区划名称；逐行报告）",
           role="operator", multipart=True)
def import_regions():
    request.max_content_length = organizer.IMPORT_MAX_BYTES
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(400, "file_required", "请以 multipart/form-data 上传字段 file（.csv 或 .xlsx）")
    rows = organizer.read_upload(upload.filename, upload.read())
    return places.import_regions(current_runtime().sessions, rows, counties=g.user.scope).as_dict()


class CountiesIn(Schema):
    counties = fields.List(fields.String(validate=validate.Regexp(r"^\d{6}$")), required=True,
                           validate=validate.Length(max=8),
                           metadata={"description": "限定的县市代码；空数组表示州级账号（可见全部）"})


@operation("PUT", "/users/<username>/counties", summary="把用户限定在某些县市（空数组：州级账号）", role="admin",
           body=CountiesIn)
def set_user_counties(username: str, data: dict):
    if username == g.user.username:
        raise ApiError(409, "cannot_limit_self", "不能限定自己的县市范围")
    return accounts.set_counties(current_runtime().sessions, username, data["counties"]).as_dict()


class MilestonesIn(Schema):
    amounts_fen = fields.List(S.whole(1), required=True, validate=validate.Length(max=host_milestones.MAX_MILESTONES),
                              metadata={"description": "主播累计净成交额里程碑（分），例如 [10000000, 50000000]"})


def _campaign_or_404(slug: str):
    campaign = registry.get_campaign(current_runtime().sessions, slug)
    if campaign is None:
        raise ApiError(404, "campaign_not_found", f"活动 {slug} 不存在")
    return campaign


@operation("GET", "/campaigns/<slug>/host-milestones", summary="活动的主播销售里程碑及已达成记录", role="viewer")
def get_host_milestones(slug: str):
    _campaign_or_404(slug)
    sessions = current_runtime().sessions
    return {"campaign": slug, "amounts_fen": host_milestones.amounts(sessions, slug).get(slug, []),
            "hits": host_milestones.list_hits(sessions, slug)}


@operation("PUT", "/campaigns/<slug>/host-milestones", summary="设置活动的主播销售里程碑（达成时发送一次“销售里程碑”消息）",
           role="operator", body=MilestonesIn)
def set_host_milestones(slug: str, data: dict):
    _campaign_or_404(slug)
    return host_milestones.set_amounts(current_runtime().sessions, slug, data["amounts_fen"])
