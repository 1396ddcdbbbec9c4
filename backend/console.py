"""The organizer console under /console: server-rendered zh-CN pages, session login, CSRF.

Every form posts to a view that validates with the same marshmallow schemas as the JSON API and
calls the same configstore functions, so the console and the API cannot disagree.
"""
from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from backend import admin_schemas as S
from backend.auth import console_auth, csrf, log_in, log_out, login_limits
from configstore import accounts, audit, places, registry, snapshots, sources
from configstore.accounts import ROLE_NAMES_ZH, ROLES
from configstore.errors import ConfigError, Forbidden
from configstore.places import STATION_KIND_NAMES_ZH
from domain.boards import BOARDS
from domain.regions import XIANGXI_COUNTIES
from services import organizer
from services.errors import ApiError
from services.runtime import current_runtime
from services.scope import require_county

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@bp.before_request
def _csrf_for_forms():
    if request.endpoint == "console.participants_import":
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


@bp.context_processor
def _globals() -> dict:
    return {"role_names": ROLE_NAMES_ZH, "status_names": registry.STATUS_NAMES_ZH, "county_names": XIANGXI_COUNTIES,
            "station_kinds": STATION_KIND_NAMES_ZH, "shanghai": registry.SHANGHAI}


@bp.errorhandler(Forbidden)
def county_scope_refused(exc: Forbidden):
    return render_template("console/message.html", title="无权访问", message=exc.message), 403


def forbidden(role: str):
    return render_template("console/message.html", title="无权访问",
                           message=f"此操作需要“{ROLE_NAMES_ZH[role]}”或更高的角色。"), 403




def _attempt(action: Callable[[], Any], success: str | None = None) -> Any:
    """Run a change; on a validation or config error flash it (in Chinese) and return None."""
    try:
        result = action()
    except Forbidden:
        raise  # a county user outside their counties: the 403 page (county_scope_refused)
    except ApiError as exc:
        details = exc.details if isinstance(exc.details, dict) else {}
        fields = "；".join(f"{name}：{'、'.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
                          for name, msgs in details.items())
        flash(f"{exc.message}{'（' + fields + '）' if fields else ''}", "error")
        return None
    except ConfigError as exc:
        flash(exc.message, "error")
        return None
    if success:
        flash(success, "ok")
    return result if result is not None else True


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
    return render_template("console/dashboard.html", health=organizer.ingestion_health(current_runtime()),
                           campaigns=registry.all_campaigns(current_runtime().sessions))


# -- campaigns ---------------------------------------------------------------------------------
def _campaign_form() -> dict:
    form = request.form
    freeze = form.get("freeze_at", "").strip()
    return {"name": form.get("name", "").strip(), "first_day": form.get("first_day", "").strip(),
            "last_day": form.get("last_day", "").strip(), "freeze_at": freeze.replace(" ", "T") if freeze else None,
            "boards": form.getlist("boards")}


@bp.get("/campaigns")
@console_auth("viewer")
def campaigns():
    return render_template("console/campaigns.html", campaigns=registry.all_campaigns(current_runtime().sessions))


@bp.route("/campaigns/new", methods=["GET", "POST"])
@console_auth("operator")
def campaign_new():
    if request.method == "POST":
        data = {"slug": request.form.get("slug", "").strip(), **_campaign_form()}
        created = _attempt(lambda: registry.create_campaign(current_runtime().sessions, **S.load(S.CampaignCreate, data)),
                           "活动已创建（草稿）。确认无误后点击“启用活动”。")
        if created:
            return redirect(url_for("console.campaign_detail", slug=created.slug))
        return render_template("console/campaign_form.html", campaign=None, form=request.form), 400
    return render_template("console/campaign_form.html", campaign=None, form={})


@bp.route("/campaigns/<slug>", methods=["GET", "POST"])
@console_auth("viewer")
def campaign_detail(slug: str):
    campaign = registry.get_campaign(current_runtime().sessions, slug)
    if campaign is None:
        return render_template("console/message.html", title="活动不存在", message=f"活动 {slug} 不存在"), 404
    if request.method == "POST":
        if not current_user.info.can("operator"):
            return forbidden("operator")
        updated = _attempt(lambda: registry.update_campaign(current_runtime().sessions, slug, **S.load(S.CampaignUpdate,
                                                                                       _campaign_form())),
                           "活动已保存")
        if updated:
            return redirect(url_for("console.campaign_detail", slug=slug))
    boards = {board: (snapshots.latest(current_runtime().sessions, slug, board, "campaign", slug) if board in campaign.boards
                      else None) for board in BOARDS}
    summary = snapshots.load_summary(current_runtime().sessions, slug)
    return render_template("console/campaign_detail.html", campaign=campaign, boards=boards,
                           summary=summary[1] if summary else None,
                           transitions=registry.TRANSITIONS[campaign.status],
                           disqualifications=registry.list_disqualifications(current_runtime().sessions, slug))


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
    _attempt(lambda: registry.disqualify(current_runtime().sessions, slug, **S.load(S.DisqualifyIn, data)),
             f"已取消 {data['participant_id']} 的资格")
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
    return render_template("console/participants.html", board=board, report=report,
                           participants=registry.list_participants(current_runtime().sessions, board,
                                                                   counties=current_user.info.scope)), status


