"""How one process reaches the platforms: the connection directory, one API client per
connection and thread (tokens shared through the config store), every business call paced by the
connection's rate limit. The worker, the pull backstop and the self-test all go through here."""
from __future__ import annotations

import threading
from typing import Any, Callable

from configstore.connections import ConnectionInfo
from connectors.base import PlatformUnavailable
from connectors.ratelimit import ApiRateLimiter
from connectors.service import Connection, ConnectionDirectory, build_client
from services.runtime import Runtime

RATE_LIMITED_CALLS = frozenset({"order_detail", "refund_detail", "list_orders", "list_aftersales"})


class Stopped(PlatformUnavailable):
    """The process is stopping while a call waited for its turn: try again later."""


class LimitedClient:
    """A platform client whose business calls wait for the connection's rate limit."""

    def __init__(self, client: Any, acquire: Callable[[], bool]) -> None:
        self._client, self._acquire = client, acquire

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name not in RATE_LIMITED_CALLS:
            return attribute

        def limited(*args: Any, **kwargs: Any) -> Any:
            if not self._acquire():
                raise Stopped("进程正在停止，稍后重试")
            return attribute(*args, **kwargs)

        return limited


class PlatformAccess:
    def __init__(self, runtime: Runtime, wait: Callable[[float], bool] | None = None) -> None:
        self.runtime = runtime
        self.wait = wait or (lambda seconds: threading.Event().wait(seconds))
        self.directory = ConnectionDirectory(runtime.sessions, runtime.secrets, clock=runtime.clock)
        self.limiter = ApiRateLimiter(runtime.engine, runtime.clock, self.wait)
        self._local = threading.local()

    def client(self, connection: Connection) -> LimitedClient:
        clients: dict[int, tuple[ConnectionInfo, Any]] = self._local.__dict__.setdefault("clients", {})
        known = clients.get(connection.id)
        if known is None or known[0] != connection.info:  # new credentials or base URL: a new client
            raw = build_client(connection, self.runtime.sessions, self.runtime.secrets, clock=self.runtime.clock)
            known = clients[connection.id] = (connection.info, raw)
        rate = connection.info.rate_limit_per_second
        return LimitedClient(known[1], lambda: self.limiter.acquire(connection.id, rate))
