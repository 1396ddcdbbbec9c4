"""HTTP plumbing shared by the platform API clients.

``Transport`` owns the ``requests.Session``, the base URL (configurable so tests point it at a
fake server) and the timeouts, and turns transport failures into the connector error classes:
a timeout, a refused connection, a 5xx or an unreadable body is ``PlatformUnavailable``;
HTTP 429 is ``PlatformRateLimited``. Platform error codes inside a 200 answer are classified by
each client, which knows its platform's codes.

``TokenedClient`` holds the access token and implements the one rule every platform shares:
when a call is refused for an expired token, fetch a new one once and retry once.
"""
from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol

from connectors.base import AccessToken, Credentials, PlatformRateLimited, PlatformUnavailable, TokenExpired

if TYPE_CHECKING:  # requests is imported by the processes that call platforms, not by every API worker
    import requests

DEFAULT_TIMEOUT = (3.05, 10.0)  # (connect, read) seconds


class Transport:
    def __init__(self, platform: str, base_url: str, *, session: requests.Session | None = None,
                 timeout: float | tuple[float, float] = DEFAULT_TIMEOUT) -> None:
        import requests

        self.platform = platform
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout

    def send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        import requests

        url = self.base_url + path
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.Timeout as exc:
            raise PlatformUnavailable("平台接口超时", platform=self.platform, detail=str(exc)) from exc
        except requests.RequestException as exc:
            raise PlatformUnavailable("无法连接平台接口", platform=self.platform, detail=str(exc)) from exc
        if response.status_code == 429:
            raise PlatformRateLimited("平台接口限流（HTTP 429）", platform=self.platform, code="429",
                                      retry_after=retry_after_seconds(response.headers, 60.0))
        if response.status_code >= 500:
            raise PlatformUnavailable(f"平台接口暂时不可用（HTTP {response.status_code}）",
                                      platform=self.platform, code=str(response.status_code))
        return response

    def send_json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """Send, then parse a JSON object answer (anything else is ``PlatformUnavailable``)."""
        response = self.send(method, path, **kwargs)
        try:
            payload = json.loads(response.content)
        except ValueError as exc:
            raise PlatformUnavailable(f"平台接口返回了无法解析的内容（HTTP {response.status_code}）",
                                      platform=self.platform, code=str(response.status_code)) from exc
        if not isinstance(payload, dict):
            raise PlatformUnavailable("平台接口返回的不是 JSON 对象", platform=self.platform)
        return payload


def retry_after_seconds(headers: Mapping[str, str], default: float) -> float:
    value = headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default


class TokenBroker(Protocol):
    """Decides how a client gets a new token when it needs one (``TokenedClient(token_broker=)``).

    ``fetch(stale, fetch_from_platform)`` returns a token to use instead of ``stale``: one that
    another process already obtained, or ``fetch_from_platform(seed)`` called under whatever lock
    or lease the broker holds, with the newest token it knows as ``seed`` (快手 and 有赞 rotate
    refresh tokens, so two processes must never refresh with the same one).
    """

    def fetch(self, stale: AccessToken | None,
              fetch_from_platform: Callable[[AccessToken | None], AccessToken]) -> AccessToken: ...


class TokenedClient:
    """Base of the API clients: token caching and the refresh-once-then-retry rule.

    Subclasses implement ``_fetch_token(stale)``; ``stale`` is the token that was just refused
    (or None on the first call) so a platform can refresh with its refresh token.
    ``on_token`` is called with every new token, for the caller to persist it; a
    ``token_broker`` (see ``TokenBroker``) shares tokens between processes.
    """

    def __init__(self, *, token: AccessToken | None = None,
                 on_token: Callable[[AccessToken], None] | None = None,
                 token_broker: TokenBroker | None = None) -> None:
        self._token = token
        self._on_token = on_token
        self._token_broker = token_broker
        self._token_lock = threading.Lock()

    @property
    def token(self) -> AccessToken | None:
        return self._token

    def access_token(self) -> AccessToken:
        """A usable access token: the cached one while fresh, else a new one (self-tests)."""
        return self._current_token()

    def _fetch_token(self, stale: AccessToken | None) -> AccessToken:
        raise NotImplementedError

    def _obtain(self, stale: AccessToken | None) -> AccessToken:
        if self._token_broker is None:
            return self._fetch_token(stale)
        return self._token_broker.fetch(stale, self._fetch_token)

    def _current_token(self) -> AccessToken:
        with self._token_lock:
            if self._token is None or not self._token.is_fresh():
                self._store(self._obtain(self._token))
            assert self._token is not None
            return self._token

    def _refresh(self, refused: AccessToken) -> AccessToken:
        with self._token_lock:
            if self._token is not None and self._token.value != refused.value:
                return self._token  # another thread already refreshed
            self._store(self._obtain(refused))
            assert self._token is not None
            return self._token

    def _store(self, token: AccessToken) -> None:
        self._token = token
        if self._on_token is not None:
            self._on_token(token)

    def _with_token(self, call: Callable[[str], Any]) -> Any:
        token = self._current_token()
        try:
            return call(token.value)
        except TokenExpired:
            return call(self._refresh(token).value)


class PlatformApiClient(TokenedClient):
    """A ``TokenedClient`` bound to one connection's credentials and one platform endpoint."""

    platform_name = ""
    default_base_url = ""

    def __init__(self, credentials: Credentials, *, base_url: str | None = None,
                 session: requests.Session | None = None,
                 timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
                 token: AccessToken | None = None,
                 on_token: Callable[[AccessToken], None] | None = None,
                 token_broker: TokenBroker | None = None) -> None:
        super().__init__(token=token, on_token=on_token, token_broker=token_broker)
        self.credentials = credentials
        self.transport = Transport(self.platform_name, base_url or self.default_base_url,
                                   session=session, timeout=timeout)
