"""A refusal to answer with: HTTP status, a stable code for machines, a Chinese message for people.

Raised by application services and by the HTTP packages alike; backend/errors.py turns it into the
one JSON error shape. (configstore.errors.ConfigError is the store layer's own refusal, which
carries a status hint too and is mapped the same way.)
"""
from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details, self.headers = status, code, message, details, headers
