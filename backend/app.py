"""The Flask application factory."""
from __future__ import annotations

import logging

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from backend.auth import init_auth
from backend.errors import register_error_handlers
from services.runtime import Runtime, current_runtime
from settings import Settings
from wechat.redact import RedactQueryFilter


def _blueprints() -> list:
    """Every blueprint the app serves; one line each (imported here to keep start-up cheap)."""
    from backend.admin_api import bp as admin_api
    from backend.awards_api import bp as awards_api
    from backend.awards_console import bp as awards_console
    from backend.connector_push import bp as connector_push
    from backend.connectors_console import bp as connectors_console
    from backend.console import bp as console
    from backend.health import bp as health
    from backend.openapi import bp as api_docs
    from backend.pages import bp as pages
    from backend.webhooks import bp as webhooks
    from miniprogram_api.boards import bp as boards
    from miniprogram_api.mp_admin import bp as mp_admin
    from miniprogram_api.mp_bind import bp as mp_bind
    from miniprogram_api.mp_me import bp as mp_me
    from miniprogram_api.mp_session import bp as mp_session
    from miniprogram_api.mp_subscriptions import bp as mp_subscriptions
    from miniprogram_api.periods import bp as periods

    return [webhooks, boards, periods, mp_session, mp_bind, mp_me, mp_subscriptions, mp_admin,
            admin_api, awards_api, api_docs, console, awards_console, pages, health, connector_push,
            connectors_console]


# Pages load only their own scripts, styles and data (ECharts is vendored under /static; no inline
# script, style or handler is left in the templates), and no one may frame them.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
                           "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
                           "form-action 'self'; frame-ancestors 'none'")
# Answers for one signed-in person (console pages, admin API, the host's own mini-program figures,
# session tokens) are never stored by browsers or proxies.
PRIVATE_PREFIXES = ("/console", "/v1/admin", "/v1/mp/")
HSTS = "max-age=31536000; includeSubDomains"
# The request lines of werkzeug (`liveboard run`) and gunicorn's access log carry query strings: a
# credential a client put there (access_token=…, secret=…) is logged as ***.
REQUEST_LOGGERS = ("werkzeug", "gunicorn.access", "liveboard.access")  # the last: waitress (backend/wsgi_server.py)
_REQUEST_LOG_REDACTION = RedactQueryFilter()


SECURITY_HEADERS = (("Content-Security-Policy", CONTENT_SECURITY_POLICY), ("X-Content-Type-Options", "nosniff"),
                    ("X-Frame-Options", "DENY"), ("Referrer-Policy", "strict-origin-when-cross-origin"),
                    ("Cross-Origin-Opener-Policy", "same-origin"))


class LazySessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without their per-request cost where there is no session: a
    request without the session cookie (every webhook, every public read) gets an empty session
    without building a signer, and the signer is built once per app, not once per request."""

    def get_signing_serializer(self, app: Flask):
        serializer = app.extensions.get("liveboard.session_serializer")
        if serializer is None:
            serializer = app.extensions["liveboard.session_serializer"] = super().get_signing_serializer(app)
        return serializer

    def open_session(self, app: Flask, request):
        if self.get_cookie_name(app) not in request.environ.get("HTTP_COOKIE", ""):
            return self.session_class()
        return super().open_session(app, request)


def _security_headers(response):
    """On every response, errors included (error handlers' responses pass through here too)."""
    headers = response.headers
    present = {name.lower() for name in headers.keys()}
    for name, value in SECURITY_HEADERS:
        if name.lower() not in present:
            headers.add(name, value)
    if request.path.startswith(PRIVATE_PREFIXES):
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    if current_runtime().settings.cookie_secure or request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    settings = settings or (runtime.settings if runtime else Settings.from_env())
    app = Flask(__name__)
    app.session_interface = LazySessionInterface()
    runtime = runtime or Runtime.build(settings)
    if settings.proxy_hops:  # the client address rate limits count by: from the trusted proxies' header
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops)  # type: ignore[method-assign]
    app.config.update(
        MAX_CONTENT_LENGTH=settings.webhook_max_body_bytes + 64 * 1024,  # hard cap; the handler says 413 first
        JSON_AS_ASCII=False,
        SECRET_KEY=runtime.settings.with_secret_key().secret_key,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["liveboard"] = runtime
    register_error_handlers(app)
    init_auth(app)  # session cookie, login manager, CSRF (console only), login rate limits

    for blueprint in _blueprints():
        app.register_blueprint(blueprint)

    app.after_request(_security_headers)
    for name in REQUEST_LOGGERS:  # addFilter ignores a filter it already has: one per logger per process
        logging.getLogger(name).addFilter(_REQUEST_LOG_REDACTION)

    logging.getLogger("kafka").setLevel(logging.WARNING)
    return app
