"""Log hygiene: openid masking and query-string redaction.

session_key, access tokens, app secrets and js_codes must never reach a log line.
"""
from __future__ import annotations

import logging
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


class RedactQueryFilter(logging.Filter):
    """Redacts sensitive query parameters in records of a third-party logger.

    urllib3 logs every request line (``"GET /sns/jscode2session?appid=..&secret=.."``)
    at DEBUG; WeChat puts the secret and access token in the query string.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            if isinstance(record.msg, str):
                record.msg = redact_text(record.msg)
            if isinstance(record.args, tuple):
                record.args = tuple(redact_text(a) if isinstance(a, str) else a for a in record.args)
            elif isinstance(record.args, dict):
                record.args = {k: redact_text(v) if isinstance(v, str) else v
                               for k, v in record.args.items()}
        except Exception:  # pragma: no cover - never break logging
            pass
        return True


_INSTALLED = False


def install_http_log_redaction() -> None:
    """Attach :class:`RedactQueryFilter` to the HTTP client loggers (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    for name in ("urllib3.connectionpool", "requests", "wechatpy", "wechatpy.client.base"):
        logging.getLogger(name).addFilter(RedactQueryFilter())
    _INSTALLED = True
