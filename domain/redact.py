"""What may be shown of an identifier or a URL in a log line (pure rules; wechat/redact.py applies
them to HTTP client loggers)."""
from __future__ import annotations

import re

_SENSITIVE_PARAMS = ("access_token", "token", "secret", "js_code", "session_key", "code")
_PARAM_RE = re.compile(r"(?i)\b(" + "|".join(_SENSITIVE_PARAMS) + r")=([^&\s\"']*)")
# Our own credentials, wherever they appear: API tokens, mini-program sessions, webhook secrets.
_CREDENTIAL_RE = re.compile(r"\b(lbt|mps|whsec)_[A-Za-z0-9+/=_-]+")


def mask_openid(openid: str | None) -> str:
    """``oAbcDEFGHIJKLMNOPQRSxyz9`` -> ``oAbc****xyz9``; short values keep only their first char."""
    if not openid:
        return "-"
    if len(openid) <= 8:
        return openid[:1] + "****"
    return f"{openid[:4]}****{openid[-4:]}"


def redact_text(text: str) -> str:
    """Replace the values of sensitive query parameters (``access_token=...`` etc.) with ``***``."""
    return _CREDENTIAL_RE.sub(lambda m: f"{m.group(1)}_***", _PARAM_RE.sub(lambda m: f"{m.group(1)}=***", text))
