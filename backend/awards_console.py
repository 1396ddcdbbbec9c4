"""Console pages for awards, boards by period and dimension, targets, the reward catalogue, the grant
ledger, applications and their review, budgets, enterprises' tax status per year, regions, station
scores, host milestones and county users (/console/awards...).

Kept apart from backend/console.py; the pages extend the console's layout and call the same
functions as the JSON API (configstore.*, services.awards, services.applications, services.budget).
County users reach only the county-aware pages (backend.auth.COUNTY_AWARE), for their counties."""
from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from backend.auth import console_auth, csrf
from backend.awards_api import award_list_download, certificate_download, download, targets_download
from backend.console import UNSAFE_METHODS, county_scope_refused, csrf_failed
from backend.ui import bj
from configstore import accounts, host_milestones, ledger, places, registry, tax
from configstore import applications as application_store
from configstore import awards as award_store
from configstore.accounts import ROLE_NAMES_ZH
from configstore.errors import ConfigError, Forbidden
from domain.awards import TAX_STATUS_NAMES_ZH
from domain.boards import BOARD_NAMES_ZH, DIMENSION_NAMES_ZH, DIMENSIONS
from domain.catalogue import CATALOGUE, applicable
from domain.ledger import STATUS_NAMES_ZH as PAYMENT_NAMES_ZH
from domain.money import format_yuan
from domain.regions import LEVEL_NAMES_ZH, XIANGXI_COUNTIES
from services import applications, budget, notices, organizer, spreadsheets
from services import awards as award_compute
from services import boards as board_service
from services import fraud as fraud_compute
from services.certificates import CertificateError
from services.runtime import current_runtime
from services.scope import require_county
from services.tolerant_input import InputError, fold, parse_date, parse_int, parse_yuan, split_amounts
from wechat.pushes import PushTemplates

bp = Blueprint("awards_console", __name__, url_prefix="/console/awards", template_folder="templates")


@bp.before_request
def _csrf_for_forms():
    if request.method in UNSAFE_METHODS:
        csrf.protect()


bp.register_error_handler(CSRFError, csrf_failed)  # the console's page, not the API's JSON error
bp.register_error_handler(Forbidden, county_scope_refused)  # 403 page: another county's object


@bp.context_processor
def _globals() -> dict:
    return {"role_names": ROLE_NAMES_ZH, "yuan": format_yuan, "state_names": award_store.STATE_NAMES_ZH,
            "kinds": award_store.KINDS, "review_steps": award_store.REVIEW_STEP_NAMES_ZH,
            "period_names": board_service.PERIOD_NAMES_ZH, "dimension_names": DIMENSION_NAMES_ZH,
            "county_names": XIANGXI_COUNTIES, "payment_names": PAYMENT_NAMES_ZH, "tax_names": TAX_STATUS_NAMES_ZH,
            "level_names": LEVEL_NAMES_ZH, "beijing": bj, "next_states": NEXT_STATES}


# The award workflow as explicit steps (never a state picker): each button names one move, with what
# it does; moving back to 草稿 is its own button and asks first. The list's current state travels with
# the form, so a page opened before someone else moved the list cannot move it again.
NEXT_STATES = {
    "draft": (("frozen", "冻结名单", "冻结后名单不能再调整，可进入公示。确定冻结吗？"),),
    "frozen": (("notice", "进入公示", "进入公示后，获奖主播会收到获奖通知（每个奖项一次）。确定进入公示吗？"),
               ("draft", "退回草稿（解除冻结）", "退回草稿后名单可再次调整，需重新冻结和公示。确定退回吗？")),
    "notice": (("final", "定稿", "定稿后奖励记入奖励台账，名单不能再改（只能生成新版本）。确定定稿吗？"),
               ("draft", "退回草稿（撤回公示）", "退回草稿将撤回公示，名单可再次调整，需重新冻结和公示。确定退回吗？")),
    "final": (),
}


def _try(action, success: str):
    """Run a change; flash its outcome in Chinese. A county user outside their counties gets the 403
    page (Forbidden propagates to county_scope_refused)."""
    try:
        result = action()
        flash(success, "ok")
        return result if result is not None else True
    except Forbidden:
        raise
    except ConfigError as exc:
        flash(exc.message, "error")
    except ValueError as exc:
        flash(f"输入无效：{exc}", "error")
    return None


