"""Errors: one JSON shape for every API, and Chinese HTML pages for people in a browser.

JSON: {"error": {"code", "message", "details"?}}. `code` is for machines (stable, English);
`message` is for people (Simplified Chinese). Everything under /v1/ and /healthz answers JSON.

HTML: a browser asking for any other path (it prefers text/html in its Accept header) gets a page
in Chinese instead: the console's layout under /console, the public layout elsewhere. Scripts and
tools that ask for JSON or anything (*/*) keep getting the JSON body on every path.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from analytics.base import StoreUnavailable
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
# What a person is told on an error page: a title and what to do next.
_PAGE_TEXT_ZH = {
    400: ("请求无效", "请求的内容不完整或格式不正确，请返回上一页重试。"),
    403: ("无权访问", "当前账号无权查看此页面。如需权限，请联系管理员。"),
    404: ("页面不存在", "您访问的页面不存在，可能地址有误，或内容已被删除。"),
    405: ("无法这样访问", "此地址不支持这种访问方式，请从页面上的链接或按钮进入。"),
    413: ("文件过大", "上传的内容超过了允许的大小，请拆分后重试。"),
    429: ("操作过于频繁", "请稍等一分钟后再试。"),
    500: ("系统出错了", "服务器处理请求时出错，已记录日志。请稍后重试；如果问题持续，请联系运维人员。"),
    503: ("服务暂时不可用", "服务正在维护或繁忙，请稍后重试。"),
}
JSON_PREFIXES = ("/v1/", "/healthz")


def error_response(status: int, code: str, message: str, details: Any = None, headers: dict | None = None):
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def wants_page() -> bool:
    """A browser navigating to a page (not an API path, and HTML preferred over JSON)."""
    if request.path.startswith(JSON_PREFIXES) or request.path == "/v1":
        return False
    # on a tie (*/*, or no Accept header at all) the first one, JSON, wins
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def error_page(status: int, message: str | None = None, title: str | None = None,
               headers: dict | None = None):
    """The Chinese error page for `status` (the console's layout under /console)."""
    default_title, default_text = _PAGE_TEXT_ZH.get(status, ("请求失败", "请返回上一页重试。"))
    template = "errors/console.html" if request.path.startswith("/console") else "errors/public.html"
    try:
        body = render_template(template, status=status, title=title or default_title,
                               message=message or default_text)
    except Exception:  # a page that cannot render must not hide the error behind another one
        body = f"<!doctype html><html lang=zh-CN><title>{status}</title><h1>{default_title}</h1><p>{default_text}</p>"
    return body, status, {"Content-Type": "text/html; charset=utf-8", **(headers or {})}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        if wants_page():
            return error_page(exc.status, exc.message if exc.status < 500 else None, headers=exc.headers)
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.errorhandler(StoreUnavailable)
    def _store_unavailable(exc: StoreUnavailable):
        # the analytics store is down or restarting: a moment's outage, not a bug (the log keeps sales)
        app.logger.warning("analytics store unavailable: %s", exc)
        headers = {"Retry-After": "5"}
        if wants_page():
            return error_page(503, "分析库暂时不可用，请稍后刷新", headers=headers)
        return error_response(503, "analytics_unavailable", "分析库暂时不可用，请稍后重试", headers=headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        if wants_page():
            return error_page(status)
        code, message = _HTTP_MESSAGES_ZH.get(status, ("http_error", "请求失败"))
        return error_response(status, code, message)

    @app.errorhandler(Exception)
    def _unhandled(exc: Exception):
        app.logger.exception("unhandled error")
        if wants_page():
            return error_page(500)
        code, message = _HTTP_MESSAGES_ZH[500]
        return error_response(500, code, message)
