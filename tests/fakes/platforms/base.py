"""What every fake commerce platform shares: a real HTTP server on loopback, seeded orders and
refunds, issued tokens, injectable failures, and a push sender that can "lose" a push.

A platform fake subclasses ``FakePlatform`` and implements ``route(request)`` (its API, with its
own signature checks and error answers) plus its push encoding. Use it as a context manager::

    with FakeDouyinShop() as dy:
        dy.add_order(SeedOrder(...))
        client = DouyinShopClient(dy.credentials, base_url=dy.url)
        dy.fail_next("rate_limit")          # the next API call gets the platform's rate-limit answer
        dy.fail_next("server_error")        # ... or an HTTP 502
        dy.delay_next(2.0)                  # ... or answers after 2 s
        dy.expire_tokens()                  # every issued token is refused from now on
        dy.push_paid(url, "6920...", lose=True)   # recorded in dy.lost_pushes, not sent

The fakes never log request lines (they carry tokens and signatures).
"""
from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import requests
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

TOKEN_TTL = 7200
FAILURE_KINDS = ("rate_limit", "server_error")


@dataclass
class SeedItem:
    """One sub-order (SKU line) of a seeded order."""

    sub_order_id: str
    sku_id: str
    title: str
    quantity: int
    paid_fen: int
    host_id: str | None = None        # the 达人 (author / distributor / finder), if any
    host_name: str | None = None
    category: str = ""


@dataclass
class SeedOrder:
    order_id: str
    items: list[SeedItem]
    paid_at: int                      # epoch seconds; 0 = not paid
    updated_at: int                   # epoch seconds, what the listings filter on
    buyer_id: str = "buyer-0001"


@dataclass
class SeedRefund:
    refund_id: str
    order_id: str
    sub_order_id: str
    refunded_fen: int
    quantity: int = 1
    done: bool = True                 # refund completed (money back)
    updated_at: int = 0


@dataclass
class SentPush:
    url: str
    method: str
    headers: dict[str, str]
    query: dict[str, str]
    body: bytes
    lost: bool = False
    status: int | None = None
    reply: bytes | None = None


@dataclass
class _Token:
    value: str
    expires_at: float
    refresh_token: str = ""
    revoked: bool = False


class _QuietHandler(WSGIRequestHandler):
    """Request lines carry tokens and signatures: never log them."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class LoopbackServer:
    """A threaded werkzeug server for one WSGI app on an ephemeral loopback port."""

    def __init__(self, host: str = "127.0.0.1", name: str = "loopback") -> None:
        self.host, self.name = host, name
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self, app: Callable[..., Any]) -> None:
        self._server = make_server(self.host, 0, app, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class FakePlatform:
    name = "fake"

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.lock = threading.RLock()
        self.orders: dict[str, SeedOrder] = {}
        self.refunds: dict[str, SeedRefund] = {}
        self.requests: list[dict[str, Any]] = []
        self.pushes: list[SentPush] = []
        self._tokens: dict[str, _Token] = {}
        self._refresh_tokens: dict[str, bool] = {}
        self._failures: list[str] = []
        self._delays: list[float] = []
        self.refuse_all_tokens = False  # every token is refused, even a fresh one
        self._loopback = LoopbackServer(host, name=f"fake-{self.name}")

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "FakePlatform":
        self._loopback.start(self._wsgi)
        self.port = self._loopback.port
        return self

    def stop(self) -> None:
        self._loopback.stop()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self._loopback.url

    # -- seeding ------------------------------------------------------------------------------

    def add_order(self, order: SeedOrder) -> SeedOrder:
        with self.lock:
            self.orders[order.order_id] = order
        return order

    def add_refund(self, refund: SeedRefund) -> SeedRefund:
        with self.lock:
            self.refunds[refund.refund_id] = refund
        return refund

    def orders_updated(self, start: float, end: float) -> list[SeedOrder]:
        with self.lock:
            found = [o for o in self.orders.values() if start <= o.updated_at <= end]
        return sorted(found, key=lambda o: (o.updated_at, o.order_id))

    def refunds_of(self, order_id: str) -> list[SeedRefund]:
        with self.lock:
            return [r for r in self.refunds.values() if r.order_id == order_id]

    # -- tokens ----------------------------------------------------------------------------------

    def issue_token(self, ttl: int = TOKEN_TTL) -> _Token:
        token = _Token(value=f"{self.name}-at-{secrets.token_hex(8)}", expires_at=time.time() + ttl,
                       refresh_token=f"{self.name}-rt-{secrets.token_hex(8)}")
        with self.lock:
            self._tokens[token.value] = token
            self._refresh_tokens[token.refresh_token] = True
        return token

    def token_state(self, value: str | None) -> str:
        """``"ok"``, ``"expired"`` (issued by us, no longer valid) or ``"unknown"``."""
        with self.lock:
            token = self._tokens.get(value or "")
        if token is None:
            return "unknown"
        if self.refuse_all_tokens or token.revoked or token.expires_at <= time.time():
            return "expired"
        return "ok"

    def use_refresh_token(self, value: str) -> bool:
        """A refresh token works once (the platforms rotate it on every refresh)."""
        with self.lock:
            if not self._refresh_tokens.get(value):
                return False
            self._refresh_tokens[value] = False
            return True

    def expire_tokens(self) -> None:
        with self.lock:
            for token in self._tokens.values():
                token.revoked = True

    @property
    def tokens_issued(self) -> int:
        with self.lock:
            return len(self._tokens)

    # -- failure injection -------------------------------------------------------------------

    def fail_next(self, kind: str, count: int = 1) -> None:
        """The next ``count`` business API calls fail with ``kind`` (see ``FAILURE_KINDS``)."""
        if kind not in FAILURE_KINDS:
            raise ValueError(f"unknown failure {kind!r}")
        with self.lock:
            self._failures.extend([kind] * count)

    def delay_next(self, seconds: float, count: int = 1) -> None:
        with self.lock:
            self._delays.extend([seconds] * count)

    def take_failure(self) -> str | None:
        """Called by a platform route for a business API call (not for token endpoints)."""
        with self.lock:
            return self._failures.pop(0) if self._failures else None

    # -- HTTP --------------------------------------------------------------------------------

    def route(self, request: Request) -> Response:
        raise NotImplementedError

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        with self.lock:
            self.requests.append({"method": request.method, "path": request.path,
                                  "query": dict(request.args), "at": time.time()})
            delay = self._delays.pop(0) if self._delays else 0.0
        if delay:
            time.sleep(delay)
        return self.route(request)(environ, start_response)

    def calls_to(self, path: str) -> int:
        with self.lock:
            return sum(1 for r in self.requests if r["path"] == path)

    # -- push delivery -----------------------------------------------------------------------

    def deliver(self, url: str, body: bytes, headers: dict[str, str], *, query: dict[str, str] | None = None,
                method: str = "POST", lose: bool = False) -> SentPush:
        """Send (or, with ``lose=True``, only record) one push the way the platform would."""
        push = SentPush(url=url, method=method, headers=dict(headers), query=dict(query or {}), body=body, lost=lose)
        if not lose:
            answer = requests.request(method, url, params=query, data=body, headers=headers, timeout=10)
            push.status, push.reply = answer.status_code, answer.content
        with self.lock:
            self.pushes.append(push)
        return push

    @property
    def lost_pushes(self) -> list[SentPush]:
        with self.lock:
            return [p for p in self.pushes if p.lost]


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/json")


def server_error() -> Response:
    return Response("<html><body>502 Bad Gateway</body></html>", status=502, mimetype="text/html")
