"""The organizer console under /console: server-rendered zh-CN pages, session login, CSRF.

Every form posts to a view that validates with the same marshmallow schemas as the JSON API and
calls the same configstore / services functions, so the console and the API cannot disagree.
Input is read tolerantly (services/tolerant_input.py); a refused field is marked next to itself,
named in Chinese. Times are shown in Beijing time (the `bj` filter, backend/ui.py), long lists are
searched and paged (Pager), and irreversible actions ask first (data-confirm, static/js/console.js).
"""
from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable
from urllib.parse import quote

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from analytics import ingestion
from analytics.base import StoreError, StoreRejected, StoreUnavailable
from backend import admin_schemas as S
from backend.auth import console_auth, csrf, log_in, log_out, login_limits
from backend.pages import organizer_name
from backend.ui import register_filters
from configstore import accounts, audit, places, registry, snapshots, sources
from configstore.accounts import ROLE_NAMES_ZH, ROLES
from configstore.errors import ConfigError, Forbidden
from configstore.places import LEVEL_NAMES_ZH, STATION_KIND_NAMES_ZH
from domain.boards import BOARD_NAMES_ZH, BOARD_TITLES_ZH, BOARDS, PLATFORM_NAMES_ZH
from domain.periods import local_day
from domain.regions import XIANGXI_COUNTIES
from services import organizer
from services import tolerant_input as tolerant
from services.awards import target_progress
from services.errors import ApiError
from services.runtime import current_runtime
from services.scope import require_county
from services.spreadsheets import XLSX

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")
register_filters(bp)

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Target regions' levels (domain.targets: the province's tree; Xiangxi is the "city" level).
TARGET_LEVEL_NAMES_ZH = {"province": "省", "city": "州", "county": "县市", "township": "乡镇", "village": "村",
                         **LEVEL_NAMES_ZH}


# -- navigation --------------------------------------------------------------------------------
@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    role: str = "viewer"
    also: tuple[str, ...] = ()  # endpoints of pages that belong under this item


NAV: tuple[tuple[str, tuple[NavItem, ...]], ...] = (
    ("", (NavItem("概览", "console.dashboard"),)),
    ("活动", (NavItem("活动列表", "console.campaigns", also=("console.campaign_detail",)),
             NavItem("新建活动", "console.campaign_new", "operator"))),
    ("参与者", (NavItem("主播与企业", "console.participants"),
               NavItem("微信绑定码", "console.bindings", also=("console.binding_issue",)))),
    ("奖项与目标", (NavItem("奖项名单", "awards_console.index", also=("awards_console.detail",)),
                  NavItem("分期榜单", "awards_console.boards"),
                  NavItem("年度目标", "awards_console.targets"),
                  NavItem("导入年度目标", "console.targets_import"),
                  NavItem("疑似刷单", "awards_console.fraud"))),
    ("数据接入", (NavItem("数据来源", "console.sources_page", also=("console.source_create", "console.source_rotate")),
                 NavItem("平台对接", "connectors_console.index", also=tuple(
                     f"connectors_console.{name}" for name in
                     ("detail", "create", "self_test", "pull_now", "credentials", "settings_", "set_status"))),
                 NavItem("未归属销售", "console.unattributed"),
                 NavItem("待处理事件", "console.set_aside"))),
    ("系统管理", (NavItem("用户", "console.users", "admin"),
                 NavItem("API 令牌", "console.tokens"),
                 NavItem("审计日志", "console.audit_log"),
                 NavItem("区划与服务站", "console.places_page"),
                 NavItem("接口文档", "api_docs.docs_page"))),
)


def console_nav() -> list[dict]:
    """The navigation for the signed-in user, grouped, with the current page marked."""
    user = current_user.info if current_user.is_authenticated else None
    groups = []
    for title, items in NAV:
        shown = [{"label": item.label, "url": url_for(item.endpoint),
                  "current": request.endpoint == item.endpoint or request.endpoint in item.also}
                 for item in items if user is not None and user.can(item.role)]
        if shown:
            groups.append({"title": title, "items": shown, "current": any(i["current"] for i in shown)})
    return groups


bp.add_app_template_global(console_nav)


