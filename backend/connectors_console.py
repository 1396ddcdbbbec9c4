"""Console pages for native platform connections (平台对接, /console/connectors...).

Kept apart from backend/console.py; the pages extend the console's layout and call the same
functions as `liveboard connectors` (connectors.service, connectors.selftest, connectors.pull).
Admins create connections and change credentials; operators run the self-test, pull now and
change campaigns; everyone signed in sees the status.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from backend.auth import console_auth, csrf
from backend.console import UNSAFE_METHODS, csrf_failed
from configstore import connections as store
from configstore import registry
from configstore.accounts import ROLE_NAMES_ZH
from configstore.errors import ConfigError
from connectors import service
from connectors.access import PlatformAccess
from connectors.pull import pull_connection
from connectors.selftest import SamplePush, beijing, run_self_test
from domain.regions import XIANGXI_COUNTIES
from services.runtime import current_runtime

bp = Blueprint("connectors_console", __name__, url_prefix="/console/connectors", template_folder="templates")

CREDENTIAL_HINTS = {
    "app_key": "抖店、快手", "app_secret": "抖店、快手、微信小店", "sign_secret": "快手", "message_key": "快手（消息私钥）",
    "refresh_token": "快手必填；有赞工具型应用", "app_id": "微信小店", "token": "微信小店（消息推送 Token）",
    "encoding_aes_key": "微信小店", "client_id": "有赞", "client_secret": "有赞", "sign_method": "可不填",
}
SECRET_FIELDS = ("app_secret", "sign_secret", "message_key", "refresh_token", "token", "encoding_aes_key",
                 "client_secret")


@bp.before_request
def _csrf_for_forms():
    if request.method in UNSAFE_METHODS:
        csrf.protect()


bp.register_error_handler(CSRFError, csrf_failed)


@bp.context_processor
def _globals() -> dict:
    return {"role_names": ROLE_NAMES_ZH, "platform_names": store.PLATFORM_NAMES_ZH, "beijing": beijing,
            "county_names": XIANGXI_COUNTIES, "credential_hints": CREDENTIAL_HINTS, "secret_fields": SECRET_FIELDS,
            "field_names": service.FIELD_NAMES_ZH, "status_names": store.STATUS_NAMES_ZH}


def _access() -> PlatformAccess:
    access = current_app.extensions.get("liveboard.connector_access")
    if access is None:
        access = current_app.extensions.setdefault("liveboard.connector_access", PlatformAccess(current_runtime()))
    return access


def _base_url() -> str:
    return current_runtime().settings.connector_public_url or request.host_url.rstrip("/")


def _credentials_form() -> dict[str, str]:
    return {name: request.form.get(name, "").strip() for name in service.CREDENTIAL_FIELDS
            if name != "shop_id" and request.form.get(name, "").strip()}


def _rate(text: str) -> float:
    """The rate-limit field; anything unreadable becomes a value the store refuses with its message."""
    try:
        return float(text)
    except ValueError:
        return -1.0


def _try(action, success: str):
    try:
        result = action()
    except ConfigError as exc:
        flash(exc.message, "error")
        return None
    flash(success, "ok")
    return result


@bp.get("")
@console_auth("viewer")
def index():
    runtime = current_runtime()
    return render_template("console/connectors.html", views=service.views(runtime.sessions, runtime.secrets,
                                                                          clock=runtime.clock),
                           base_url=_base_url(), campaigns=registry.all_campaigns(runtime.sessions), form={})


@bp.post("")
@console_auth("admin")
def create():
    runtime = current_runtime()
    form = request.form
    rate = _rate(form.get("rate_limit_per_second") or "10")
    created = _try(lambda: service.create(
        runtime.sessions, runtime.secrets, platform=form.get("platform", ""), name=form.get("name", "").strip(),
        shop_id=form.get("shop_id", ""), enterprise_id=form.get("enterprise_id", ""),
        campaigns=form.getlist("campaigns"), county=form.get("county", ""), credentials=_credentials_form(),
        api_base_url=form.get("api_base_url", ""), rate_limit_per_second=rate),
        f"平台连接 {form.get('name', '')} 已创建。请把推送地址填到平台的消息推送设置里，然后点“自检”。")
    if created:
        return _back_to(created.name)
    return render_template("console/connectors.html", views=service.views(runtime.sessions, runtime.secrets,
                                                                          clock=runtime.clock),
                           base_url=_base_url(), campaigns=registry.all_campaigns(runtime.sessions),
                           form={k: v for k, v in form.items() if k not in SECRET_FIELDS}), 400


def _detail(name: str, self_test=None, status: int = 200):
    runtime = current_runtime()
    view = next((v for v in service.views(runtime.sessions, runtime.secrets, clock=runtime.clock)
                 if v.info.name == name), None)
    if view is None:
        return render_template("console/message.html", title="平台连接不存在", message=f"平台连接 {name} 不存在"), 404
    return render_template("console/connector_detail.html", view=view, push_url=service.push_url(_base_url(), name),
                           messages=store.list_messages(runtime.sessions, view.info.id, limit=30),
                           dead=store.list_messages(runtime.sessions, view.info.id, status=store.DEAD, limit=30),
                           campaigns=registry.all_campaigns(runtime.sessions), self_test=self_test), status


def _back_to(name: str):
    return redirect(url_for("connectors_console.detail", connection=name))


@bp.get("/<connection>")
@console_auth("viewer")
def detail(connection: str):
    return _detail(connection)


def _send_in_process(sample: SamplePush) -> tuple[int, bytes]:
    """Through the real push endpoint, inside this process (the server need not reach itself)."""
    answer = current_app.test_client().open(sample.path, method=sample.method, headers=sample.headers,
                                            query_string=sample.query, data=sample.body)
    return answer.status_code, answer.get_data()


@bp.post("/<connection>/test")
@console_auth("operator")
def self_test(connection: str):
    opened = _access().directory.get(connection)
    if opened is None:
        return _detail(connection)
    result = run_self_test(_access(), opened, _send_in_process)
    flash("自检通过" if result.ok else "自检未通过，请按下方提示检查", "ok" if result.ok else "error")
    return _detail(connection, self_test=result)


@bp.post("/<connection>/pull")
@console_auth("operator")
def pull_now(connection: str):
    opened = _access().directory.active(connection)
    if opened is None:
        flash("连接不存在或已停用", "error")
        return _back_to(connection)
    report = pull_connection(_access(), opened, owner=f"console:{current_user.info.username}")
    if report.skipped or report.error:
        flash(report.skipped or report.error, "error")
    else:
        flash(f"补单完成：平台列出 {report.listed} 条，新加入待处理 {report.enqueued} 条", "ok")
    return _back_to(connection)


@bp.post("/<connection>/credentials")
@console_auth("admin")
def credentials(connection: str):
    runtime = current_runtime()
    _try(lambda: service.replace_credentials(runtime.sessions, runtime.secrets, connection, _credentials_form()),
         "凭据已更新（留空的字段保持原值），旧的平台令牌已作废")
    _access().directory.invalidate(connection)
    return _back_to(connection)


@bp.post("/<connection>/settings")
@console_auth("operator")
def settings_(connection: str):
    runtime = current_runtime()
    form = request.form
    changes: dict[str, Any] = {"campaigns": form.getlist("campaigns"), "county": form.get("county", "").strip(),
               "rate_limit_per_second": _rate(form.get("rate_limit_per_second", ""))}
    if current_user.info.can("admin"):
        changes["api_base_url"] = form.get("api_base_url", "").strip()
    _try(lambda: store.update_connection(runtime.sessions, connection, **changes), "设置已保存")
    _access().directory.invalidate(connection)
    return _back_to(connection)


@bp.post("/<connection>/status")
@console_auth("admin")
def set_status(connection: str):
    status = request.form.get("status", "")
    _try(lambda: store.update_connection(current_runtime().sessions, connection, status=status),
         "连接已启用" if status == "active" else "连接已停用：此后的推送将被拒绝（404），平台会稍后重试")
    _access().directory.invalidate(connection)
    return _back_to(connection)
