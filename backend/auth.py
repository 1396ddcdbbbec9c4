"""Who is asking: console sessions (Flask-Login), API bearer tokens, roles, CSRF, login limits.

- Console: a Flask session cookie (signed, HttpOnly, SameSite=Lax, Secure behind TLS). On login the
  whole session is cleared before the user is put in it, so nothing planted before login (a
  fixated session, an old CSRF token) survives: the cookie is a new one.
- CSRF: Flask-WTF's CSRFProtect, switched on only for the console's unsafe methods (its default
  check is off), so the webhook endpoint, the mini-program API and the bearer-token admin API,
  which carry no ambient credential, are never asked for a token.
- API: `Authorization: Bearer lbt_...` on /v1/admin; no session cookie is accepted there.
- Login attempts: every POST is counted, atomically, before the password is looked at: per client
  IP, per (user name, client IP), and per user name much higher; a successful login gives its
  count back. So concurrent guesses cannot pass the limit, and one client's flood does not lock
  the user out from anywhere else (only the user-wide limit, far above, is shared).
- Webhooks: per active source and client IP (LIVEBOARD_WEBHOOK_RATE_LIMIT), and one bucket per
  client IP for every other possible source name (UNKNOWN_SOURCE_LIMIT); names that cannot be a
  source are refused by the view before any counter exists. The view counts inline
  (`webhook_limit`), one storage hit and nothing else per request. A 429 is a JSON error with
  Retry-After, and nothing of a refused request reaches the event log.
- Platform pushes (/v1/connectors/<name>/push): the same limit and counters, per active connection
  and client IP, one bucket per client IP for every other possible connection name.
Counters live where Settings.rate_limit_storage() says (backend/ratelimits.py): in process on the
embedded default, Redis at scale-out, the config store as the fallback; every process of a
deployment counts against the same limit.
"""
from __future__ import annotations

import functools
import logging
import secrets
from datetime import timedelta

from flask import Flask, current_app, g, make_response, redirect, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect
from limits import RateLimitItem
from werkzeug.exceptions import TooManyRequests

from backend.ratelimits import RateLimits
from configstore import accounts
from configstore.accounts import UserInfo
from configstore.audit import acting_as
from configstore.errors import ConfigError
from services.errors import ApiError
from services.runtime import current_runtime

log = logging.getLogger(__name__)
login_manager = LoginManager()
csrf = CSRFProtect()
LIMITS_KEY = "liveboard.ratelimits"

# The only endpoints a county user (accounts.UserInfo.counties) may call: each filters by, or checks,
# the county of what it touches (services.scope). Every other organizer route is for prefecture users
# only, so a route added later is closed to county users until someone makes it county-aware.
COUNTY_AWARE = frozenset({
    "admin_api.me", "admin_api.list_participants", "admin_api.import_participants", "admin_api.list_regions",
    "admin_api.add_region", "admin_api.list_stations", "admin_api.add_station",
    "awards_api.list_catalogue", "awards_api.list_applications", "awards_api.create_application",
    "awards_api.get_application", "awards_api.upload_application_file", "awards_api.download_application_file",
    "awards_api.record_application_step", "awards_api.get_enterprise_awards", "awards_api.set_tax_status",
    "awards_api.import_regions",
    "console.participants", "console.participants_import", "console.places_page",
    "awards_console.catalogue", "awards_console.applications", "awards_console.application_new",
    "awards_console.application_detail", "awards_console.application_file", "awards_console.application_upload",
    "awards_console.application_step", "awards_console.enterprise", "awards_console.enterprise_tax",
    "awards_console.regions", "awards_console.regions_import",
})
COUNTY_FORBIDDEN_ZH = "县市账号只能办理本县市的主播、企业、服务站点和奖补申报；此操作由州级账号办理"
COUNTY_START_PAGE = "awards_console.applications"  # where a county user lands instead of the overview