@bp.app_context_processor
def _globals() -> dict:
    return {"role_names": ROLE_NAMES_ZH, "status_names": registry.STATUS_NAMES_ZH, "county_names": XIANGXI_COUNTIES,
            "station_kinds": STATION_KIND_NAMES_ZH, "platform_names": PLATFORM_NAMES_ZH,
            "board_names": BOARD_NAMES_ZH, "board_titles": BOARD_TITLES_ZH, "level_names": TARGET_LEVEL_NAMES_ZH,
            "field_name": S.field_name, "organizer_name": organizer_name()}


@bp.before_request
def _csrf_for_forms():
    if request.endpoint in ("console.participants_import", "console.targets_import"):
        request.max_content_length = organizer.IMPORT_MAX_BYTES  # before the form is parsed
    if request.method in UNSAFE_METHODS:
        csrf.protect()  # raises CSRFError (400) without a valid token


@bp.errorhandler(CSRFError)
def csrf_failed(_exc):
    return render_template("console/message.html", title="请求被拒绝",
                           message="表单安全令牌缺失或已过期，请返回刷新页面后重试。"), 400


@bp.errorhandler(429)
def _too_many(_exc):
    return render_template("console/login.html", error="登录尝试过于频繁，请一分钟后再试。"), 429


@bp.errorhandler(Forbidden)
def county_scope_refused(exc: Forbidden):
    """A county user and another county's participant, station or region: the 403 page."""
    return render_template("console/message.html", title="无权访问", message=exc.message), 403


def forbidden(role: str):
    return render_template("console/message.html", title="无权访问",
                           message=f"此操作需要“{ROLE_NAMES_ZH[role]}”或更高的角色。"), 403


def not_found(message: str):
    return render_template("console/message.html", title="未找到", message=message), 404


# -- forms: errors next to their fields ----------------------------------------------------------
# Which form field a config-store refusal is about (its message is already in Chinese).
CONFIG_ERROR_FIELDS = {
    "invalid_days": "last_day", "invalid_slug": "slug", "slug_taken": "slug", "invalid_name": "name",
    "invalid_boards": "boards", "reason_required": "reason", "invalid_board": "board",
    "participant_not_found": "participant_id", "account_taken": "account", "invalid_account": "account",
    "unknown_region": "region_code", "station_level_mismatch": "region_code", "invalid_station_name": "name",
    "station_exists": "name", "invalid_token_name": "name", "invalid_role": "role", "weak_password": "password",
    "invalid_username": "username", "username_taken": "username", "name_taken": "name",
}


class FormErrors(dict):
    """field -> message, for the form that was sent (empty when it was fine)."""


def _attempt(action: Callable[[], Any], success: str | None = None, errors: FormErrors | None = None) -> Any:
    """Run a change. On a refusal: mark the fields in `errors` (when given) and flash one message
    naming them in Chinese; return None. On success flash `success` and return the result."""
    try:
        result = action()
    except Forbidden:
        raise  # a county user outside their counties: the 403 page (county_scope_refused)
    except ApiError as exc:
        messages = S.field_messages(exc.details)
        if errors is not None and messages:
            errors.update(messages)
            flash(f"请修改标出的项：{'、'.join(S.field_name(k) for k in messages)}", "error")
        else:
            flash(exc.message, "error")  # the schemas' messages already name the fields in Chinese
        return None
    except ConfigError as exc:
        field = CONFIG_ERROR_FIELDS.get(exc.code)
        if errors is not None and field:
            errors[field] = exc.message
        flash(exc.message, "error")
        return None
    if success:
        flash(success, "ok")
    return result if result is not None else True


# -- lists: search and pages -------------------------------------------------------------------
PER_PAGE = 20


@dataclass(frozen=True)
class Pager:
    items: list
    page: int
    pages: int
    total: int
    per_page: int

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.page * self.per_page, self.total)

    def url(self, page: int) -> str:
        args = {k: v for k, v in request.args.items() if k != "page" and v}
        return url_for(str(request.endpoint), **{**(request.view_args or {}), **args, "page": page})

    def window(self, width: int = 2) -> list[int | None]:
        """Page numbers to link, None for a gap: 1 … 4 5 [6] 7 8 … 20."""
        shown = sorted({1, self.pages, *range(max(1, self.page - width), min(self.pages, self.page + width) + 1)})
        out: list[int | None] = []
        for number in shown:
            if out and number - (out[-1] or 0) > 1:
                out.append(None)
            out.append(number)
        return out


