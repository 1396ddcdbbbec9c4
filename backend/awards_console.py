"""Console pages for awards, boards by period and dimension, and targets (/console/awards...).

Kept apart from backend/console.py; the pages extend the console's layout and call the same
functions as the JSON API (configstore.awards, services.awards, services.boards)."""
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
from backend.awards_api import award_list_download, certificate_download, targets_download
from backend.console import UNSAFE_METHODS, csrf_failed
from configstore import awards as award_store
from configstore import registry
from configstore.accounts import ROLE_NAMES_ZH
from configstore.errors import ConfigError
from domain.boards import BOARD_NAMES_ZH, DIMENSION_NAMES_ZH, DIMENSIONS
from domain.money import format_yuan
from services import awards as award_compute
from services import boards as board_service
from services import fraud as fraud_compute
from services.certificates import CertificateError
from services.runtime import current_runtime

bp = Blueprint("awards_console", __name__, url_prefix="/console/awards", template_folder="templates")


@bp.before_request
def _csrf_for_forms():
    if request.method in UNSAFE_METHODS:
        csrf.protect()


bp.register_error_handler(CSRFError, csrf_failed)  # the console's page, not the API's JSON error


@bp.context_processor
def _globals() -> dict:
    return {"role_names": ROLE_NAMES_ZH, "yuan": format_yuan, "state_names": award_store.STATE_NAMES_ZH,
            "kinds": award_store.KINDS, "review_steps": award_store.REVIEW_STEP_NAMES_ZH,
            "period_names": board_service.PERIOD_NAMES_ZH, "dimension_names": DIMENSION_NAMES_ZH}



def _try(action, success: str) -> None:
    try:
        action()
        flash(success, "ok")
    except ConfigError as exc:
        flash(exc.message, "error")
    except ValueError as exc:
        flash(f"输入无效：{exc}", "error")


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
        min_yuan = (form.get("min_net_gmv_yuan") or "0").strip()
        award_compute.compute_and_store(runtime.sessions, runtime.store, kind=form.get("kind", ""),
                                        scope=form.get("scope", ""), scope_key=(form.get("scope_key") or "").strip(),
                                        min_net_gmv_fen=int(min_yuan) * 100,
                                        min_order_count=int((form.get("min_order_count") or "0").strip()),
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
    return render_template("awards/detail.html", award_list=award_list, can_admin=current_user.info.can("admin"),
                           can_operate=current_user.info.can("operator"))


@bp.post("/<int:list_id>/transition")
@console_auth("operator")
def transition(list_id: int):
    form = request.form
    state = form.get("state", "")
    if state == "final" and not current_user.info.can("admin"):
        flash("只有管理员可以定稿", "error")
        return redirect(url_for("awards_console.detail", list_id=list_id))

    def run():
        start, end = form.get("notice_start"), form.get("notice_end")
        award_store.transition(current_runtime().sessions, list_id, state,
                               notice_start=date.fromisoformat(start) if start else None,
                               notice_end=date.fromisoformat(end) if end else None)

    _try(run, f"名单已改为“{award_store.STATE_NAMES_ZH.get(state, state)}”")
    return redirect(url_for("awards_console.detail", list_id=list_id))


@bp.post("/<int:list_id>/adjust")
@console_auth("admin")
def adjust(list_id: int):
    form = request.form
    result = {}

    def run():
        amount = (form.get("amount_yuan") or "").strip()
        included = form.get("included")
        result.update(award_store.adjust(current_runtime().sessions, list_id, form.get("participant_id", "").strip(),
                                         reason=form.get("reason", ""),
                                         amount_fen=int(amount) * 100 if amount else None,
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
    year = request.args.get("year") or str(award_store.shanghai_today().year)
    progress = award_compute.target_progress(runtime.sessions, runtime.store, year=int(year)) if year.isdigit() else None
    return render_template("awards/targets.html", year=year, progress=progress)


@bp.get("/targets.xlsx")
@console_auth("viewer")
def targets_xlsx():
    runtime = current_runtime()
    year = int(request.args.get("year") or award_store.shanghai_today().year)
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
