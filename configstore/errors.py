"""One error type for config-store operations that cannot be done.

`code` is for machines (stable, English), the message for people (Simplified Chinese). The HTTP
layers map it to ApiError (API) or a flashed message (console); nothing here knows HTTP.
"""
from __future__ import annotations


class ConfigError(ValueError):
    def __init__(self, code: str, message: str, *, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status  # a hint for HTTP callers: 400 invalid, 404 missing, 409 conflict


class NotFound(ConfigError):
    def __init__(self, code: str, message: str):
        super().__init__(code, message, status=404)


class Forbidden(ConfigError):
    """The user may not do this to this object (e.g. a county user and another county's application)."""

    def __init__(self, code: str, message: str):
        super().__init__(code, message, status=403)


class Conflict(ConfigError):
    def __init__(self, code: str, message: str):
        super().__init__(code, message, status=409)


def require_transition(transitions: dict[str, tuple[str, ...]], names_zh: dict[str, str], subject_zh: str,
                       current: str, target: str) -> None:
    """Refuse a state change the state machine does not allow, naming the allowed ones in Chinese."""
    allowed = transitions.get(current, ())
    if target not in allowed:
        allowed_zh = "、".join(names_zh[s] for s in allowed) or "无"
        raise Conflict("invalid_transition", f"{subject_zh}不能从“{names_zh.get(current, current)}”改为"
                                             f"“{names_zh.get(target, target)}”（可改为：{allowed_zh}）")