def _page_arg() -> int:
    raw = request.args.get("page", "1")
    try:
        return max(1, min(tolerant.parse_int(raw, minimum=1), 10**6))
    except tolerant.InputError:
        return 1


def paginate(items: list, per_page: int = PER_PAGE, total: int | None = None, page: int | None = None) -> Pager:
    """A page of `items` (all of them, or — with `total` — the page already cut by the database)."""
    page = page or _page_arg()
    count = len(items) if total is None else total
    pages = max(1, math.ceil(count / per_page))
    page = min(page, pages)
    shown = items[(page - 1) * per_page: page * per_page] if total is None else items
    return Pager(shown, page, pages, count, per_page)


def search(items: Iterable[dict], query: str, *keys: str) -> list[dict]:
    """Items where any of `keys` contains the query (case-insensitive; lists are joined)."""
    needle = tolerant.fold(query).lower()
    if not needle:
        return list(items)

    def text(item: dict, key: str) -> str:
        value = item.get(key)
        return " ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value or "")

    return [item for item in items if any(needle in text(item, key).lower() for key in keys)]


def _query() -> str:
    return request.args.get("q", "").strip()[:100]


# -- login -------------------------------------------------------------------------------------
@bp.route("/login", methods=["GET", "POST"])
@login_limits
def login():
    if request.method == "GET":
        return render_template("console/login.html", error=None)
    user = accounts.authenticate(current_runtime().sessions, request.form.get("username", "").strip(),
                                 request.form.get("password", ""))
    if user is None:
        return render_template("console/login.html", error="用户名或密码错误"), 401
    log_in(user)
    target = request.args.get("next") or ""
    # only a local console path: never an open redirect
    if not target.startswith("/console/") or target.startswith("//"):
        target = url_for("console.dashboard")
    return redirect(target)


@bp.post("/logout")
def logout():
    log_out()
    return redirect(url_for("console.login"))


# -- overview ----------------------------------------------------------------------------------
@bp.get("/")
@console_auth("viewer")
def dashboard():
    runtime = current_runtime()
    campaigns = registry.all_campaigns(runtime.sessions)
    featured = organizer.featured_campaign(campaigns, request.args.get("campaign"))
    return render_template("console/dashboard.html", health=organizer.ingestion_health(runtime), campaigns=campaigns,
                           overview=organizer.overview(runtime, featured) if featured else None)


# -- campaigns ---------------------------------------------------------------------------------
def _campaign_form() -> dict:
    form = request.form
    freeze = form.get("freeze_at", "").strip()
    return {"name": form.get("name", "").strip(), "first_day": form.get("first_day", "").strip(),
            "last_day": form.get("last_day", "").strip(), "freeze_at": freeze or None,
            "boards": form.getlist("boards")}


def _check_boards(data: dict, errors: FormErrors) -> bool:
    if not data["boards"]:
        errors["boards"] = "请至少选择一个榜单"
        flash("请修改标出的项：展示的榜单", "error")
        return False
    return True


@bp.get("/campaigns")
@console_auth("viewer")
def campaigns():
    listed = registry.all_campaigns(current_runtime().sessions)
    query = _query()
    if query:
        listed = [c for c in listed if tolerant.fold(query).lower() in f"{c.slug} {c.name}".lower()]
    return render_template("console/campaigns.html", campaigns=listed, q=query)


@bp.route("/campaigns/new", methods=["GET", "POST"])
@console_auth("operator")
def campaign_new():
    errors = FormErrors()
    if request.method == "POST":
        data = {"slug": request.form.get("slug", "").strip(), **_campaign_form()}
        data = {k: v for k, v in data.items() if v != ""}  # a blank input on a new campaign: not given yet
        created = _check_boards(data, errors) and _attempt(
            lambda: registry.create_campaign(current_runtime().sessions, **S.load(S.CampaignCreate, data)),
            "活动已创建（草稿）。确认无误后点击“启用活动”。", errors)
        if created:
            return redirect(url_for("console.campaign_detail", slug=created.slug))
        return render_template("console/campaign_form.html", campaign=None, form=request.form, errors=errors), 400
    return render_template("console/campaign_form.html", campaign=None, form={}, errors=errors)