def _fen(text: str | None, *, required: bool = False, label: str = "金额", positive: bool = True) -> int | None:
    """Yuan typed in a form ("10,000", "1.5万", "12,345.60元") -> fen; errors name the field in Chinese."""
    if not fold(text):
        if required:
            raise ConfigError("amount_required", f"请填写{label}（元）")
        return None
    try:
        fen = parse_yuan(text)
    except InputError as exc:
        raise ConfigError("invalid_amount", f"{label}：{exc.message}") from None
    if positive and fen <= 0:
        raise ConfigError("invalid_amount", f"{label}应大于 0（元）")
    return fen


def _count(text: str | None, label: str) -> int:
    """A whole number typed in a form ("10,000", "1万"); empty is 0."""
    if not fold(text):
        return 0
    try:
        return parse_int(text)
    except InputError as exc:
        raise ConfigError("invalid_number", f"{label}：{exc.message}") from None


def _date_field(text: str | None, label: str) -> date | None:
    """A day from a date picker (or typed: "2026/12/01", "2026年12月1日"); empty is None."""
    if not fold(text):
        return None
    try:
        return parse_date(text)
    except InputError as exc:
        raise ConfigError("invalid_date", f"{label}：{exc.message}") from None


def _year_field(text: str | None) -> int:
    raw = fold(text)
    if not (raw.isascii() and raw.isdigit() and len(raw) == 4):
        raise ConfigError("invalid_year", "年份应为四位数字，例如 2026")
    return int(raw)


def _this_year() -> int:
    return award_store.shanghai_today().year


@bp.get("")
@console_auth("viewer")
def index():
    return render_template("awards/index.html", lists=award_store.list_lists(current_runtime().sessions),
                           campaigns=registry.all_campaigns(current_runtime().sessions))


@bp.post("/compute")
@console_auth("operator")
def compute():
    form = request.form
    runtime = current_runtime()

    def run():
        award_compute.compute_and_store(runtime.sessions, runtime.store, kind=form.get("kind", ""),
                                        scope=form.get("scope", ""), scope_key=fold(form.get("scope_key")),
                                        min_net_gmv_fen=_fen(form.get("min_net_gmv_yuan"), label="评选最低净成交额",
                                                             positive=False) or 0,
                                        min_order_count=_count(form.get("min_order_count"), "评选最低订单数"),
                                        policy=form.get("policy") or "pay_difference")

    _try(run, "已计算并保存为草稿")
    return redirect(url_for("awards_console.index"))


@bp.get("/<int:list_id>")
@console_auth("viewer")
def detail(list_id: int):
    try:
        award_list = award_store.get_list(current_runtime().sessions, list_id)
    except ConfigError as exc:
        return render_template("console/message.html", title="未找到", message=exc.message), 404
    campaigns = {c.slug: c.name for c in registry.all_campaigns(current_runtime().sessions)}
    title = spreadsheets.list_title(award_list, spreadsheets.Directory(campaigns=campaigns))  # as the export's
    return render_template("awards/detail.html", award_list=award_list, title=title,
                           can_admin=current_user.info.can("admin"), can_operate=current_user.info.can("operator"))


@bp.post("/<int:list_id>/transition")
@console_auth("operator")
def transition(list_id: int):
    form = request.form
    state = form.get("state", "")
    if state == "final" and not current_user.info.can("admin"):
        flash("只有管理员可以定稿", "error")
        return redirect(url_for("awards_console.detail", list_id=list_id))

    def run():
        runtime = current_runtime()
        current = award_store.get_list(runtime.sessions, list_id)["state"]
        if form.get("from_state") != current:  # the page was opened before the list moved
            raise ConfigError("stale_state", f"名单已是“{award_store.STATE_NAMES_ZH[current]}”（其他人刚刚改过），"
                                             "请查看最新状态后再操作")
        award_compute.transition_list(runtime.sessions, list_id, state,
                                      notice_start=_date_field(form.get("notice_start"), "公示开始日期"),
                                      notice_end=_date_field(form.get("notice_end"), "公示结束日期"),
                                      accept_over_budget=form.get("accept_over_budget") == "1",
                                      notify=notices.award_notifier(PushTemplates.from_settings(runtime.settings)))

    _try(run, f"名单已改为“{award_store.STATE_NAMES_ZH.get(state, state)}”")
    return redirect(url_for("awards_console.detail", list_id=list_id))


