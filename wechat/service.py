"""Build the WeChat client from Settings (one shared token row per appid across processes)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from wechat.adapter import WeChatClient


def build_client(settings, sessions: sessionmaker[Session]) -> WeChatClient | None:
    """None when WeChat is not configured (LIVEBOARD_WECHAT_APPID / _SECRET unset)."""
    if not settings.wechat_enabled:
        return None
    # wechatpy and requests (~20 MiB) load only in a deployment that talks to WeChat
    from wechat.adapter import WeChatClient
    from wechat.tokens import SharedTokenProvider

    timeout = settings.wechat_http_timeout
    provider = SharedTokenProvider(sessions, settings.wechat_appid, settings.wechat_secret,
                                   base_url=settings.wechat_base_url, http_timeout=timeout,
                                   lease_seconds=max(30.0, timeout * 3))
    return WeChatClient(settings.wechat_appid, settings.wechat_secret, base_url=settings.wechat_base_url,
                        token_provider=provider, timeout=timeout)
