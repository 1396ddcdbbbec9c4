"""A fake WeChat API server: real HTTP on 127.0.0.1, deterministic, with injectable errors.

Use it in-process::

    with FakeWeChat() as wx:
        client = WeChatClient(DEFAULT_APPID, DEFAULT_SECRET, base_url=wx.url, token_provider=...)
        wx.expire_all_tokens()            # next API calls -> 40001
        wx.refuse_subscription(openid)    # subscribe/send -> 43101
        wx.rate_limit(2)                  # next 2 subscribe/send -> 45009

or as a process another test (or a dev stack) drives over HTTP::

    python -m tests.fakes.fake_wechat --port 0      # prints its URL on stdout
    curl -XPOST $URL/__fake__/inject -d '{"kind": "expire_tokens"}'
    curl $URL/__fake__/sent ; curl $URL/__fake__/stats ; curl -XPOST $URL/__fake__/reset

Endpoints: ``GET /cgi-bin/token``, ``POST /cgi-bin/stable_token``,
``GET /sns/jscode2session``, ``POST /cgi-bin/message/subscribe/send``,
``POST /wxa/getwxacodeunlimit``.

js_codes: ``code-<name>`` or ``code-<name>.<anything>`` map to a stable openid derived
from (appid, name); each js_code works once (then 40163); anything else is 40029.
The fake never logs (request lines carry secrets and tokens).
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import secrets
import signal
import struct
import sys
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEFAULT_APPID = "wxfa4e000000000001"
DEFAULT_SECRET = "fake-app-secret-0123456789abcdef"

# endpoint names used in stats / fail_next / delay
TOKEN = "token"
STABLE_TOKEN = "stable_token"
JSCODE2SESSION = "jscode2session"
SUBSCRIBE_SEND = "subscribe_send"
WXACODE = "getwxacodeunlimit"
ENDPOINTS = (TOKEN, STABLE_TOKEN, JSCODE2SESSION, SUBSCRIBE_SEND, WXACODE)

# subscribe-message value rules (type prefix -> max chars, regex or None)
_VALUE_RULES: dict[str, tuple[int | None, re.Pattern[str] | None]] = {
    "thing": (20, None),
    "character_string": (32, re.compile(r"^[\x21-\x7e ]+$")),
    "number": (32, re.compile(r"^-?\d+(\.\d+)?$")),
    "letter": (32, re.compile(r"^[A-Za-z]+$")),
    "symbol": (5, re.compile(r"^[^\w\s]+$")),
    "amount": (32, re.compile(r"^[¥￥$]?-?[\d,]+(\.\d+)?元?$")),
    "phrase": (5, re.compile(r"^[\u4e00-\u9fff]+$")),
    "name": (20, None),
    "phone_number": (17, re.compile(r"^[\d+\-() ]+$")),
    "car_number": (8, None),
    "date": (None, None),
    "time": (None, None),
}
_KEY_RE = re.compile(r"^([a-z_]+?)\d+$")
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")


def openid_for(name: str, appid: str = DEFAULT_APPID) -> str:
    """The openid the fake hands out for js_code ``code-<name>`` (28 chars, like WeChat's)."""
    digest = hashlib.sha256(f"{appid}:{name}".encode()).digest()
    return "o" + base64.urlsafe_b64encode(digest).decode().rstrip("=")[:27]


def unionid_for(name: str) -> str:
    digest = hashlib.sha256(f"union:{name}".encode()).digest()
    return "u" + base64.urlsafe_b64encode(digest).decode().rstrip("=")[:27]


def tiny_png(width: int = 8, height: int = 8) -> bytes:
    """A valid grayscale PNG with a checkerboard (deterministic)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    raw = b"".join(
        b"\x00" + bytes(0 if (x + y) % 2 else 255 for x in range(width)) for y in range(height)
    )
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


PNG_BYTES = tiny_png()


@dataclass
class _Token:
    appid: str
    expires_at: float
    valid: bool = True


class FakeWeChat:
    """The fake server and its state. Thread-safe; every public method is also
    reachable through ``POST /__fake__/inject``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 apps: dict[str, str] | None = None, token_ttl: int = 7200,
                 with_unionid: bool = False) -> None:
        self.host = host
        self.port = port
        self.apps = dict(apps or {DEFAULT_APPID: DEFAULT_SECRET})
        self.token_ttl = token_ttl
        self.with_unionid = with_unionid
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._reset_state()

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> "FakeWeChat":
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="fake-wechat", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "FakeWeChat":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- state -------------------------------------------------------------------

    def _reset_state(self) -> None:
        with self._lock:
            self.calls: Counter[str] = Counter()
            self.request_log: list[dict[str, Any]] = []
            self.sent: list[dict[str, Any]] = []
            self.codes_issued: list[dict[str, Any]] = []  # openid/session_key per login
            self._tokens: dict[str, _Token] = {}
            self._current: dict[str, str] = {}
            self._used_codes: set[str] = set()
            self._invalid_codes: set[str] = set()
            self._invalid_next_codes = 0
            self._refused: set[tuple[str, str | None]] = set()
            self._rate_limit_left = 0
            self._rate_limit_errcode = 45009
            self._fail_next: dict[str, list[tuple[int, str]]] = {}
            self._delay: dict[str, float] = {}
            self._msgid = 1000

    def reset(self) -> None:
        """Forget everything: tokens, sent messages, counters, injections."""
        self._reset_state()

    # -- injections (also via POST /__fake__/inject) --------------------------------

    def expire_all_tokens(self) -> None:
        """Every token issued so far is rejected with 40001 from now on."""
        with self._lock:
            for t in self._tokens.values():
                t.valid = False

    def invalid_code(self, js_code: str | None = None, count: int = 1) -> None:
        """Reject ``js_code`` (or the next ``count`` jscode2session calls) with 40029."""
        with self._lock:
            if js_code is None:
                self._invalid_next_codes += count
            else:
                self._invalid_codes.add(js_code)

    def refuse_subscription(self, openid: str, template_id: str | None = None) -> None:
        """subscribe/send to this openid (for this template, or any) -> 43101."""
        with self._lock:
            self._refused.add((openid, template_id))

    def rate_limit(self, count: int, errcode: int = 45009) -> None:
        """The next ``count`` subscribe/send calls fail with 45009 (or 45011)."""
        with self._lock:
            self._rate_limit_left = count
            self._rate_limit_errcode = errcode

    def fail_next(self, endpoint: str, errcode: int, count: int = 1, errmsg: str | None = None) -> None:
        """The next ``count`` calls to ``endpoint`` (see ENDPOINTS) return ``errcode``."""
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}")
        with self._lock:
            self._fail_next.setdefault(endpoint, []).extend([(errcode, errmsg or f"fake error {errcode}")] * count)

    def delay(self, endpoint: str, seconds: float) -> None:
        """Sleep this long before answering ``endpoint`` (0 to clear)."""
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}")
        with self._lock:
            self._delay[endpoint] = seconds

    def inject(self, kind: str, **params: Any) -> None:
        """Dispatcher behind ``POST /__fake__/inject`` (``{"kind": ..., **params}``)."""
        handlers = {
            "expire_tokens": self.expire_all_tokens,
            "invalid_code": self.invalid_code,
            "refuse_subscription": self.refuse_subscription,
            "rate_limit": self.rate_limit,
            "fail_next": self.fail_next,
            "delay": self.delay,
        }
        if kind not in handlers:
            raise ValueError(f"unknown injection kind {kind!r}")
        handlers[kind](**params)

    # -- observations ------------------------------------------------------------

    @property
    def token_issue_count(self) -> int:
        """Calls that issued/returned a token (``/cgi-bin/token`` + ``stable_token``)."""
        with self._lock:
            return self.calls[TOKEN] + self.calls[STABLE_TOKEN]

    def sent_messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(m) for m in self.sent]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"calls": dict(self.calls), "token_issue_count": self.token_issue_count,
                    "sent": len(self.sent), "force_refreshes": self.calls["stable_token_force"]}

    def valid_token(self, appid: str = DEFAULT_APPID) -> str | None:
        with self._lock:
            tok = self._current.get(appid)
            return tok if tok and self._token_ok(tok) == 0 else None

    # -- endpoint logic (called by the handler; return (status, body, content_type)) --

    def _issue(self, appid: str) -> tuple[str, int]:
        token = "FAKE_AT_" + secrets.token_urlsafe(24)
        self._tokens[token] = _Token(appid, time.time() + self.token_ttl)
        self._current[appid] = token
        return token, self.token_ttl

    def _check_app(self, appid: str | None, secret: str | None) -> dict[str, Any] | None:
        if not appid or appid not in self.apps:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if secret != self.apps[appid]:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        return None

    def _take_failure(self, endpoint: str) -> dict[str, Any] | None:
        queue = self._fail_next.get(endpoint)
        if queue:
            errcode, errmsg = queue.pop(0)
            return {"errcode": errcode, "errmsg": errmsg}
        return None

    def _token_ok(self, token: str | None) -> int:
        if not token:
            return 41001
        info = self._tokens.get(token)
        if info is None or not info.valid:
            return 40001
        if info.expires_at <= time.time():
            return 42001
        return 0

    def handle_token(self, q: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            self.calls[TOKEN] += 1
            if q.get("grant_type") != "client_credential":
                return {"errcode": 40002, "errmsg": "invalid grant_type"}
            err = self._check_app(q.get("appid"), q.get("secret")) or self._take_failure(TOKEN)
            if err:
                return err
            token, ttl = self._issue(q["appid"])
            return {"access_token": token, "expires_in": ttl}

    def handle_stable_token(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls[STABLE_TOKEN] += 1
            force = bool(body.get("force_refresh"))
            if force:
                self.calls["stable_token_force"] += 1
            if body.get("grant_type") != "client_credential":
                return {"errcode": 40002, "errmsg": "invalid grant_type"}
            appid = body.get("appid")
            err = self._check_app(appid, body.get("secret")) or self._take_failure(STABLE_TOKEN)
            if err:
                return err
            current = self._current.get(appid)
            if current and not force and self._token_ok(current) == 0:
                remaining = int(self._tokens[current].expires_at - time.time())
                if remaining > 300:  # normal mode: same token while it is valid
                    return {"access_token": current, "expires_in": remaining}
            if force and current in self._tokens:
                self._tokens[current].valid = False  # force mode invalidates the previous token
            token, ttl = self._issue(appid)
            return {"access_token": token, "expires_in": ttl}

    def handle_jscode2session(self, q: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            self.calls[JSCODE2SESSION] += 1
            if q.get("grant_type") != "authorization_code":
                return {"errcode": 40002, "errmsg": "invalid grant_type"}
            appid = q.get("appid")
            err = self._check_app(appid, q.get("secret")) or self._take_failure(JSCODE2SESSION)
            if err:
                return err
            code = q.get("js_code") or ""
            if self._invalid_next_codes > 0:
                self._invalid_next_codes -= 1
                return {"errcode": 40029, "errmsg": "invalid code"}
            if code in self._invalid_codes or not code.startswith("code-") or len(code) <= 5:
                return {"errcode": 40029, "errmsg": "invalid code"}
            if code in self._used_codes:
                return {"errcode": 40163, "errmsg": "code been used"}
            self._used_codes.add(code)
            name = code[5:].split(".", 1)[0]
            openid = openid_for(name, appid)  # type: ignore[arg-type]
            session_key = base64.b64encode(secrets.token_bytes(16)).decode()
            result: dict[str, Any] = {"openid": openid, "session_key": session_key}
            if self.with_unionid:
                result["unionid"] = unionid_for(name)
            self.codes_issued.append({"js_code": code, **result})
            return result

    def _validate_message(self, body: Any) -> dict[str, Any] | None:
        if not isinstance(body, dict):
            return {"errcode": 47001, "errmsg": "data format error"}
        for field in ("touser", "template_id"):
            if not isinstance(body.get(field), str) or not body[field]:
                return {"errcode": 40003 if field == "touser" else 40037,
                        "errmsg": f"invalid {field}"}
        data = body.get("data")
        if not isinstance(data, dict) or not data:
            return {"errcode": 47003, "errmsg": "argument invalid! data is empty"}
        for key, item in data.items():
            m = _KEY_RE.match(key)
            if not m or m.group(1) not in _VALUE_RULES:
                return {"errcode": 47003, "errmsg": f"argument invalid! data.{key} unknown type"}
            if not isinstance(item, dict) or not isinstance(item.get("value"), str) or not item["value"]:
                return {"errcode": 47003, "errmsg": f"argument invalid! data.{key}.value empty"}
            limit, pattern = _VALUE_RULES[m.group(1)]
            value = item["value"]
            if m.group(1) == "name" and _CJK_RE.search(value):
                limit = 10
            if limit is not None and len(value) > limit:
                return {"errcode": 47003, "errmsg": f"argument invalid! data.{key}.value exceeds limit {limit}"}
            if pattern is not None and not pattern.match(value):
                return {"errcode": 47003, "errmsg": f"argument invalid! data.{key}.value invalid"}
        state = body.get("miniprogram_state")
        if state is not None and state not in ("developer", "trial", "formal"):
            return {"errcode": 47003, "errmsg": "argument invalid! miniprogram_state"}
        page = body.get("page")
        if page is not None and not isinstance(page, str):
            return {"errcode": 41030, "errmsg": "invalid page"}
        return None

    def handle_subscribe_send(self, q: dict[str, str], body: Any) -> dict[str, Any]:
        with self._lock:
            self.calls[SUBSCRIBE_SEND] += 1
            code = self._token_ok(q.get("access_token"))
            if code:
                return {"errcode": code, "errmsg": "invalid credential, access_token is invalid or not latest"}
            err = self._validate_message(body) or self._take_failure(SUBSCRIBE_SEND)
            if err:
                return err
            if self._rate_limit_left > 0:
                self._rate_limit_left -= 1
                return {"errcode": self._rate_limit_errcode, "errmsg": "reach max api daily quota limit"}
            if (body["touser"], body["template_id"]) in self._refused or (body["touser"], None) in self._refused:
                return {"errcode": 43101, "errmsg": "user refuse to accept the msg"}
            self._msgid += 1
            appid = self._tokens[q["access_token"]].appid
            self.sent.append({
                "msgid": self._msgid, "appid": appid, "touser": body["touser"],
                "template_id": body["template_id"], "data": body["data"], "page": body.get("page"),
                "miniprogram_state": body.get("miniprogram_state"), "lang": body.get("lang"),
            })
            return {"errcode": 0, "errmsg": "ok", "msgid": self._msgid}

    def handle_wxacode(self, q: dict[str, str], body: Any) -> dict[str, Any] | bytes:
        with self._lock:
            self.calls[WXACODE] += 1
            code = self._token_ok(q.get("access_token"))
            if code:
                return {"errcode": code, "errmsg": "invalid credential, access_token is invalid or not latest"}
            err = self._take_failure(WXACODE)
            if err:
                return err
            if not isinstance(body, dict):
                return {"errcode": 47001, "errmsg": "data format error"}
            scene = body.get("scene")
            if not isinstance(scene, str) or not 1 <= len(scene) <= 32:
                return {"errcode": 40169, "errmsg": "invalid length for scene"}
            return PNG_BYTES


class _Handler(BaseHTTPRequestHandler):
    server_fake: FakeWeChat
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - never log (secrets in URLs)
        pass

    def _send(self, status: int, payload: Any, content_type: str = "application/json; charset=utf-8") -> None:
        if isinstance(payload, bytes):
            body = payload
        else:
            body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query, keep_blank_values=True).items()}

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, ValueError):
            return _BAD_JSON

    def _route(self, method: str) -> None:
        fake = self.server_fake
        path = urlsplit(self.path).path
        q = self._query()
        body = self._body() if method == "POST" else None
        with fake._lock:
            fake.request_log.append({"method": method, "path": path, "query": dict(q)})
        endpoint = {
            ("GET", "/cgi-bin/token"): TOKEN,
            ("POST", "/cgi-bin/stable_token"): STABLE_TOKEN,
            ("GET", "/sns/jscode2session"): JSCODE2SESSION,
            ("POST", "/cgi-bin/message/subscribe/send"): SUBSCRIBE_SEND,
            ("POST", "/wxa/getwxacodeunlimit"): WXACODE,
        }.get((method, path))
        if endpoint is not None:
            delay = fake._delay.get(endpoint, 0)
            if delay:
                time.sleep(delay)
            if body is _BAD_JSON:
                return self._send(200, {"errcode": 47001, "errmsg": "data format error"})
            if endpoint == TOKEN:
                return self._send(200, fake.handle_token(q))
            if endpoint == STABLE_TOKEN:
                return self._send(200, fake.handle_stable_token(body if isinstance(body, dict) else {}))
            if endpoint == JSCODE2SESSION:
                # WeChat answers jscode2session as text/plain JSON
                return self._send(200, fake.handle_jscode2session(q), "text/plain")
            if endpoint == SUBSCRIBE_SEND:
                return self._send(200, fake.handle_subscribe_send(q, body))
            result = fake.handle_wxacode(q, body)
            if isinstance(result, bytes):
                return self._send(200, result, "image/png")
            return self._send(200, result)
        # control plane
        if (method, path) == ("POST", "/__fake__/inject"):
            if not isinstance(body, dict) or "kind" not in body:
                return self._send(400, {"error": "body must be {\"kind\": ..., ...params}"})
            params = dict(body)
            kind = params.pop("kind")
            try:
                fake.inject(kind, **params)
            except (TypeError, ValueError) as exc:
                return self._send(400, {"error": str(exc)})
            return self._send(200, {"ok": True})
        if (method, path) == ("GET", "/__fake__/sent"):
            return self._send(200, {"sent": fake.sent_messages()})
        if (method, path) == ("GET", "/__fake__/stats"):
            return self._send(200, fake.stats())
        if (method, path) == ("POST", "/__fake__/reset"):
            fake.reset()
            return self._send(200, {"ok": True})
        return self._send(404, {"errcode": 404, "errmsg": f"fake: no route {method} {path}"})

    def do_GET(self) -> None:  # noqa: N802
        self._route("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._route("POST")


_BAD_JSON = object()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fake WeChat API server (loopback, for tests/dev)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--app", action="append", default=[], metavar="APPID:SECRET",
                        help=f"registered app (default {DEFAULT_APPID}:<default secret>)")
    parser.add_argument("--token-ttl", type=int, default=7200)
    parser.add_argument("--unionid", action="store_true", help="return unionids from jscode2session")
    args = parser.parse_args(argv)
    apps = dict(a.split(":", 1) for a in args.app) or None
    fake = FakeWeChat(args.host, args.port, apps=apps, token_ttl=args.token_ttl, with_unionid=args.unionid)
    fake.start()
    print(fake.url, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
