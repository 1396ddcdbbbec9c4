"""The Flask application factory."""
from __future__ import annotations

import logging

from flask import Flask, jsonify

from backend.errors import register_error_handlers
from backend.runtime import Runtime
from liveboard.settings import Settings


def _blueprints() -> list:
    """Every blueprint the app serves; one line each (imported here to keep start-up cheap)."""
    from backend.pages import bp as pages
    from backend.webhooks import bp as webhooks
    from miniprogram_api.boards import bp as boards

    return [webhooks, boards, pages]


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
