"""One JSON error shape for every API: {"error": {"code", "message", "details"?}}.

`code` is for machines (stable, English); `message` is for people (Simplified Chinese).
"""
from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from services.errors import ApiError

_HTTP_MESSAGES_ZH = {
    400: ("bad_request", "请求无效"),
    401: ("unauthorized", "未认证"),
    403: ("forbidden", "无权访问"),
    404: ("not_found", "资源不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    413: ("payload_too_large", "请求体过大（上限 1 MiB）"),
    415: ("unsupported_media_type", "仅接受 application/json"),
    429: ("rate_limited", "请求过于频繁，请稍后再试"),
    500: ("internal_error", "服务器内部错误"),
    503: ("unavailable", "服务暂时不可用，请稍后重试"),
}


def error_response(status: int, code: str, message: str, details: Any = None, headers: dict | None = None):
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        code, message = _HTTP_MESSAGES_ZH.get(exc.code or 500, ("http_error", "请求失败"))
        return error_response(exc.code or 500, code, message)

    @app.errorhandler(Exception)
    def _unhandled(exc: Exception):
        app.logger.exception("unhandled error")
        code, message = _HTTP_MESSAGES_ZH[500]
        return error_response(500, code, message)
