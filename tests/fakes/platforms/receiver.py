"""A loopback push endpoint for tests: what the lead's HTTP push endpoint will do, minimally.

It hands every request to ``connector.verify_push`` and answers with the reply the platform
expects, or with the rejection status and its Chinese message; accepted messages are kept::

    with PushReceiver(get_connector("douyin_shop"), creds) as rx:
        fake.push_paid(rx.url, order_id)
        assert rx.messages[0].kind == "order_paid"
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from werkzeug.wrappers import Request, Response

from connectors.base import ConnectorModule, Credentials, PushMessage, PushRejected
from tests.fakes.platforms.base import LoopbackServer


class PushReceiver:
    def __init__(self, connector: ConnectorModule, credentials: Credentials, path: str = "/push") -> None:
        self.connector = connector
        self.credentials = credentials
        self.path = path
        self.messages: list[PushMessage] = []
        self.rejections: list[PushRejected] = []
        self._lock = threading.Lock()
        self._loopback = LoopbackServer(name="push-receiver")

    def __enter__(self) -> "PushReceiver":
        self._loopback.start(self._wsgi)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._loopback.stop()

    @property
    def url(self) -> str:
        return self._loopback.url + self.path

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        try:
            result = self.connector.verify_push(self.credentials, request.method, dict(request.headers),
                                                dict(request.args), request.get_data())
        except PushRejected as rejected:
            with self._lock:
                self.rejections.append(rejected)
            response = Response(str(rejected), status=rejected.status, mimetype="text/plain")
        else:
            with self._lock:
                self.messages.extend(result.messages)
            response = Response(result.reply.body, status=result.reply.status,
                                content_type=result.reply.content_type)
        return response(environ, start_response)
