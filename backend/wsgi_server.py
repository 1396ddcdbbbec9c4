"""The production WSGI servers: gunicorn for `liveboard serve`, waitress for the embedded default.

gunicorn (scale-out): the app factory under gthread workers. Each request mostly waits on Kafka's
acknowledgement, so threads overlap that wait cheaply while a few processes use both cores.

waitress (`liveboard run`, the demo: one process beside the supervised writer and scheduler):
its single I/O thread reads each request whole (and writes each response) before a bounded pool of
`threads` runs the app, so slow or idle keep-alive clients never hold an app thread; connections
idle past `channel_timeout` are closed and at most `connection_limit` are open at once.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading

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


ACCESS_LOGGER = "liveboard.access"  # backend/app.py redacts query strings on it like werkzeug's
_access = logging.getLogger(ACCESS_LOGGER)


class AccessLog:
    """One line per request on `ACCESS_LOGGER` at INFO (so only with `liveboard -v`), as werkzeug's
    server wrote them; waitress writes none. Nothing is done per request when INFO is off."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        if not _access.isEnabledFor(logging.INFO):
            return self.app(environ, start_response)

        def logged(status, headers, exc_info=None):
            query = environ.get("QUERY_STRING", "")
            _access.info('%s "%s %s%s %s" %s', environ.get("REMOTE_ADDR", "-"), environ.get("REQUEST_METHOD", ""),
                         environ.get("PATH_INFO", ""), f"?{query}" if query else "",
                         environ.get("SERVER_PROTOCOL", ""), status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        return self.app(environ, logged)


class EmbeddedServer:
    """The app under waitress in this process: `serve_forever()` until `shutdown()` (another thread).
    The I/O loop runs in turns of at most one poll and closes its sockets itself once told to stop
    (closing them from another thread would pull them from under its select)."""

    def __init__(self, app, host: str, port: int, *, threads: int = 8, channel_timeout: int = 30,
                 connection_limit: int = 1000, max_body_bytes: int = 2 * 1024 * 1024) -> None:
        from waitress.server import create_server

        self._server = create_server(AccessLog(app), host=host, port=port, threads=threads,
                                     channel_timeout=channel_timeout, connection_limit=connection_limit,
                                     max_request_body_size=max_body_bytes, ident="liveboard",
                                     expose_tracebacks=False)
        self._stopping = threading.Event()

    @property
    def server_port(self) -> int:
        return int(self._server.effective_port)

    def serve_forever(self) -> None:
        server = self._server
        try:
            while not self._stopping.is_set():
                server.asyncore.loop(timeout=server.adj.asyncore_loop_timeout, map=server._map,
                                     use_poll=server.adj.asyncore_use_poll, count=1)
        finally:
            server.close()
            server.task_dispatcher.shutdown(timeout=5)

    def shutdown(self) -> None:
        self._stopping.set()
        self._server.pull_trigger()  # wakes the poll up now
