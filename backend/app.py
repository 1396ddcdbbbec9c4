"""The Flask application factory."""
from __future__ import annotations

import logging

from flask import Flask, jsonify

from backend.errors import register_error_handlers
from backend.runtime import Runtime
from liveboard.settings import Settings


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

    from backend.webhooks import bp as webhooks_bp
    from backend.pages import bp as pages_bp
    from miniprogram_api.boards import bp as boards_bp

    app.register_blueprint(webhooks_bp)
    app.register_blueprint(boards_bp)
    app.register_blueprint(pages_bp)

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