# Login attempts, each counted before the password check (a success is given back).
LOGIN_LIMIT_PER_CLIENT = "20 per minute"  # every user name from one client IP
LOGIN_LIMIT_PER_USER_CLIENT = "5 per minute"  # one user name from one client IP
LOGIN_LIMIT_PER_USER = "100 per hour"  # one user name from anywhere: far above, so no one client locks it
# Webhooks naming no active source (valid names only): one bucket per client IP, whatever the name.
UNKNOWN_SOURCE_LIMIT = "120 per minute"
FORBIDDEN_ZH = "当前角色无权执行此操作"


class ConsoleUser(UserMixin):
    def __init__(self, info: UserInfo):
        self.info = info

    def get_id(self) -> str:
        return str(self.info.id)

    @property
    def is_active(self) -> bool:
        return self.info.active



@login_manager.user_loader
def _load_user(user_id: str) -> ConsoleUser | None:
    # read on every request: a role change or deactivation takes effect at once
    info = accounts.get_user(current_runtime().sessions, int(user_id)) if user_id.isdigit() else None
    if info is None or not info.active or session.get("epoch") != info.session_epoch:
        return None  # unknown, deactivated, or a session ended by logout / a new password
    return ConsoleUser(info)


def _runtime_context():
    runtime = current_runtime()
    return runtime.engine, runtime.clock


def init_auth(app: Flask) -> None:
    settings = app.extensions["liveboard"].settings
    app.config.update(
        SESSION_COOKIE_NAME="liveboard_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
        WTF_CSRF_CHECK_DEFAULT=False,  # the console turns it on for itself (see console.py)
        WTF_CSRF_TIME_LIMIT=8 * 3600,
    )
    runtime = app.extensions["liveboard"]
    # the config-store storage counts in the store (and by the clock) of the app serving the request
    app.extensions[LIMITS_KEY] = RateLimits(settings.rate_limit_storage(), clock=runtime.clock,
                                            context=_runtime_context)
    login_manager.login_view = "console.login"
    login_manager.login_message = "请先登录"
    login_manager.session_protection = "strong"
    login_manager.init_app(app)
    csrf.init_app(app)


def current_limits() -> RateLimits:
    """The rate-limit counters of the app serving this request."""
    return current_app.extensions[LIMITS_KEY]


def _client() -> str:
    return request.remote_addr or "127.0.0.1"


def webhook_limit(source_name: str, active: bool, limit: str, *, kind: str = "webhook") -> None:
    """Count this webhook request (the view calls it once it knows whether `source_name` is an active
    source; names that cannot be a source never get here). Keys only unauthenticated callers cannot
    multiply: a known source's name and the client, or the client alone for every other name.
    `limit` "" switches the per-source limit off. Over the limit: ApiError 429 with Retry-After.
    `kind` keeps other pushes' buckets apart (platform pushes: "push", per connection)."""
    if active and not limit:
        return
    key = (kind, source_name, _client()) if active else (f"{kind}-unknown", _client())
    allowed, retry_after = current_limits().hit(limit if active else UNKNOWN_SOURCE_LIMIT, *key)
    if not allowed:
        raise ApiError(429, "rate_limited", "请求过于频繁，请稍后再试", headers={"Retry-After": str(retry_after)})


def log_in(info: UserInfo) -> None:
    session.clear()  # fixation: nothing from before the login is kept
    login_user(ConsoleUser(info))
    session["epoch"] = info.session_epoch
    session["login_nonce"] = secrets.token_urlsafe(12)  # every login is a cookie never seen before
    session.permanent = True


def log_out() -> None:
    if current_user.is_authenticated:
        accounts.end_sessions(current_runtime().sessions, current_user.info.id)
    logout_user()
    session.clear()


def _login_name() -> str:
    """The user name a login form names, as a counter key: a name no account can have counts as one."""
    name = (request.form.get("username") or "").strip().lower()
    return name if accounts.USERNAME.fullmatch(name) else "-"


def _login_counters(limits: RateLimits) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
    client, user = _client(), _login_name()
    return [(limits.item(LOGIN_LIMIT_PER_CLIENT), ("login-client", client)),
            (limits.item(LOGIN_LIMIT_PER_USER_CLIENT), ("login-user-client", user, client)),
            (limits.item(LOGIN_LIMIT_PER_USER), ("login-user", user))]


