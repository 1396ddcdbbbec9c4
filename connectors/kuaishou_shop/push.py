"""快手小店 message push: decryption and parsing.

Source: the official 消息服务说明 (doc 401854), mirrored in ``AndersonBY/kwaixiaodian-python-sdk``
``docs/开发指南和规则协议/开发文档/消息服务说明.md``; decryption also in ``WyntersN/go-kwai``
``core/d.go`` (``AesDecryptCBC``).

* POST ``text/plain;charset=utf-8``; the body is base64 of AES/CBC/PKCS5Padding ciphertext;
  key = base64-decoded 消息私钥; IV = 16 zero bytes (``new IvParameterSpec(new byte[16])``).
* There is no signature header: only the holder of the key can produce a body that decrypts
  to valid JSON with *our* ``appKey``, so a wrong key, a forged body or another app's message
  is rejected.
* Plaintext: ``eventId`` (unique), ``bizId``, ``userId`` (商家id), ``openId``, ``appKey``,
  ``event``, ``info`` (JSON string), ``createTime`` (ms), ``test``.
* ``{"test":true}`` is sent when the URL is saved and as a heartbeat. The doc does not say
  whether it is encrypted: both forms are accepted (it carries no data, so accepting the
  plaintext form exposes nothing).
* Reply: HTTP 200 with ``{"result":1}`` within 3,000 ms; failures are retried 5 times
  (5/10/20/30/60 min).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any, Mapping

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from connectors._events import as_id, from_epoch
from connectors._push import json_object, malformed_as_rejected, nested_json, require_post
from connectors.base import (
    ORDER_PAID,
    OTHER,
    REFUND,
    TEST,
    Credentials,
    PushMessage,
    PushRejected,
    PushReply,
    PushResult,
)

NAME = "kuaishou_shop"
SUCCESS = PushReply(200, "application/json", b'{"result":1}')
PAID_EVENT = "kwaishop_order_paySuccess"
AFTERSALE_PREFIX = "kwaishop_aftersales_"
_ZERO_IV = bytes(16)


def _key(message_key: str) -> bytes:
    try:
        key = base64.b64decode(message_key.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PushRejected("快手消息私钥不是合法的 base64（请检查连接配置）", status=500) from exc
    if len(key) not in (16, 24, 32):
        raise PushRejected("快手消息私钥长度不正确（请检查连接配置）", status=500)
    return key


def decrypt_body(message_key: str, body: bytes) -> str:
    """base64(AES-CBC(zero IV, PKCS5)) -> UTF-8 plaintext, or ``PushRejected``."""
    key = _key(message_key)
    try:
        ciphertext = base64.b64decode(body.strip(), validate=True)
        decryptor = Cipher(algorithms.AES(key), modes.CBC(_ZERO_IV)).decryptor()
        padded = decryptor.update(ciphertext) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return (unpadder.update(padded) + unpadder.finalize()).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise PushRejected("快手推送无法解密（消息私钥不匹配或内容被篡改）", status=400) from exc


def encrypt_body(message_key: str, plaintext: str) -> bytes:
    """The platform's side of ``decrypt_body`` (used by the fake platform and by tests)."""
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(_key(message_key)), modes.CBC(_ZERO_IV)).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize())


def verify_push(credentials: Credentials, method: str, headers: Mapping[str, str],
                query: Mapping[str, str], body: bytes) -> PushResult:
    require_post(method)
    with malformed_as_rejected():
        plain = _plaintext_heartbeat(body)
        if plain is not None:
            return PushResult(messages=[plain], reply=SUCCESS)
        payload = json_object(decrypt_body(credentials.message_key, body), "快手推送解密后的内容")
        return PushResult(messages=[_message(payload, credentials)], reply=SUCCESS)


def _plaintext_heartbeat(body: bytes) -> PushMessage | None:
    text = body.strip()
    if not text.startswith(b"{"):
        return None
    payload = json_object(text, "快手推送")
    if payload.get("test") is True and not payload.get("event"):
        return _test_message(payload)
    raise PushRejected("快手推送应为加密内容，收到了明文业务消息", status=400)


def _test_message(payload: Mapping[str, Any]) -> PushMessage:
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]
    return PushMessage(platform=NAME, message_id=str(payload.get("eventId") or f"test:{digest}"),
                       kind=TEST, event="test", raw=dict(payload),
                       occurred_at=from_epoch(payload.get("createTime"), millis=True))


def _message(payload: Mapping[str, Any], credentials: Credentials) -> PushMessage:
    app_key = payload.get("appKey")
    if app_key is not None and str(app_key) != credentials.app_key:
        raise PushRejected("快手推送的 appKey 与本连接不一致", status=403)
    if payload.get("test") is True:
        return _test_message(payload)
    if app_key is None:
        raise PushRejected("快手推送缺少 appKey", status=400)
    event = str(payload.get("event") or "")
    info = nested_json(payload.get("info"), "快手推送的 info 字段")
    kind = ORDER_PAID if event == PAID_EVENT else REFUND if event.startswith(AFTERSALE_PREFIX) else OTHER
    biz_id = as_id(payload.get("bizId"))
    order_id = as_id(info.get("oid") if info.get("oid") is not None else info.get("orderId"))
    refund_id = as_id(info.get("refundId"))
    if kind == REFUND:
        refund_id = refund_id or biz_id
    elif kind == ORDER_PAID:
        order_id = order_id or biz_id
    message_id = as_id(payload.get("eventId"))
    if message_id is None:
        canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
        message_id = f"{event}:{hashlib.sha256(canonical).hexdigest()[:32]}"
    return PushMessage(
        platform=NAME, message_id=message_id, kind=kind, event=event, raw=dict(payload, info=info),
        order_id=order_id, aftersale_id=refund_id,
        shop_id=as_id(payload.get("userId")) or as_id(info.get("sellerId")),
        sub_order_ids=(order_id,) if order_id else (),
        occurred_at=from_epoch(payload.get("createTime"), millis=True)
        or from_epoch(info.get("updateTime"), millis=True),
    )