@bp.route("/campaigns/<slug>", methods=["GET", "POST"])
@console_auth("viewer")
def campaign_detail(slug: str):
    runtime = current_runtime()
    campaign = registry.get_campaign(runtime.sessions, slug)
    if campaign is None:
        return not_found(f"活动 {slug} 不存在")
    errors, status = FormErrors(), 200
    form: Any = {}
    if request.method == "POST":
        if not current_user.info.can("operator"):
            return forbidden("operator")
        data = _campaign_form()
        updated = _check_boards(data, errors) and _attempt(
            lambda: registry.update_campaign(runtime.sessions, slug, **S.load(S.CampaignUpdate, data)), "活动已保存",
            errors)
        if updated:
            return redirect(url_for("console.campaign_detail", slug=slug))
        form, status = request.form, 400
    boards = {board: (snapshots.latest(runtime.sessions, slug, board, "campaign", slug) if board in campaign.boards
                      else None) for board in BOARDS}
    summary = snapshots.load_summary(runtime.sessions, slug)
    return render_template("console/campaign_detail.html", campaign=campaign, boards=boards,
                           summary=summary[1] if summary else None, summary_at=summary[0] if summary else None,
                           transitions=registry.TRANSITIONS[campaign.status], form=form, errors=errors,
                           disqualifications=registry.list_disqualifications(runtime.sessions, slug),
                           names={board: registry.names(runtime.sessions, board) for board in BOARDS}), status


@bp.post("/campaigns/<slug>/status")
@console_auth("operator")
def campaign_status(slug: str):
    status = request.form.get("status", "")
    _attempt(lambda: registry.transition_campaign(current_runtime().sessions, slug,
                                                  S.load(S.StatusChange, {"status": status})["status"]),
             f"活动状态已改为“{registry.STATUS_NAMES_ZH.get(status, status)}”")
    return redirect(url_for("console.campaign_detail", slug=slug))


@bp.post("/campaigns/<slug>/disqualify")
@console_auth("operator")
def campaign_disqualify(slug: str):
    data = {k: request.form.get(k, "").strip() for k in ("board", "participant_id", "reason")}
    runtime = current_runtime()

    def run():
        loaded = S.load(S.DisqualifyIn, data)
        known = registry.names(runtime.sessions, loaded["board"])
        if loaded["participant_id"] not in known:
            raise ConfigError("participant_not_found", f"编号 {loaded['participant_id']} 未登记为"
                                                       f"{BOARD_NAMES_ZH[loaded['board']]}")
        registry.disqualify(runtime.sessions, slug, **loaded)

    _attempt(run, f"已取消 {data['participant_id']} 的资格，下一次排名起移出榜单")
    return redirect(url_for("console.campaign_detail", slug=slug))


@bp.post("/campaigns/<slug>/requalify")
@console_auth("operator")
def campaign_requalify(slug: str):
    board, participant_id = request.form.get("board", ""), request.form.get("participant_id", "")
    _attempt(lambda: registry.requalify(current_runtime().sessions, slug, board, participant_id), f"已恢复 {participant_id} 的资格")
    return redirect(url_for("console.campaign_detail", slug=slug))


# -- participants ------------------------------------------------------------------------------
def _participants_page(report: dict | None = None, status: int = 200):
    board = request.args.get("board", "hosts")
    board = board if board in BOARDS else "hosts"
    query = _query()
    listed = registry.list_participants(current_runtime().sessions, board, counties=current_user.info.scope)
    for item in listed:
        item["county_name"] = XIANGXI_COUNTIES.get(item["county"], item["county"])
        item["accounts_zh"] = [_account_zh(a) for a in item["accounts"]]
    found = search(listed, query, "id", "name", "county", "county_name", "accounts", "accounts_zh", "credit_code")
    return render_template("console/participants.html", board=board, report=report, q=query, total=len(listed),
                           pager=paginate(found)), status


