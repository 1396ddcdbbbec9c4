"""Our own WeChat exception types (no wechatpy import here).

The adapter maps WeChat ``errcode`` values onto these, so callers (outbox, login
endpoint) never see wechatpy's exception classes.
"""
from __future__ import annotations


class WeChatError(Exception):
    """A WeChat API call failed. ``errcode`` is WeChat's code (or a negative local code)."""

    #: errcodes that will not succeed on a retry with the same payload
    PERMANENT_ERRCODES = frozenset({
        40003,  # invalid openid
        40037,  # invalid template_id
        41028,  # invalid form_id (legacy)
        41030,  # invalid page
        47003,  # argument invalid (e.g. template value violates the key's rules)
    })

    def __init__(self, errcode: int | None, errmsg: str | None = None):
        self.errcode = errcode
        self.errmsg = errmsg or ""
        super().__init__(errcode, self.errmsg)

    @property
    def permanent(self) -> bool:
        return self.errcode in self.PERMANENT_ERRCODES

    def __str__(self) -> str:
        return f"errcode={self.errcode} errmsg={self.errmsg}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.errcode!r}, {self.errmsg!r})"


class NoSubscriptionCredit(WeChatError):
    """43101: the user has no (remaining) subscription for this template. Never retry."""


class RateLimited(WeChatError):
    """45009 / 45011: quota or frequency limit hit. Back off."""


class TokenExpired(WeChatError):
    """40001 / 40014 / 42001: access token invalid or expired (after one refresh+retry)."""


class InvalidCode(WeChatError):
    """40029 / 40163: js_code invalid or already used."""


class WeChatTransportError(WeChatError):
    """No usable WeChat answer (connection refused, timeout, HTTP 5xx, garbage).

    ``ambiguous`` is True when the request may have reached WeChat (read timeout,
    connection reset after sending): the call may or may not have taken effect.
    """

    def __init__(self, errmsg: str, *, ambiguous: bool):
        super().__init__(-1, errmsg)
        self.ambiguous = ambiguous


class TokenUnavailable(WeChatError):
    """The shared access token could not be obtained (refresh failed or timed out)."""

    def __init__(self, errmsg: str):
        super().__init__(-2, errmsg)


NO_CREDIT_CODES = frozenset({43101})
RATE_LIMIT_CODES = frozenset({45009, 45011})
TOKEN_EXPIRED_CODES = frozenset({40001, 40014, 42001})
INVALID_CODE_CODES = frozenset({40029, 40163})


def error_for(errcode: int | None, errmsg: str | None) -> WeChatError:
    """The exception instance for a WeChat errcode."""
    if errcode in NO_CREDIT_CODES:
        return NoSubscriptionCredit(errcode, errmsg)
    if errcode in RATE_LIMIT_CODES:
        return RateLimited(errcode, errmsg)
    if errcode in TOKEN_EXPIRED_CODES:
        return TokenExpired(errcode, errmsg)
    if errcode in INVALID_CODE_CODES:
        return InvalidCode(errcode, errmsg)
    return WeChatError(errcode, errmsg)
