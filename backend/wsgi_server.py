"""gunicorn, embedded: `liveboard serve` runs the app factory under gthread workers.

gthread: each request mostly waits on Kafka's acknowledgement, so threads overlap that wait
cheaply while a few processes use both cores.
"""
from __future__ import annotations

from gunicorn.app.base import BaseApplication

from settings import Settings


class _Gunicorn(BaseApplication):
    def __init__(self, settings: Settings, options: dict):
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self):
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        from backend.app import create_app

        return create_app(self._settings)


def serve_gunicorn(settings: Settings, host: str, port: int, workers: int = 2, threads: int = 8) -> None:
    _Gunicorn(settings, {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "keepalive": 5,
        "timeout": 30,
        "graceful_timeout": 10,
        "accesslog": None,
    }).run()
