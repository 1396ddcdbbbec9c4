"""抖店 message push: verification and parsing.

Wire format (sources in docs/connectors.md):

* POST, raw JSON body; header ``event-sign`` = lowercase hex MD5(app_key + raw body + app_secret)
  over the exact bytes received — official Java SDK
  ``com.doudian.open.core.msg.DoudianOpMsgRequest.checkSign`` (``signPattern = appKey +
  requestBody + appSecret``, ``stringToMD5``), same in ``zsmhub/doudian-sdk``
  ``message/doudian_sign.go``. Header ``app-id`` carries the app key.
* ⚠ A ``sign-method: hmac-sha256`` header is read by one third-party app only; when present we
  verify HMAC-SHA256(key=app_secret, app_key + body + app_secret) instead. Nothing public
  confirms that formula: an unknown method is rejected, never accepted unverified.
* Body: a JSON array of ``{"tag": "101", "msg_id": "…", "data": "<JSON string>"}``; ``data``
  needs a second parse (official SDK ``DoudianOpMsgRequest.getRequestBody``,
  ``cnJun/sdk4-jinritemai`` ``model/message/DoudianPushData.java``). Third-party samples use
  ``msgId`` and an object ``data``: both are tolerated.
* Tags (``cnJun/sdk4-jinritemai`` ``model/message/*``): 101 paid, 200–211 aftersale/refund
  family (206 refund succeeded); tag ``"0"`` is the test message sent when the URL is saved.
* Reply ``{"code":0,"msg":"success"}`` (``zsmhub/doudian-sdk`` ``message/doudian_message.go``
  ``SuccessResponse``).
"""
from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, Mapping

from connectors._events import as_id, from_epoch
from connectors._push import JSON_SUCCESS, digest_equal, header, malformed_as_rejected, nested_json, require_post
from connectors.base import ORDER_PAID, OTHER, REFUND, TEST, Credentials, PushMessage, PushRejected, PushResult

NAME = "douyin_shop"
TEST_TAG = "0"
PAID_TAG = "101"
_TIME_FIELDS = ("pay_time", "success_time", "update_time", "apply_time", "create_time")


def push_signature(app_key: str, app_secret: str, body: bytes, method: str = "md5") -> str:
    payload = app_key.encode() + body + app_secret.encode()
    if method == "md5":
        return hashlib.md5(payload).hexdigest()
    if method in ("hmac-sha256", "hmac_sha256"):
        return hmac.new(app_secret.encode(), payload, hashlib.sha256).hexdigest()
    raise PushRejected(f"不支持的签名方式：{method}", status=401)


def verify_push(credentials: Credentials, method: str, headers: Mapping[str, str],
                query: Mapping[str, str], body: bytes) -> PushResult:
    require_post(method)
    app_id = header(headers, "app-id")
    if app_id is not None and app_id.strip() != credentials.app_key:
        raise PushRejected("推送的 app-id 与本连接的 app_key 不一致", status=403)
    sign_method = (header(headers, "sign-method") or "md5").strip().lower()
    expected = push_signature(credentials.app_key, credentials.app_secret, body, sign_method)
    given = header(headers, "event-sign")
    # SKIT.FlurlHttpClient.ByteDance compares case-insensitively: hex case carries no meaning
    verified = digest_equal(expected, given.lower() if given else None)
    with malformed_as_rejected():
        if verified:
            return PushResult(messages=parse_messages(body), reply=JSON_SUCCESS)
        unverified = _only_test_messages(body)
    if unverified is None:
        raise PushRejected("抖店推送签名校验失败", status=401)
    return PushResult(messages=unverified, reply=JSON_SUCCESS)


def _only_test_messages(body: bytes) -> list[PushMessage] | None:
    """❓ Nothing public says whether the tag-"0" message sent when the URL is saved is signed.
    An unsigned push made only of test messages is answered with success (or the URL cannot be
    saved); it yields TEST messages whose content nobody uses. Anything else must be signed."""
    try:
        messages = parse_messages(body)
    except PushRejected:
        return None
    return messages if messages and all(m.kind == TEST for m in messages) else None


def parse_messages(body: bytes) -> list[PushMessage]:
    try:
        items = json.loads(body)
    except ValueError as exc:
        raise PushRejected("抖店推送内容不是合法的 JSON", status=400) from exc
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise PushRejected("抖店推送内容不是消息数组", status=400)
    return [_message(item) for item in items if isinstance(item, dict)]


def _message(item: Mapping[str, Any]) -> PushMessage:
    tag = str(item.get("tag", "")).strip()
    data = nested_json(item.get("data"), "抖店推送的 data 字段")
    msg_id = as_id(item.get("msg_id") if item.get("msg_id") is not None else item.get("msgId"))
    if msg_id is None:  # no id at all: a content digest is stable across retries of the same data
        canonical = json.dumps(data, sort_keys=True, ensure_ascii=False).encode()
        msg_id = f"{tag}:{hashlib.sha256(canonical).hexdigest()[:32]}"
    listed = data.get("s_ids")
    sub_ids: list[Any] = listed if isinstance(listed, list) else [data.get("s_id")]
    occurred = next((from_epoch(data[f]) for f in _TIME_FIELDS if data.get(f)), None)
    return PushMessage(
        platform=NAME,
        message_id=msg_id,
        kind=_kind(tag),
        event=tag,
        raw=data,
        order_id=as_id(data.get("p_id")),
        aftersale_id=as_id(data.get("aftersale_id")),
        shop_id=as_id(data.get("shop_id")),
        sub_order_ids=tuple(s for s in (as_id(v) for v in sub_ids) if s),
        occurred_at=occurred,
    )



def _kind(tag: str) -> str:
    if tag == TEST_TAG:
        return TEST
    if tag == PAID_TAG:
        return ORDER_PAID
    if tag.isdigit() and 200 <= int(tag) < 300:
        return REFUND
    return OTHER
