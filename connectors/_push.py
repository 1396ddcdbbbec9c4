"""Small helpers for verifying pushes and building the replies platforms expect."""
from __future__ import annotations

import hmac
import json
from contextlib import contextmanager
from typing import Any, Iterator, Mapping

from connectors.base import MappingError, PushRejected, PushReply

JSON_SUCCESS = PushReply(200, "application/json", b'{"code":0,"msg":"success"}')


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup (HTTP header names are case-insensitive)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def digest_equal(expected: str, given: str | None) -> bool:
    """Constant-time comparison of two hex/base64 digests (``given`` may be missing)."""
    if not given:
        return False
    return hmac.compare_digest(expected.encode("ascii", "replace"), given.strip().encode("ascii", "replace"))


def json_object(text: str | bytes, what: str) -> dict[str, Any]:
    """Parse a JSON object or reject the push (400: the platform will retry and show the error)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise PushRejected(f"{what}不是合法的 JSON", status=400) from exc
    if not isinstance(value, dict):
        raise PushRejected(f"{what}不是 JSON 对象", status=400)
    return value


def require_post(method: str) -> None:
    if method.upper() != "POST":
        raise PushRejected("消息推送只接受 POST 请求", status=405)


@contextmanager
def malformed_as_rejected() -> Iterator[None]:
    """A push whose content cannot be read (e.g. an id that is a float) is answered with 400."""
    try:
        yield
    except MappingError as exc:
        raise PushRejected(f"推送内容无法解析：{exc}", status=400) from exc


def nested_json(value: Any, what: str) -> dict[str, Any]:
    """A field that holds JSON: a string to parse a second time, an object, or nothing."""
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        return json_object(value, what)
    raise PushRejected(f"{what}既不是字符串也不是对象", status=400)
