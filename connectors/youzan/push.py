"""有赞 (Youzan) message push: verification and parsing.

* 有赞云: header ``Event-Sign`` = MD5(client_id + raw body + client_secret) over the exact body
  (``cuncle/youzanyun-push-demo`` ``pushdemo.go``, citing doc.youzanyun.com/resource/
  develop-guide/41355/41536).
* Legacy body signature: ``sign`` = MD5(client_id + msg + client_secret) where ``msg`` is the
  body's (still URL-encoded) ``msg`` field (``huang-ding/api-youzan``
  ``controller/youzan/YouZanNotifyController.java``; ``Hanson/youzan-sdk`` ``src/Push.php``).
  Used only when no ``Event-Sign`` header is present.
* Body (``huang-ding/api-youzan`` ``data/pojo/dto/MsgPushEntity.java``): ``id``, ``type``
  (``trade_TradePaid``, ``trade_TradeBuyerPay``, ``trade_TradeClose`` …), ``msg`` (URL-encoded
  JSON), ``version``, ``kdt_id``, ``status``, ``client_id``, ``test``.
* Heartbeat / check: ``"test": true``; reply ``{"code":0,"msg":"success"}`` (the same file;
  ``Hanson/youzan-sdk`` ``src/Push.php`` answers it before checking any signature, so an
  unsigned check message is accepted — it carries no data).
* ❓ No public source names the refund message types; any ``type`` containing ``refund``
  (case-insensitive) is treated as a refund, its ``refund_id`` / ``tid`` read tolerantly.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping
from urllib.parse import unquote_plus

from connectors._events import as_id, from_cst_text
from connectors._push import (
    JSON_SUCCESS,
    digest_equal,
    header,
    json_object,
    malformed_as_rejected,
    nested_json,
    require_post,
)
from connectors.base import ORDER_PAID, OTHER, REFUND, TEST, Credentials, PushMessage, PushRejected, PushResult

NAME = "youzan"
PAID_TYPES = {"trade_TradePaid", "trade_TradeBuyerPay"}


def md5_sign(client_id: str, content: bytes, client_secret: str) -> str:
    return hashlib.md5(client_id.encode() + content + client_secret.encode()).hexdigest()


def verify_push(credentials: Credentials, method: str, headers: Mapping[str, str],
                query: Mapping[str, str], body: bytes) -> PushResult:
    require_post(method)
    event_sign = header(headers, "Event-Sign")
    payload = json_object(body, "有赞推送")
    if not _signed(credentials, event_sign, payload, body):
        if payload.get("test") is True:
            # Hanson/youzan-sdk src/Push.php answers the check message before checking any
            # signature: it carries no data, so it gets the success reply and a TEST message.
            return PushResult(messages=[_test_message(payload)], reply=JSON_SUCCESS)
        raise PushRejected("有赞推送缺少签名或签名校验失败", status=401)
    client_id = payload.get("client_id")
    if client_id not in (None, "") and str(client_id) != credentials.client_id:
        raise PushRejected("有赞推送的 client_id 与本连接不一致", status=403)
    with malformed_as_rejected():
        return PushResult(messages=[_message(payload)], reply=JSON_SUCCESS)


def _signed(credentials: Credentials, event_sign: str | None, payload: Mapping[str, Any], body: bytes) -> bool:
    if event_sign is not None:
        expected = md5_sign(credentials.client_id, body, credentials.client_secret)
        return digest_equal(expected, event_sign.lower())
    msg = payload.get("msg")
    raw_msg = msg if isinstance(msg, str) else ""
    expected = md5_sign(credentials.client_id, raw_msg.encode("utf-8"), credentials.client_secret)
    return digest_equal(expected, str(payload.get("sign") or "").lower())


def _test_message(payload: Mapping[str, Any]) -> PushMessage:
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]
    return PushMessage(platform=NAME, message_id=f"test:{digest}", kind=TEST, event="test", raw=dict(payload))


def _message(payload: Mapping[str, Any]) -> PushMessage:
    if payload.get("test") is True:
        return _test_message(payload)
    kind_type = str(payload.get("type") or "")
    refund = "refund" in kind_type.lower()
    kind = ORDER_PAID if kind_type in PAID_TYPES else REFUND if refund else OTHER
    msg = _msg(payload.get("msg"))
    full = msg.get("full_order_info") or {}
    info = full.get("order_info") or {}
    tid = as_id(msg.get("tid")) or as_id(info.get("tid"))
    if tid is None and kind_type.startswith("trade_") and not refund:
        tid = as_id(payload.get("id"))  # for trade messages ``id`` is the trade id
    message_id = ":".join(str(x) for x in (kind_type or "message", payload.get("id") or tid or "",
                                           payload.get("version") or ""))
    oids = tuple(o for o in (as_id(x.get("oid")) for x in full.get("orders") or [] if isinstance(x, Mapping)) if o)
    return PushMessage(
        platform=NAME, message_id=message_id, kind=kind, event=kind_type, raw=dict(payload, msg=msg),
        order_id=tid, aftersale_id=as_id(msg.get("refund_id")) if refund else None,
        shop_id=as_id(payload.get("kdt_id")), sub_order_ids=oids,
        occurred_at=_time(info.get("pay_time")) or _time(info.get("update_time")),
    )


def _msg(value: Any) -> dict[str, Any]:
    """``msg`` is URL-encoded JSON (huang-ding: ``Coder.decode(msg, "utf-8")``); tolerate plain."""
    if isinstance(value, str) and not value.strip().startswith("{"):
        value = unquote_plus(value.strip())
    return nested_json(value, "有赞推送的 msg 字段")


def _time(value: Any) -> Any:
    try:
        return from_cst_text(value)
    except ValueError:
        return None