@bp.post("/<int:list_id>/adjust")
@console_auth("admin")
def adjust(list_id: int):
    form = request.form
    result = {}

    def run():
        included = form.get("included")
        result.update(award_store.adjust(current_runtime().sessions, list_id, form.get("participant_id", "").strip(),
                                         reason=form.get("reason", ""),
                                         amount_fen=_fen(form.get("amount_yuan"), label="奖励金额", positive=False),
                                         included=None if included in (None, "") else included == "1",
                                         name=form.get("name") or None))

    _try(run, "已调整（记入审计日志）")
    return redirect(url_for("awards_console.detail", list_id=result.get("id", list_id)))


@bp.post("/<int:list_id>/review")
@console_auth("operator")
def review(list_id: int):
    form = request.form
    _try(lambda: award_store.record_review(current_runtime().sessions, list_id, form.get("participant_id", ""),
                                           step=form.get("step", ""), decision=form.get("decision", ""),
                                           note=form.get("note", "")), "评审记录已保存")
    return redirect(url_for("awards_console.detail", list_id=list_id))


@bp.get("/<int:list_id>/export.xlsx")
@console_auth("viewer")
def export(list_id: int):
    return award_list_download(award_store.get_list(current_runtime().sessions, list_id))


@bp.get("/<int:list_id>/certificates/<participant_id>.pdf")
@console_auth("viewer")
def certificate(list_id: int, participant_id: str):
    award_list = award_store.get_list(current_runtime().sessions, list_id)
    item = next((i for i in award_list["items"] if i["participant_id"] == participant_id and i["included"]), None)
    if item is None:
        return render_template("console/message.html", title="未找到", message="该获奖者不在名单上"), 404
    try:
        return certificate_download(award_list, item)
    except CertificateError as exc:
        return render_template("console/message.html", title="无法生成证书", message=str(exc)), 409


@bp.get("/boards")
@console_auth("viewer")
def boards():
    runtime = current_runtime()
    campaigns = [c for c in registry.all_campaigns(runtime.sessions) if c.status != "draft"]
    slug = request.args.get("campaign") or (campaigns[0].slug if campaigns else "")
    kind, key = request.args.get("period", "campaign"), request.args.get("key") or None
    dimension = request.args.get("dimension", "county")
    board = breakdown = history = None
    error = None
    campaign = next((c for c in campaigns if c.slug == slug), None)
    if campaign is not None:
        try:
            now = runtime.clock.now()
            period = board_service.resolve_period(campaign, kind, key, now)
            board = board_service.period_boards(runtime.sessions, runtime.store, campaign, period, now, organizer=True)
            breakdown = board_service.breakdown(runtime.sessions, runtime.store, campaign, period,
                                                dimension if dimension in DIMENSIONS else "county", now)
            if kind == "day" and key:
                history = board_service.published_day(runtime.sessions, campaign, period.first_day)
        except Exception as exc:  # an ApiError carries a Chinese message
            error = getattr(exc, "message", str(exc))
    return render_template("awards/boards.html", campaigns=campaigns, slug=slug, kind=kind, key=key or "",
                           dimension=dimension, board=board, breakdown=breakdown, history=history, error=error)


@bp.get("/targets")
@console_auth("viewer")
def targets():
    runtime = current_runtime()
    year = fold(request.args.get("year")) or str(award_store.shanghai_today().year)
    progress = error = None
    try:
        progress = award_compute.target_progress(runtime.sessions, runtime.store, year=_year_field(year))
    except ConfigError as exc:
        error = exc.message
    return render_template("awards/targets.html", year=year, progress=progress, error=error)


@bp.get("/targets.xlsx")
@console_auth("viewer")
def targets_xlsx():
    runtime = current_runtime()
    try:
        year = _year_field(request.args.get("year") or str(award_store.shanghai_today().year))
    except ConfigError as exc:
        return render_template("console/message.html", title="年份无效", message=exc.message), 400
    progress = award_compute.target_progress(runtime.sessions, runtime.store, year=year)
    return targets_download(progress)


@bp.get("/fraud")
@console_auth("viewer")
def fraud():
    runtime = current_runtime()
    campaigns = [c for c in registry.all_campaigns(runtime.sessions) if c.status != "draft"]
    slug = request.args.get("campaign") or (campaigns[0].slug if campaigns else "")
    board = request.args.get("board", "hosts")
    result = error = None
    if slug:
        try:
            result = fraud_compute.fraud_signals(runtime.sessions, runtime.store, slug,
                                                 board if board in BOARD_NAMES_ZH else "hosts")
        except ConfigError as exc:
            error = exc.message
    return render_template("awards/fraud.html", campaigns=campaigns, slug=slug, board=board, result=result,
                           error=error, board_names=BOARD_NAMES_ZH,
                           can_operate=current_user.info.can("operator"))