def _account_zh(account: str) -> str:
    platform, _, name = account.partition(":")
    return f"{PLATFORM_NAMES_ZH.get(platform, platform)}：{name}"


@bp.get("/participants")
@console_auth("viewer")
def participants():
    return _participants_page()


@bp.get("/participants/template.xlsx")
@console_auth("viewer")
def participants_template():
    return _file(organizer.participants_template_xlsx(), "participants-template.xlsx", XLSX, "主播与企业导入模板.xlsx")


@bp.post("/participants/import")
@console_auth("operator")
def participants_import():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要上传的 .csv 或 .xlsx 文件", "error")
        return _participants_page(status=400)
    report = _attempt(lambda: organizer.report_dict(organizer.import_file(current_runtime(), upload.filename,
                                                                          upload.read(),
                                                                          counties=current_user.info.scope)))
    if report:
        warned = f"，需核对 {len(report['warnings'])} 行" if report["warnings"] else ""
        flash(f"已导入主播 {report['hosts']} 名、企业 {report['enterprises']} 家；有问题的行 {report['bad_rows']} 行{warned}",
              "ok" if not report["bad_rows"] else "error")
    return _participants_page(report or None)


def _file(content: bytes, filename: str, mimetype: str, filename_zh: str | None = None) -> Response:
    """A download; browsers that read RFC 5987 get the Chinese file name."""
    response = Response(content, mimetype=mimetype)
    disposition = f"attachment; filename={filename}"
    if filename_zh:
        disposition += f"; filename*=UTF-8''{quote(filename_zh)}"
    response.headers["Content-Disposition"] = disposition
    return response


# -- WeChat binding codes ----------------------------------------------------------------------
BINDING_FILTERS = {"": "全部", "none": "未发码", "issued": "已发码，待绑定", "expired": "绑定码已失效", "bound": "已绑定"}


