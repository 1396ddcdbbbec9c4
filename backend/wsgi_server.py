"""The production WSGI servers: gunicorn for `liveboard serve`, waitress for the embedded default.

gunicorn (scale-out): the app factory under gthread workers. Each request mostly waits on Kafka's
acknowledgement, so threads overlap that wait cheaply while a few processes use both cores.

waitress (`liveboard run`, the demo: one process beside the supervised writer and scheduler):
its single I/O thread reads each request whole (and writes each response) before a bounded pool of
`threads` runs the app, so slow or idle keep-alive clients never hold an app thread; connections
idle past `channel_timeout` are closed and at most `connection_limit` are open at once.
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


class EmbeddedServer:
    """The app under waitress in this process: `serve_forever()` until `shutdown()` (another thread)."""

    def __init__(self, app, host: str, port: int, *, threads: int = 8, channel_timeout: int = 30,
                 connection_limit: int = 1000, max_body_bytes: int = 2 * 1024 * 1024) -> None:
        from waitress.server import create_server

        self._server = create_server(app, host=host, port=port, threads=threads, channel_timeout=channel_timeout,
                                     connection_limit=connection_limit, max_request_body_size=max_body_bytes,
                                     ident="liveboard", expose_tracebacks=False)

    @property
    def server_port(self) -> int:
        return int(self._server.effective_port)

    def serve_forever(self) -> None:
        self._server.run()

    def shutdown(self) -> None:
        self._server.close()
        self._server.task_dispatcher.shutdown(timeout=5)