@bp.post("/fraud/disqualify")
@console_auth("operator")
def fraud_disqualify():
    form = request.form
    slug, board = form.get("campaign", ""), form.get("board", "hosts")
    participant_id = form.get("participant_id", "").strip()

    def run():
        if registry.get_campaign(current_runtime().sessions, slug) is None:
            raise ConfigError("campaign_not_found", f"活动 {slug} 不存在")
        registry.disqualify(current_runtime().sessions, slug, board, participant_id, (form.get("reason") or "").strip())

    _try(run, f"已取消 {participant_id} 的资格（下次排名时移出榜单，评选时不再入选）")
    return redirect(url_for("awards_console.fraud", campaign=slug, board=board))


# -- catalogue, ledger, budgets ------------------------------------------------------------------------
@bp.get("/catalogue")
@console_auth("viewer")
def catalogue():
    return render_template("awards/catalogue.html", rewards=list(CATALOGUE.values()))


@bp.get("/ledger")
@console_auth("viewer")
def ledger_page():
    args = request.args
    year = args.get("year", "").strip()
    entries = ledger.list_entries(current_runtime().sessions, year=int(year) if year.isdigit() else None,
                                  status=args.get("status") or None, search=(args.get("q") or "").strip() or None)
    return render_template("awards/ledger.html", entries=entries, year=year, status=args.get("status", ""),
                           q=args.get("q", ""), can_admin=current_user.info.can("admin"))


@bp.post("/ledger/<int:entry_id>/payment")
@console_auth("admin")
def ledger_payment(entry_id: int):
    form = request.form
    paid_on = (form.get("paid_on") or "").strip()
    status = form.get("status", "")
    _try(lambda: ledger.set_status(current_runtime().sessions, entry_id, status, note=form.get("note", ""),
                                   paid_on=_date_field(paid_on, "支付日期")),
         f"台账记录 {entry_id} 已登记为“{PAYMENT_NAMES_ZH.get(status, status)}”（记入审计日志）")
    back = request.form.get("back") or ""
    # only a local console page: never an open redirect
    if not back.startswith("/console/") or back.startswith("//"):
        back = url_for("awards_console.ledger_page")
    return redirect(back)


@bp.get("/budget")
@console_auth("viewer")
def budget_page():
    year = request.args.get("year") or str(_this_year())
    data = budget.overview(current_runtime().sessions, int(year)) if year.isdigit() and len(year) == 4 else None
    return render_template("awards/budget.html", year=year, data=data, can_admin=current_user.info.can("admin"))


@bp.post("/budget")
@console_auth("admin")
def budget_set():
    form = request.form
    _try(lambda: ledger.set_budget(current_runtime().sessions, form.get("holder", ""), _year_field(form.get("year")),
                                   _fen(form.get("amount_yuan"), required=True)), "预算已保存（记入审计日志）")
    return redirect(url_for("awards_console.budget_page", year=form.get("year", "")))


@bp.get("/budget.xlsx")
@console_auth("viewer")
def budget_xlsx():
    year = request.args.get("year") or str(_this_year())
    if not (year.isdigit() and len(year) == 4):
        return render_template("console/message.html", title="参数无效", message="年份应为四位数字"), 400
    return download(spreadsheets.budget_xlsx(budget.overview(current_runtime().sessions, int(year))),
                    spreadsheets.budget_filename(int(year)), spreadsheets.XLSX)


# -- enterprises: grants and tax status per year ---------------------------------------------------------
def _enterprise_or_404(enterprise_id: str):
    sessions = current_runtime().sessions
    county = registry.counties(sessions, "enterprises").get(enterprise_id)
    if county is None:
        return None
    require_county(current_user.info, county, "企业")
    return {"id": enterprise_id, "name": registry.names(sessions, "enterprises")[enterprise_id], "county": county}


@bp.get("/enterprises/<enterprise_id>")
@console_auth("viewer")
def enterprise(enterprise_id: str):
    found = _enterprise_or_404(enterprise_id)
    if found is None:
        return render_template("console/message.html", title="未找到", message=f"企业 {enterprise_id} 未登记"), 404
    sessions = current_runtime().sessions
    return render_template("awards/enterprise.html", enterprise=found, this_year=_this_year(),
                           entries=ledger.list_entries(sessions, recipient_id=enterprise_id),
                           taxes=tax.history(sessions, enterprise_id),
                           apps=application_store.list_applications(sessions, recipient_id=enterprise_id),
                           can_operate=current_user.info.can("operator"), can_admin=current_user.info.can("admin"))