def _count_login_attempt() -> list[tuple[RateLimitItem, tuple[str, ...]]]:
    """Count this attempt in each counter, in order, stopping at the first one past its limit (so a
    refused attempt never reaches the user-wide counter); a refusal is a 429. Returns what was
    counted. A counter store that cannot be reached lets the attempt through (as Flask-Limiter does)."""
    counted = []
    limits = current_limits()
    try:
        for item, identifiers in _login_counters(limits):
            allowed = limits.strategy.hit(item, *identifiers)
            counted.append((item, identifiers))
            if not allowed:
                reset_at = limits.strategy.get_window_stats(item, *identifiers).reset_time
                raise TooManyRequests(retry_after=max(1, int(reset_at - current_runtime().clock.time())))
    except TooManyRequests:
        raise
    except Exception:
        log.warning("login rate-limit counters unavailable; attempt not counted", exc_info=True)
    return counted


def _give_back(counted: list[tuple[RateLimitItem, tuple[str, ...]]]) -> None:
    try:
        storage = current_limits().storage
        for item, identifiers in counted:
            storage.incr(item.key_for(*identifiers), item.get_expiry(), amount=-1)
    except Exception:
        log.warning("login rate-limit counters unavailable; a successful login stays counted", exc_info=True)


def login_limits(view):
    """Rate limits for the login form's POST (see the module docstring): counted before the view
    checks the password; a successful login (a redirect) is given back."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if request.method != "POST":
            return view(*args, **kwargs)
        counted = _count_login_attempt()
        response = make_response(view(*args, **kwargs))
        if response.status_code == 302:
            _give_back(counted)
        return response

    return wrapped


def bearer_user() -> UserInfo:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "未认证：请在 Authorization 请求头中提供 Bearer 令牌",
                       headers={"WWW-Authenticate": "Bearer"})
    user = verify_api_token(token.strip())
    if user is None:
        raise ApiError(401, "invalid_token", "令牌无效、已吊销或用户已停用",
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return user


def verify_api_token(token: str) -> UserInfo | None:
    """The active user behind an API token (the contract miniprogram_api/mp_admin.py uses)."""
    return accounts.user_for_token(current_runtime().sessions, token)


def config_error(exc: ConfigError) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message)


def county_allowed(user: UserInfo) -> bool:
    """A prefecture user may call any route its role allows; a county user only the county-aware ones."""
    return user.prefecture or request.endpoint in COUNTY_AWARE


def require_county_route(user: UserInfo) -> None:
    """ApiError 403 (county_scope) for a county user on a route that is not county-aware. Part of the
    contract miniprogram_api/mp_admin.py uses next to verify_api_token."""
    if not county_allowed(user):
        raise ApiError(403, "county_scope", COUNTY_FORBIDDEN_ZH, details={"counties": list(user.counties)})


def api_auth(role: str):
    """Bearer token with at least `role`; changes inside are audited as that user."""

    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            user = bearer_user()
            if not user.can(role):
                raise ApiError(403, "forbidden", FORBIDDEN_ZH, details={"required_role": role, "role": user.role})
            require_county_route(user)
            g.user = user
            with acting_as(user.username):
                try:
                    return view(*args, **kwargs)
                except ConfigError as exc:
                    raise config_error(exc) from None

        return wrapped

    return decorate


def console_auth(role: str):
    """A logged-in console user with at least `role` (else the login page, or 403)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return redirect(url_for("console.login", next=request.full_path if request.method == "GET" else None))
            user: UserInfo = current_user.info
            if not user.can(role):
                from backend.console import forbidden

                return forbidden(role)
            if not county_allowed(user):
                if request.endpoint == "console.dashboard":  # the prefecture's overview: a county user's start page
                    return redirect(url_for(COUNTY_START_PAGE))
                return county_forbidden(COUNTY_FORBIDDEN_ZH)
            g.user = user
            with acting_as(user.username):
                return view(*args, **kwargs)

        return wrapped

    return decorate


def county_forbidden(message: str):
    """The console's 403 page for a county user outside their counties."""
    from flask import render_template

    return render_template("console/message.html", title="无权访问", message=message), 403