@bp.get("/bindings")
@console_auth("viewer")
def bindings():
    runtime = current_runtime()
    rows = organizer.binding_rows(runtime)
    state = request.args.get("state", "")
    state = state if state in BINDING_FILTERS else ""
    counts = {key: sum(1 for r in rows if r["binding"] == key) for key in BINDING_FILTERS if key}
    for row in rows:
        row["county_name"] = XIANGXI_COUNTIES.get(row["county"], row["county"])
    found = search([r for r in rows if not state or r["binding"] == state], _query(), "id", "name", "county_name")
    return render_template("console/bindings.html", pager=paginate(found), q=_query(), state=state, counts=counts,
                           filters=BINDING_FILTERS, total=len(rows), wechat=runtime.settings.wechat_enabled,
                           ttl_hours=runtime.settings.mp_bind_code_ttl_seconds // 3600)


@bp.post("/bindings/<host_id>/code")
@console_auth("operator")
def binding_issue(host_id: str):
    issued = _attempt(lambda: organizer.issue_bind_codes(current_runtime(), [host_id]))
    if not issued:
        return redirect(url_for("console.bindings"))
    code = issued[0]
    return render_template("console/binding_code.html", code=code,
                           png=base64.b64encode(code.png).decode("ascii") if code.png else None,
                           wechat=current_runtime().settings.wechat_enabled)


@bp.post("/bindings/export")
@console_auth("operator")
def bindings_export():
    """New codes for the chosen hosts (unbound ones, or all) as a spreadsheet to hand out."""
    runtime = current_runtime()
    scope = request.form.get("scope", "unbound")
    rows = organizer.binding_rows(runtime)
    host_ids = [r["id"] for r in rows if scope == "all" or r["binding"] != "bound"]
    if not host_ids:
        flash("没有需要生成绑定码的主播", "error")
        return redirect(url_for("console.bindings"))
    issued = _attempt(lambda: organizer.issue_bind_codes(runtime, host_ids, with_image=False))
    if not issued:
        return redirect(url_for("console.bindings"))
    today = local_day(runtime.clock.now()).isoformat()
    return _file(organizer.bind_codes_xlsx(issued), f"bind-codes-{today}.xlsx", XLSX, f"主播绑定码-{today}.xlsx")


# -- sources -----------------------------------------------------------------------------------
def _sources_page(new_secret: dict | None = None, errors: FormErrors | None = None, status: int = 200):
    listed = search(sources.list_sources(current_runtime().sessions), _query(), "name", "description")
    return render_template("console/sources.html", pager=paginate(listed), q=_query(), new_secret=new_secret,
                           errors=errors or FormErrors(), form=request.form if errors else {},
                           webhook_base=request.host_url.rstrip("/") + "/v1/webhooks/"), status


@bp.get("/sources")
@console_auth("viewer")
def sources_page():
    return _sources_page()


def _scope_form() -> dict:
    """The scope fields of a source form: platform boxes (none ticked: any), campaigns and enterprises
    as lists typed with any of the usual separators (empty: any)."""
    def listed(name: str) -> list[str] | None:
        values = [v.strip() for v in re.split(r"[,，;；、\s]+", tolerant.fold(request.form.get(name, ""))) if v.strip()]
        return values or None

    return {"platforms": request.form.getlist("platforms") or None, "campaigns": listed("campaigns"),
            "enterprises": listed("enterprises")}


@bp.post("/sources/scope")
@console_auth("admin")
def source_scope_form():
    name = request.form.get("name", "").strip()
    _attempt(lambda: organizer.set_source_scope(current_runtime(), name, **S.load(S.SourceScopeIn, _scope_form())),
             f"数据来源 {name} 的上报范围已更新")
    return redirect(url_for("console.sources_page"))


@bp.post("/sources")
@console_auth("admin")
def source_create():
    data = {"name": request.form.get("name", "").strip(), "description": request.form.get("description", "").strip(),
            **_scope_form()}
    errors = FormErrors()
    secret = _attempt(lambda: organizer.create_source(current_runtime(), **S.load(S.SourceCreate, data)),
                      f"数据来源 {data['name']} 已创建", errors)
    if not secret:
        return _sources_page(errors=errors, status=400)
    return _sources_page({"name": data["name"], "secret": secret})


@bp.post("/sources/<name>/rotate")
@console_auth("admin")
def source_rotate(name: str):
    secret = _attempt(lambda: organizer.rotate_source(current_runtime(), name), f"已为 {name} 生成新密钥，旧密钥在下次轮换前仍有效")
    return _sources_page({"name": name, "secret": secret} if secret else None)


@bp.post("/sources/<name>/revoke")
@console_auth("admin")
def source_revoke(name: str):
    _attempt(lambda: organizer.revoke_source(current_runtime(), name), f"数据来源 {name} 已吊销，此后的推送将被拒绝（401）")
    return redirect(url_for("console.sources_page"))


# -- unattributed ------------------------------------------------------------------------------
def _unattributed_page(errors: FormErrors | None = None, status: int = 200):
    runtime = current_runtime()
    campaign = request.args.get("campaign") or None
    groups = organizer.unattributed(runtime, campaign)
    rows = [{**g.as_dict(), "platform_zh": PLATFORM_NAMES_ZH.get(g.platform, g.platform)} for g in groups]
    found = search(rows, _query(), "campaign", "platform", "platform_zh", "host", "enterprise", "reasons_zh")
    return render_template("console/unattributed.html", pager=paginate(found), totals=organizer.totals(groups),
                           q=_query(), campaign=campaign or "", campaigns=registry.all_campaigns(runtime.sessions),
                           errors=errors or FormErrors(), form=request.form if errors else {}), status


@bp.get("/unattributed")
@console_auth("viewer")
def unattributed():
    return _unattributed_page()


@bp.post("/unattributed/reattribute")
@console_auth("operator")
def reattribute():
    data = {k: request.form.get(k, "").strip() for k in ("board", "platform", "account", "participant_id")}
    errors = FormErrors()
    done = _attempt(lambda: _reattribute(data), None, errors)
    if not done:
        return _unattributed_page(errors, 400)
    flash(f"账号 {PLATFORM_NAMES_ZH.get(done['platform'], done['platform'])}:{done['account']} 已归属 "
          f"{done['participant_id']}，下一次排名计算起计入榜单", "ok")
    return redirect(url_for("console.unattributed"))


def _reattribute(data: dict) -> dict:
    loaded = S.load(S.Reattribute, data)
    registry.register_account(current_runtime().sessions, loaded["board"], loaded["platform"], loaded["account"],
                              loaded["participant_id"])
    return loaded


# -- what the writer set aside ---------------------------------------------------------------------
@bp.get("/set-aside")
@console_auth("viewer")
def set_aside():
    """Refunds held until their order arrives, and ids sent again with other content."""
    runtime = current_runtime()
    try:
        held, conflicts, available = ingestion.held_refunds(runtime.store), ingestion.conflicts(runtime.store), True
    except StoreError:
        held, conflicts, available = [], [], False
    for conflict in conflicts:  # what differs, named and shown for people
        conflict["differences"] = [{"field": tolerant.field_name(f), "stored": _shown(conflict["stored"].get(f)),
                                    "incoming": _shown(conflict["incoming"].get(f))} for f in conflict["changed_fields"]]
    return render_template("console/set_aside.html", held=held, conflicts=conflicts, available=available,
                           health=organizer.ingestion_health(runtime))


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict):
        return "，".join(f"{tolerant.field_name(k)} {v}" for k, v in value.items())
    return str(value)