@bp.post("/enterprises/<enterprise_id>/tax")
@console_auth("operator")
def enterprise_tax(enterprise_id: str):
    if _enterprise_or_404(enterprise_id) is None:
        return render_template("console/message.html", title="未找到", message=f"企业 {enterprise_id} 未登记"), 404
    form = request.form
    _try(lambda: tax.set_status(current_runtime().sessions, enterprise_id, _year_field(form.get("year")),
                                form.get("status", ""), form.get("note", "")),
         f"{form.get('year', '')} 年度纳税状态已保存（记入审计日志）")
    return redirect(url_for("awards_console.enterprise", enterprise_id=enterprise_id))


# -- applications ----------------------------------------------------------------------------------------
@bp.get("/applications", endpoint="applications")
@console_auth("viewer")
def applications_page():
    user = current_user.info
    state = request.args.get("state") or None
    rows = applications.list_applications(current_runtime().sessions, user, state=state)
    counties = {c: n for c, n in XIANGXI_COUNTIES.items() if user.covers(c)}
    return render_template("awards/applications.html", apps=rows, state=state or "", rewards=applicable(),
                           states=application_store.STATE_NAMES_ZH, counties=counties, this_year=_this_year(),
                           can_operate=user.can("operator"))


@bp.post("/applications/new")
@console_auth("operator")
def application_new():
    form = request.form
    reward = CATALOGUE.get(form.get("reward_code", ""))

    def run():
        return applications.create(current_runtime().sessions, current_user.info,
                                   reward_code=form.get("reward_code", ""), year=_year_field(form.get("year")),
                                   recipient_id=form.get("recipient_id", ""),
                                   recipient_name=form.get("recipient_name", ""),
                                   county_code=form.get("county_code", ""), summary=form.get("summary", ""),
                                   requested_amount_fen=None if reward is None or reward.fixed
                                   else _fen(form.get("requested_amount_yuan"), required=True))

    created = _try(run, "申报已登记，等待县市区初审。请上传证明材料。")
    if created:
        return redirect(url_for("awards_console.application_detail", application_id=created["id"]))
    return redirect(url_for("awards_console.applications"))


def _step_allowed(user, application: dict) -> bool:
    step = application["next_step"]
    if step is None:
        return False
    try:
        applications.check_step(user, application["county_code"], step)
    except ConfigError:
        return False
    return True


@bp.get("/applications/<int:application_id>")
@console_auth("viewer")
def application_detail(application_id: int):
    user = current_user.info
    try:
        application = applications.get(current_runtime().sessions, user, application_id)
    except Forbidden:
        raise
    except ConfigError as exc:
        return render_template("console/message.html", title="未找到", message=exc.message), 404
    return render_template("awards/application.html", app=application, can_step=_step_allowed(user, application),
                           can_upload=user.can("operator") and application["state"] in application_store.IN_REVIEW,
                           max_mb=application_store.MAX_FILE_BYTES // (1024 * 1024),
                           file_types=application_store.FILE_TYPES_ZH,
                           decisions=application_store.DECISIONS)


@bp.post("/applications/<int:application_id>/upload")
@console_auth("operator")
def application_upload(application_id: int):
    request.max_content_length = application_store.MAX_FILE_BYTES + 256 * 1024
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        require_county(current_user.info, application_store.county_of(current_runtime().sessions, application_id), "申报")
        flash("请选择要上传的证明材料", "error")
    else:
        _try(lambda: applications.add_file(current_runtime().sessions, current_user.info, application_id,
                                           upload.filename, upload.read()), f"已上传 {upload.filename}")
    return redirect(url_for("awards_console.application_detail", application_id=application_id))


@bp.get("/applications/<int:application_id>/files/<int:file_id>")
@console_auth("viewer")
def application_file(application_id: int, file_id: int):
    try:
        meta, content = applications.read_file(current_runtime().sessions, current_user.info, application_id, file_id)
    except Forbidden:
        raise
    except ConfigError as exc:
        return render_template("console/message.html", title="未找到", message=exc.message), 404
    return download(content, applications.evidence_name(application_id, meta), meta["content_type"])


