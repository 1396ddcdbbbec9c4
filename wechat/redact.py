"""Log hygiene for HTTP client loggers: query-string redaction (the rules are in domain/redact.py).

session_key, access tokens, app secrets and js_codes must never reach a log line.
"""
from __future__ import annotations

import logging

from domain.redact import redact_text


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
