"""The Flask application factory."""
from __future__ import annotations

import logging

from flask import Flask, jsonify

from backend.auth import init_auth
from backend.errors import register_error_handlers
from backend.runtime import Runtime
from liveboard.settings import Settings


def _blueprints() -> list:
    """Every blueprint the app serves; one line each (imported here to keep start-up cheap)."""
    from backend.admin_api import bp as admin_api
    from backend.awards_api import bp as awards_api
    from backend.awards_console import bp as awards_console
    from backend.console import bp as console
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
            admin_api, awards_api, api_docs, console, awards_console, pages]


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    settings = settings or (runtime.settings if runtime else Settings.from_env())
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.webhook_max_body_bytes + 64 * 1024,  # hard cap; the handler says 413 first
        JSON_AS_ASCII=False,
        SECRET_KEY=settings.secret_key or "dev-only-not-secret",
    )
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.extensions["liveboard"] = runtime or Runtime.build(settings)
    register_error_handlers(app)
    init_auth(app)  # session cookie, login manager, CSRF (console only), login rate limits

    for blueprint in _blueprints():
        app.register_blueprint(blueprint)

    @app.get("/healthz")
    def healthz():
        runtime_ = app.extensions["liveboard"]
        return jsonify({"status": "ok", "event_log": runtime_.settings.event_log,
                        "store": runtime_.settings.store, "counters": runtime_.metrics.snapshot()})

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        return response

    logging.getLogger("kafka").setLevel(logging.WARNING)
    return app