# -- audit, tokens, users ------------------------------------------------------------------------
AUDIT_PER_PAGE = 30


@bp.get("/audit")
@console_auth("viewer")
def audit_log():
    args = request.args
    filters: dict[str, Any] = {"actor": args.get("actor") or None, "target_type": args.get("target_type") or None,
                               "target_id": (args.get("target_id") or "").strip() or None,
                               "action": args.get("action") if args.get("action") in audit.ACTION_NAMES_ZH else None}
    errors = FormErrors()
    for key, name in (("first_day", "since"), ("last_day", "until")):
        raw = (args.get(name) or "").strip()
        try:
            filters[key] = tolerant.parse_date(raw) if raw else None
        except tolerant.InputError as exc:
            errors[name], filters[key] = exc.message, None
    runtime = current_runtime()
    page = _page_arg()
    entries, total = audit.search(runtime.sessions, **filters, page=page, per_page=AUDIT_PER_PAGE)
    pager = paginate([audit.readable(e) for e in entries], AUDIT_PER_PAGE, total=total, page=page)
    return render_template("console/audit.html", pager=pager, actors=audit.actors(runtime.sessions), errors=errors,
                           tables=audit.TABLE_NAMES_ZH, actions=audit.ACTION_NAMES_ZH, args=args)


@bp.route("/tokens", methods=["GET", "POST"])
@console_auth("viewer")
def tokens():
    user = current_user.info
    new_token, errors, status = None, FormErrors(), 200
    if request.method == "POST":
        if not user.can("operator"):
            return forbidden("operator")
        name = request.form.get("name", "").strip()
        created = _attempt(lambda: accounts.create_token(current_runtime().sessions, user.username,
                                                         S.load(S.TokenCreate, {"name": name})["name"]),
                           "令牌已创建。它只显示这一次，请立即复制保存。", errors)
        new_token = created[1] if created else None
        status = 200 if created else 400
    listed = accounts.list_tokens(current_runtime().sessions, None if user.can("admin") else user.username)
    listed.reverse()  # newest first
    found = search(listed, _query(), "username", "name", "hint")
    return render_template("console/tokens.html", new_token=new_token, pager=paginate(found), q=_query(),
                           errors=errors, form=request.form if errors else {}), status


@bp.post("/tokens/<int:token_id>/revoke")
@console_auth("operator")
def token_revoke(token_id: int):
    user = current_user.info
    _attempt(lambda: accounts.revoke_token(current_runtime().sessions, token_id, owner=None if user.can("admin") else user.username),
             "令牌已吊销")
    return redirect(url_for("console.tokens"))


@bp.route("/users", methods=["GET", "POST"])
@console_auth("admin")
def users():
    errors, status = FormErrors(), 200
    if request.method == "POST":
        data = {k: request.form.get(k, "") for k in ("username", "password", "role")}
        if _attempt(lambda: accounts.create_user(current_runtime().sessions, **S.load(S.UserCreate, data)),
                    f"用户 {data['username']} 已创建", errors):
            return redirect(url_for("console.users"))
        status = 400
    listed = search(accounts.list_users(current_runtime().sessions), _query(), "username", "role")
    return render_template("console/users.html", pager=paginate(listed), q=_query(), roles=ROLES, errors=errors,
                           form=request.form if errors else {}), status


