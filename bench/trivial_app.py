"""The trivial Flask endpoints that measure the limit of the HTTP setup itself.

`python -m bench.trivial_app --port P [--workers 2 --threads 8]` serves them under exactly the
gunicorn set-up of `liveboard serve` (backend.wsgi_server.serve_gunicorn: same worker class,
threads, keep-alive), only with this app loaded instead of Liveboard's; with `--server waitress`
under the embedded default's server (backend.wsgi_server.EmbeddedServer, as `liveboard run`):
- POST /v1/webhooks/<source>: reads the body, answers 202 with a small JSON (no signature check,
  no validation, no Kafka): what any webhook endpoint costs at the least on this stack;
- GET /v1/campaigns/<slug>/boards: a constant JSON, what any read endpoint costs at the least.
"""
from __future__ import annotations

import argparse

from flask import Flask, jsonify, request


def create_trivial_app() -> Flask:
    app = Flask("bench_trivial")

    @app.post("/v1/webhooks/<source>")
    def webhook(source: str):
        request.get_data(cache=False)
        response = jsonify({"accepted": 1, "rejected": 0})
        response.status_code = 202
        return response

    @app.get("/v1/campaigns/<slug>/boards")
    def boards(slug: str):
        return jsonify({"campaign": slug, "hosts": [], "enterprises": []})

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--server", choices=("gunicorn", "waitress"), default="gunicorn")
    args = parser.parse_args()

    from backend import wsgi_server
    from settings import Settings

    app = create_trivial_app()
    if args.server == "waitress":
        wsgi_server.EmbeddedServer(app, args.host, args.port).serve_forever()
        return
    wsgi_server._Gunicorn.load = lambda self: app  # same gunicorn options, another WSGI app
    wsgi_server.serve_gunicorn(Settings(), host=args.host, port=args.port, workers=args.workers,
                               threads=args.threads)


if __name__ == "__main__":
    main()