@bp.post("/applications/<int:application_id>/step")
@console_auth("operator")
def application_step(application_id: int):
    form = request.form
    paid_on = (form.get("paid_on") or "").strip()

    def run():
        return applications.record_step(
            current_runtime().sessions, current_user.info, application_id, step=form.get("step", ""),
            decision=form.get("decision", ""), note=form.get("note", ""),
            amount_fen=_fen(form.get("amount_yuan")), accept_over_budget=form.get("accept_over_budget") == "1",
            paid_on=_date_field(paid_on, "支付日期"))

    _try(run, "评审记录已保存（记入审计日志）")  # a step this user may not record: Forbidden, the 403 page
    return redirect(url_for("awards_console.application_detail", application_id=application_id))


# -- stations, regions, milestones, county users -------------------------------------------------------
@bp.get("/stations")
@console_auth("viewer")
def stations():
    runtime = current_runtime()
    year = request.args.get("year") or str(_this_year())
    rows = []
    if year.isdigit() and len(year) == 4:
        progress, _ = award_compute.region_progress(runtime.sessions, runtime.store, year=int(year))
        scores = award_store.station_scores(runtime.sessions, int(year))
        for s in places.list_stations(runtime.sessions):
            node = progress.get(s["region_code"])
            rows.append({**s, "region_name": node.name if node else s["region_code"],
                         "volume_fen": node.actual_sales_fen if node else 0, "quality_score": scores.get(s["id"])})
    return render_template("awards/stations.html", year=year, stations=rows, can_operate=current_user.info.can("operator"))


@bp.post("/stations/<int:station_id>/score")
@console_auth("operator")
def station_score(station_id: int):
    form = request.form
    _try(lambda: award_store.set_station_score(current_runtime().sessions, station_id, _year_field(form.get("year")),
                                               form.get("quality_score", "")), "服务质量评分已保存")
    return redirect(url_for("awards_console.stations", year=form.get("year", "")))


@bp.get("/regions")
@console_auth("viewer")
def regions():
    user = current_user.info
    rows = places.list_regions(current_runtime().sessions, counties=user.scope)
    return render_template("awards/regions.html", regions=rows, report=None, can_operate=user.can("operator"))


@bp.post("/regions/import")
@console_auth("operator")
def regions_import():
    request.max_content_length = organizer.IMPORT_MAX_BYTES
    user = current_user.info
    upload = request.files.get("file")
    report = None
    if upload is None or not upload.filename:
        flash("请选择要上传的 .csv 或 .xlsx 文件", "error")
    else:
        report = _try(lambda: places.import_regions(current_runtime().sessions,
                                                    organizer.read_upload(upload.filename, upload.read()),
                                                    counties=user.scope).as_dict(), "区划表已读取")
    rows = places.list_regions(current_runtime().sessions, counties=user.scope)
    return render_template("awards/regions.html", regions=rows, report=report if isinstance(report, dict) else None,
                           can_operate=True)


@bp.route("/milestones", methods=["GET", "POST"])
@console_auth("viewer")
def milestones():
    runtime = current_runtime()
    campaigns = registry.all_campaigns(runtime.sessions)
    slug = request.values.get("campaign") or (campaigns[0].slug if campaigns else "")
    if request.method == "POST":
        if not current_user.info.can("operator"):
            from backend.console import forbidden

            return forbidden("operator")

        def run():
            parts = split_amounts(request.form.get("amounts_yuan"))
            return host_milestones.set_amounts(runtime.sessions, slug, [_fen(p, required=True) for p in parts])

        _try(run, "里程碑已保存：主播累计净成交额达到时，各发送一次“销售里程碑”消息")
        return redirect(url_for("awards_console.milestones", campaign=slug))
    amounts = host_milestones.amounts(runtime.sessions, slug).get(slug, []) if slug else []
    return render_template("awards/milestones.html", campaigns=campaigns, slug=slug, amounts=amounts,
                           hits=host_milestones.list_hits(runtime.sessions, slug) if slug else [],
                           names=registry.names(runtime.sessions, "hosts"), milestone_name=notices.milestone_name,
                           can_operate=current_user.info.can("operator"))


@bp.route("/county-users", methods=["GET", "POST"])
@console_auth("admin")
def county_users():
    sessions = current_runtime().sessions
    if request.method == "POST":
        username = request.form.get("username", "")
        if username == current_user.info.username:
            flash("不能限定自己的县市范围", "error")
        else:
            _try(lambda: accounts.set_counties(sessions, username, request.form.getlist("counties")),
                 f"用户 {username} 的县市范围已保存（该用户需重新登录）")
        return redirect(url_for("awards_console.county_users"))
    return render_template("awards/county_users.html", users=accounts.list_users(sessions))
