"""gunicorn, embedded: `liveboard serve` runs the app factory under gthread workers.

gthread: each request mostly waits on Kafka's acknowledgement, so threads overlap that wait
cheaply while a few processes use both cores.
"""
from __future__ import annotations

import os
import shutil
import tempfile

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


def _worker_exited(_server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # its gauges go; its counters stay summed


def serve_gunicorn(settings: Settings, host: str, port: int, workers: int = 2, threads: int = 8) -> None:
    # several workers count rate limits in a store they share (never each in its own memory)
    settings = settings.with_(ratelimit_storage_uri=settings.rate_limit_storage(processes=workers))
    # Every worker counts into files of one directory, and /metrics sums them (prometheus_client's
    # multiprocess mode); set before any worker imports prometheus_client.
    metrics_dir = tempfile.mkdtemp(prefix="liveboard-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        _run(settings, host, port, workers, threads)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _run(settings: Settings, host: str, port: int, workers: int, threads: int) -> None:
    _Gunicorn(settings, {
        "child_exit": _worker_exited,
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "keepalive": 5,
        "timeout": 30,
        "graceful_timeout": 10,
        "accesslog": None,
    }).run()