@bp.post("/users/<username>")
@console_auth("admin")
def user_update(username: str):
    if username == current_user.info.username:
        flash("不能修改自己的角色或停用自己", "error")
        return redirect(url_for("console.users"))
    data: dict[str, Any] = {"role": request.form.get("role") or None}
    if "active" in request.form:
        data["active"] = request.form.get("active") == "1"
    data = {k: v for k, v in data.items() if v is not None}
    _attempt(lambda: accounts.update_user(current_runtime().sessions, username, **S.load(S.UserUpdate, data)), f"用户 {username} 已更新")
    return redirect(url_for("console.users"))


# -- regions and stations ------------------------------------------------------------------------
@bp.route("/places", methods=["GET", "POST"])
@console_auth("viewer")
def places_page():
    runtime = current_runtime()
    errors, status = FormErrors(), 200
    if request.method == "POST":
        if not current_user.info.can("operator"):
            return forbidden("operator")
        data = {k: request.form.get(k, "").strip() for k in ("kind", "region_code", "name")}
        try:  # a county user: only a station in their counties (the form's own errors come below)
            require_county(current_user.info, places.county_of(S.load(S.StationCreate, data)["region_code"]), "服务站点")
        except ApiError:
            pass
        if _attempt(lambda: places.add_station(runtime.sessions, **S.load(S.StationCreate, data)),
                    f"服务站点 {data['name']} 已添加", errors):
            return redirect(url_for("console.places_page"))
        status = 400
    scope = current_user.info.scope  # a county user: their counties' regions and stations only
    regions = places.list_regions(runtime.sessions, counties=scope)
    region_names = {r["code"]: r["name"] for r in regions}
    stations = [{**s, "region_name": region_names.get(s["region_code"], s["region_code"])}
                for s in places.list_stations(runtime.sessions, counties=scope)]
    return render_template("console/places.html", regions=search(regions, _query(), "code", "name"), q=_query(),
                           region_names=region_names, stations=paginate(stations), errors=errors,
                           form=request.form if errors else {}), status


# -- annual targets (upload; the progress pages are under /console/awards) ----------------------
@bp.route("/targets/import", methods=["GET", "POST"])
@console_auth("viewer")
def targets_import():
    runtime = current_runtime()
    this_year = local_day(runtime.clock.now()).year
    errors, report, status = FormErrors(), None, 200
    year_text = request.values.get("year", str(this_year))
    try:
        year = tolerant.parse_int(year_text, minimum=1900)
        if year > 9999:
            raise tolerant.InputError("年份应为四位数字")
    except tolerant.InputError as exc:
        errors["year"], year = exc.message, this_year
    if request.method == "POST":
        if not current_user.info.can("operator"):
            return forbidden("operator")
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            errors["file"] = "请选择要上传的 .csv 或 .xlsx 文件"
        if errors:
            flash(f"请修改标出的项：{'、'.join(S.field_name(k) for k in errors)}", "error")
            status = 400
        else:
            report = _attempt(lambda: organizer.import_targets_file(runtime, upload.filename, upload.read(), year))
            if report:
                flash(f"已导入 {year} 年度目标 {report['kept']} 条；有问题的行 {report['bad_rows']} 行",
                      "ok" if not report["bad_rows"] else "error")
                for error in report["errors"]:
                    error["field_name"] = S.field_name(error["field"])
            else:
                status = 400
    try:
        progress = target_progress(runtime.sessions, runtime.store, year=year)
    except (StoreUnavailable, StoreRejected):  # the analytics store is down: the upload still works
        progress = None
    regions = [r for r in (progress or {}).get("regions", []) if r["annual_target_fen"]]
    return render_template("console/targets_import.html", year=year, year_text=year_text, errors=errors,
                           report=report, regions=regions, progress=progress), status


@bp.get("/targets/template.xlsx")
@console_auth("viewer")
def targets_template():
    year = local_day(current_runtime().clock.now()).year
    return _file(organizer.targets_template_xlsx(year), f"targets-template-{year}.xlsx", XLSX,
                 f"{year}年度目标导入模板.xlsx")
