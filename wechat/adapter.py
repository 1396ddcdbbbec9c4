"""Thin adapter over wechatpy 1.8.18 -- the ONLY module that imports wechatpy.

What it adds on top of wechatpy:

* a configurable base URL (wechatpy hard-codes ``https://api.weixin.qq.com`` in
  ``WeChatClient.API_BASE_URL`` *and* separately in ``WeChatWxa.API_BASE_URL``);
* the access token comes from our shared :class:`~wechat.tokens.TokenProvider`
  (wechatpy's own fetch uses ``/cgi-bin/token`` per process and is disabled here);
* WeChat errcodes mapped to :mod:`wechat.errors`; a 40001/40014/42001 triggers one
  ``force_refresh`` and one retry;
* log hygiene: no session_key, token, secret or js_code in logs; openids masked.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, NamedTuple, TypeVar

import requests
from wechatpy.client import WeChatClient as _WxClient
from wechatpy.exceptions import WeChatClientException

from domain.redact import mask_openid, redact_text
from wechat.errors import (
    InvalidCode,
    NoSubscriptionCredit,
    RateLimited,
    TokenExpired,
    TokenUnavailable,
    WeChatError,
    WeChatTransportError,
    error_for,
)
from wechat.redact import install_http_log_redaction
from wechat.tokens import DEFAULT_BASE_URL, TokenProvider

__all__ = [
    "CodeSession",
    "WeChatClient",
    "mask_openid",
    "WeChatError",
    "NoSubscriptionCredit",
    "RateLimited",
    "TokenExpired",
    "InvalidCode",
    "WeChatTransportError",
    "TokenUnavailable",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

MINIPROGRAM_STATES = ("developer", "trial", "formal")


class CodeSession(NamedTuple):
    """Result of jscode2session; unpacks as ``(openid, session_key, unionid)``."""

    openid: str
    session_key: str
    unionid: str | None

    def __repr__(self) -> str:  # never print the session_key
        return f"CodeSession(openid={mask_openid(self.openid)!r}, session_key='***', unionid={'set' if self.unionid else None})"

    def __str__(self) -> str:
        return self.__repr__()


class _NoSelfFetchClient(_WxClient):
    """wechatpy client whose token comes from our provider, never from its own fetch."""

    def __init__(self, appid: str, secret: str, token_provider: TokenProvider, timeout: float):
        # auto_retry=False: wechatpy would otherwise re-fetch via GET /cgi-bin/token
        # (hard-coded host) and retry recursively without bound.
        super().__init__(appid, secret, timeout=timeout, auto_retry=False)
        self._token_provider = token_provider

    @property
    def access_token(self) -> str:
        return self._token_provider.get_token()

    def fetch_access_token(self):  # pragma: no cover - guarded by auto_retry=False
        raise RuntimeError("token refresh goes through the shared TokenProvider")


class WeChatClient:
    """Mini-program server API: login, subscribe messages, unlimited wxa codes."""

    def __init__(
        self,
        appid: str,
        secret: str,
        base_url: str = DEFAULT_BASE_URL,
        token_provider: TokenProvider | None = None,
        *,
        timeout: float = 10.0,
    ) -> None:
        install_http_log_redaction()
        self.appid = appid
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._tokens = token_provider
        self._wx = _NoSelfFetchClient(appid, secret, token_provider, timeout)  # type: ignore[arg-type]
        # Both base URLs must be overridden: the client's (cgi-bin/...) and the wxa API
        # object's class attribute, which wechatpy passes explicitly per call.
        self._wx.API_BASE_URL = f"{self.base_url}/cgi-bin/"
        self._wx.wxa.API_BASE_URL = f"{self.base_url}/"

    def __repr__(self) -> str:
        return f"WeChatClient(appid={self.appid!r}, base_url={self.base_url!r})"

    # -- login --------------------------------------------------------------------

    def code_to_session(self, js_code: str) -> CodeSession:
        """jscode2session. Raises :class:`InvalidCode` for 40029/40163.

        Calls the endpoint directly through wechatpy's ``get``: ``wxa.code_to_session``
        would also fetch an access token and append it to the URL, which this endpoint
        neither needs nor should see. Params are passed as a list of pairs so wechatpy
        doesn't inject ``access_token``.
        """
        if not js_code:
            raise InvalidCode(40029, "js_code 为空")
        params = [
            ("appid", self.appid),
            ("secret", self._wx.secret),
            ("js_code", js_code),
            ("grant_type", "authorization_code"),
        ]
        result = self._call(lambda: self._wx.get(f"{self.base_url}/sns/jscode2session", params=params),
                            op="jscode2session")
        openid = result.get("openid") if isinstance(result, dict) else None
        session_key = result.get("session_key") if isinstance(result, dict) else None
        if not openid or not session_key:
            raise WeChatError(-3, "jscode2session 未返回 openid/session_key")
        unionid = result.get("unionid") or None
        log.info("jscode2session ok openid=%s unionid=%s", mask_openid(openid), "yes" if unionid else "no")
        return CodeSession(openid, session_key, unionid)

    # -- subscribe messages ---------------------------------------------------------

    def send_subscribe_message(
        self,
        openid: str,
        template_id: str,
        data: dict[str, Any],
        page: str | None = None,
        miniprogram_state: str | None = None,
        lang: str | None = None,
    ) -> dict[str, Any]:
        """subscribeMessage.send. ``data`` is ``{"thing1": {"value": "..."}}``
        (see :func:`wechat.templates.build_data`). Returns WeChat's JSON (``msgid``...).

        wechatpy's ``wxa.send_subscribe_message`` has no ``miniprogram_state``/``lang``,
        so the body is posted through ``wxa._post`` (same plumbing, same base URL).
        """
        if miniprogram_state is not None and miniprogram_state not in MINIPROGRAM_STATES:
            raise ValueError(f"miniprogram_state must be one of {MINIPROGRAM_STATES}")
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data}
        if page:
            body["page"] = page
        if miniprogram_state:
            body["miniprogram_state"] = miniprogram_state
        if lang:
            body["lang"] = lang
        result = self._with_token(
            lambda token: self._wx.wxa._post(
                "cgi-bin/message/subscribe/send", data=body, params={"access_token": token}
            ),
            op="subscribe/send",
            openid=openid,
            template_id=template_id,
        )
        log.info("subscribe message sent openid=%s template=%s", mask_openid(openid), template_id)
        return result if isinstance(result, dict) else {}

    # -- wxa code ------------------------------------------------------------------

    def get_wxa_code_unlimited(
        self,
        scene: str,
        page: str | None = None,
        *,
        width: int = 430,
        check_path: bool | None = None,
        env_version: str | None = None,
    ) -> bytes:
        """getwxacodeunlimit; returns the image bytes (PNG). ``scene`` ≤ 32 visible chars."""
        if not scene or len(scene) > 32:
            raise ValueError("scene 长度必须为 1-32 个字符")
        body: dict[str, Any] = {"scene": scene, "width": width}
        if page:
            body["page"] = page
        if check_path is not None:
            body["check_path"] = check_path
        if env_version:
            body["env_version"] = env_version
        result = self._with_token(
            lambda token: self._wx.wxa._post(
                "wxa/getwxacodeunlimit", data=body, params={"access_token": token}
            ),
            op="getwxacodeunlimit",
        )
        # wechatpy returns the raw requests.Response when the body isn't JSON (the image)
        if isinstance(result, requests.Response):
            return result.content
        raise WeChatError(-3, "getwxacodeunlimit 未返回图片")

    # -- plumbing ------------------------------------------------------------------

    def _with_token(self, fn: Callable[[str], T], *, op: str, **ctx: Any) -> T:
        if self._tokens is None:
            raise TokenUnavailable("未配置 access_token 提供者")
        token = self._tokens.get_token()
        try:
            return self._call(lambda: fn(token), op=op, **ctx)
        except TokenExpired as exc:
            log.warning("%s: access token rejected (errcode=%s); refreshing once", op, exc.errcode)
            fresh = self._tokens.force_refresh(stale_token=token)
            return self._call(lambda: fn(fresh), op=op, **ctx)

    def _call(self, fn: Callable[[], T], *, op: str, openid: str | None = None,
              template_id: str | None = None) -> T:
        who = f" openid={mask_openid(openid)}" if openid else ""
        tpl = f" template={template_id}" if template_id else ""
        try:
            return fn()
        except WeChatClientException as exc:
            if exc.errcode is None:  # HTTP status error
                status = getattr(exc.response, "status_code", None)
                log.warning("%s failed: HTTP %s%s%s", op, status, who, tpl)
                raise WeChatTransportError(f"{op} HTTP {status}", ambiguous=bool(status and status >= 500)) from None
            err = error_for(int(exc.errcode), redact_text(str(exc.errmsg)))
            log.warning("%s failed: %s errcode=%s%s%s", op, type(err).__name__, err.errcode, who, tpl)
            raise err from None
        except requests.Timeout as exc:
            ambiguous = not isinstance(exc, requests.ConnectTimeout)
            log.warning("%s timed out%s%s", op, who, tpl)
            raise WeChatTransportError(f"{op} 请求超时", ambiguous=ambiguous) from None
        except requests.ConnectionError as exc:
            # refused/DNS: never sent. Anything else (reset, remote closed) may have
            # happened after WeChat read the request: ambiguous.
            ambiguous = not _never_connected(exc)
            log.warning("%s connection error%s%s", op, who, tpl)
            raise WeChatTransportError(f"{op} 连接失败", ambiguous=ambiguous) from None
        except requests.RequestException as exc:
            log.warning("%s request error %s%s%s", op, type(exc).__name__, who, tpl)
            raise WeChatTransportError(f"{op} 请求失败: {type(exc).__name__}", ambiguous=False) from None


def _never_connected(exc: BaseException) -> bool:
    """True when the connection was never established (so the request was not sent)."""
    from urllib3.exceptions import NameResolutionError, NewConnectionError

    seen: set[int] = set()
    cur: BaseException | None = exc
    stack = [exc]
    while stack:
        cur = stack.pop()
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        if isinstance(cur, (NewConnectionError, NameResolutionError)):
            return True
        stack.extend(a for a in getattr(cur, "args", ()) if isinstance(a, BaseException))
        reason = getattr(cur, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)
        if cur.__cause__ is not None:
            stack.append(cur.__cause__)
        if cur.__context__ is not None:
            stack.append(cur.__context__)
    return False