@bp.get("/participants")
@console_auth("viewer")
def participants():
    return _participants_page()


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
        flash(f"已导入主播 {report['hosts']} 名、企业 {report['enterprises']} 家；有问题的行 {report['bad_rows']} 行",
              "ok" if not report["bad_rows"] else "error")
    return _participants_page(report or None)


# -- sources -----------------------------------------------------------------------------------
def _sources_page(new_secret: dict | None = None):
    return render_template("console/sources.html", sources=sources.list_sources(current_runtime().sessions), new_secret=new_secret,
                           webhook_base=request.host_url.rstrip("/") + "/v1/webhooks/")


@bp.get("/sources")
@console_auth("viewer")
def sources_page():
    return _sources_page()


@bp.post("/sources")
@console_auth("admin")
def source_create():
    data = {"name": request.form.get("name", "").strip(), "description": request.form.get("description", "").strip()}
    secret = _attempt(lambda: organizer.create_source(current_runtime(), **S.load(S.SourceCreate, data)),
                      f"数据来源 {data['name']} 已创建")
    return _sources_page({"name": data["name"], "secret": secret} if secret else None)


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
@bp.get("/unattributed")
@console_auth("viewer")
def unattributed():
    groups = organizer.unattributed(current_runtime(), request.args.get("campaign") or None)
    return render_template("console/unattributed.html", groups=groups, totals=organizer.totals(groups))


@bp.post("/unattributed/reattribute")
@console_auth("operator")
def reattribute():
    data = {k: request.form.get(k, "").strip() for k in ("board", "platform", "account", "participant_id")}
    _attempt(lambda: registry.register_account(current_runtime().sessions, **{**S.load(S.Reattribute, data)}),
             f"账号 {data['platform']}:{data['account']} 已归属 {data['participant_id']}，下一次排名计算起计入榜单")
    return redirect(url_for("console.unattributed"))


# -- audit, tokens, users ------------------------------------------------------------------------
@bp.get("/audit")
@console_auth("viewer")
def audit_log():
    before_id = request.args.get("before_id", "")
    entries = audit.list_entries(current_runtime().sessions, limit=100, before_id=int(before_id) if before_id.isdigit() else None,
                                 target_type=request.args.get("target_type") or None)
    return render_template("console/audit.html", entries=entries)


@bp.route("/tokens", methods=["GET", "POST"])
@console_auth("viewer")
def tokens():
    user = current_user.info
    new_token = None
    if request.method == "POST":
        if not user.can("operator"):
            return forbidden("operator")
        name = request.form.get("name", "").strip()
        created = _attempt(lambda: accounts.create_token(current_runtime().sessions, user.username,
                                                         S.load(S.TokenCreate, {"name": name})["name"]),
                           "令牌已创建。它只显示这一次，请立即复制保存。")
        new_token = created[1] if created else None
    return render_template("console/tokens.html", new_token=new_token,
                           tokens=accounts.list_tokens(current_runtime().sessions, None if user.can("admin") else user.username))


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
    if request.method == "POST":
        data = {k: request.form.get(k, "") for k in ("username", "password", "role")}
        _attempt(lambda: accounts.create_user(current_runtime().sessions, **S.load(S.UserCreate, data)),
                 f"用户 {data['username']} 已创建")
        return redirect(url_for("console.users"))
    return render_template("console/users.html", users=accounts.list_users(current_runtime().sessions), roles=ROLES)


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


# -- regions and stations (listing; changes go through the API or these forms) -----------------
@bp.route("/places", methods=["GET", "POST"])
@console_auth("viewer")
def places_page():
    if request.method == "POST":
        if not current_user.info.can("operator"):
            return forbidden("operator")
        data = {k: request.form.get(k, "").strip() for k in ("kind", "region_code", "name")}
        require_county(current_user.info, places.county_of(data["region_code"]), "服务站点")
        _attempt(lambda: places.add_station(current_runtime().sessions, **S.load(S.StationCreate, data)), f"服务站点 {data['name']} 已添加")
        return redirect(url_for("console.places_page"))
    scope = current_user.info.scope
    return render_template("console/places.html", regions=places.list_regions(current_runtime().sessions, counties=scope),
                           stations=places.list_stations(current_runtime().sessions, counties=scope))
