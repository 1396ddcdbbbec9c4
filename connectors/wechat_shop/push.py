"""微信小店 / 视频号小店 message push: URL handshake, verification, decryption.

Source: developers.weixin.qq.com/doc/channels/dev_before/base/message_push.md (safe mode, JSON);
``zsmhub/wx-channels-sdk`` ``callbacks/callback.go`` and ``internal/signature/mod.go``;
wechatpy ``wechatpy/crypto/__init__.py`` (``PrpCrypto``, the WXBizMsgCrypt scheme).

* GET handshake: ``signature`` = sha1 of the sorted ``token``, ``timestamp``, ``nonce``;
  reply ``echostr`` unchanged.
* POST (safe mode): query ``timestamp``, ``nonce``, ``encrypt_type=aes``, ``msg_signature``
  (and ``signature``); body ``{"ToUserName": ..., "Encrypt": ...}``; ``msg_signature`` = sha1
  of the sorted token, timestamp, nonce and ``Encrypt``. We verify both signatures ourselves
  with ``hmac.compare_digest`` (wechatpy compares with ``!=``), then decrypt with wechatpy's
  ``PrpCrypto``, which also checks that the message is addressed to our ``app_id``.
* Events (doc ``store/shop/notify/order_callback``, ``channels_ec_aftersale_update``):
  ``channels_ec_order_pay`` (``order_info.order_id``, ``pay_time``),
  ``channels_ec_aftersale_update`` (``finder_shop_aftersale_status_update`` with
  ``after_sale_order_id``, ``order_id``, ``status``). Reply the plain string ``success``.
* An XML body (the older 公众号 format) is tolerated: the crypto is the same.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any, Mapping
from xml.parsers.expat import ExpatError

import xmltodict

from connectors._events import as_id, from_epoch
from connectors._push import digest_equal, json_object, malformed_as_rejected
from connectors.base import ORDER_PAID, OTHER, REFUND, Credentials, PushMessage, PushRejected, PushReply, PushResult

NAME = "wechat_shop"
SUCCESS = PushReply(200, "text/plain; charset=utf-8", b"success")
PAID_EVENT = "channels_ec_order_pay"
AFTERSALE_EVENT = "channels_ec_aftersale_update"


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def verify_push(credentials: Credentials, method: str, headers: Mapping[str, str],
                query: Mapping[str, str], body: bytes) -> PushResult:
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    if method.upper() == "GET":
        return _handshake(credentials, query, timestamp, nonce)
    if method.upper() != "POST":
        raise PushRejected("消息推送只接受 GET（校验）或 POST", status=405)
    if query.get("signature") is not None and not digest_equal(
            sha1_signature(credentials.token, timestamp, nonce), query.get("signature")):
        raise PushRejected("微信推送 signature 校验失败", status=401)
    plaintext = open_envelope(credentials, query, body)
    with malformed_as_rejected():
        return PushResult(messages=[_message(_parse_plaintext(plaintext))], reply=SUCCESS)


def _handshake(credentials: Credentials, query: Mapping[str, str], timestamp: str, nonce: str) -> PushResult:
    if not digest_equal(sha1_signature(credentials.token, timestamp, nonce), query.get("signature")):
        raise PushRejected("微信推送地址校验签名错误", status=401)
    echostr = query.get("echostr", "")
    return PushResult(messages=[], reply=PushReply(200, "text/plain; charset=utf-8", echostr.encode("utf-8")))


def open_envelope(credentials: Credentials, query: Mapping[str, str], body: bytes) -> str:
    """Check ``msg_signature`` over ``Encrypt`` and decrypt it: the plaintext as sent."""
    envelope = _envelope(body)
    encrypted = envelope.get("Encrypt")
    if not encrypted:
        raise PushRejected("微信推送不是安全模式（缺少 Encrypt）", status=400)
    expected = sha1_signature(credentials.token, query.get("timestamp", ""), query.get("nonce", ""), encrypted)
    if not digest_equal(expected, query.get("msg_signature")):
        raise PushRejected("微信推送 msg_signature 校验失败", status=401)
    # wechatpy (with requests and its API clients, ~20 MiB) is loaded by the first 微信小店 push,
    # not by every process that imports the connectors
    from wechatpy.crypto import PrpCrypto
    from wechatpy.exceptions import InvalidAppIdException

    try:
        key = _aes_key(credentials.encoding_aes_key)
        return PrpCrypto(key).decrypt(encrypted, credentials.app_id)
    except InvalidAppIdException as exc:
        raise PushRejected("微信推送不是发给本小店 appid 的", status=403) from exc
    except PushRejected:
        raise
    except Exception as exc:  # cryptography / struct / unicode errors on a forged Encrypt
        raise PushRejected("微信推送无法解密（EncodingAESKey 不匹配或内容被篡改）", status=400) from exc


def _aes_key(encoding_aes_key: str) -> bytes:
    try:
        key = base64.b64decode(encoding_aes_key + "=")
    except (binascii.Error, ValueError) as exc:
        raise PushRejected("微信 EncodingAESKey 不是合法的 base64（请检查连接配置）", status=500) from exc
    if len(key) != 32:
        raise PushRejected("微信 EncodingAESKey 长度不正确（请检查连接配置）", status=500)
    return key


def _envelope(body: bytes) -> dict[str, Any]:
    text = body.strip()
    if text.startswith(b"<"):
        try:
            return dict(xmltodict.parse(text).get("xml") or {})
        except ExpatError as exc:
            raise PushRejected("微信推送 XML 无法解析", status=400) from exc
    return json_object(text, "微信推送")


def _parse_plaintext(plaintext: str) -> dict[str, Any]:
    if plaintext.lstrip().startswith("<"):
        try:
            return dict(xmltodict.parse(plaintext).get("xml") or {})
        except ExpatError as exc:
            raise PushRejected("微信推送解密后的 XML 无法解析", status=400) from exc
    return json_object(plaintext, "微信推送解密后的内容")


def _message(payload: Mapping[str, Any]) -> PushMessage:
    event = str(payload.get("Event") or payload.get("MsgType") or "")
    order_info = payload.get("order_info") or {}
    aftersale = payload.get("finder_shop_aftersale_status_update") or {}
    kind = ORDER_PAID if event == PAID_EVENT else REFUND if event == AFTERSALE_EVENT else OTHER
    order_id = as_id(order_info.get("order_id")) or as_id(aftersale.get("order_id"))
    aftersale_id = as_id(aftersale.get("after_sale_order_id"))
    # events carry no message id: the platform's retries repeat the same body, so these
    # fields (including CreateTime) identify one message across retries
    key_parts = [event, order_id or "", aftersale_id or "", str(aftersale.get("status") or ""),
                 str(payload.get("CreateTime") or "")]
    if not order_id and not aftersale_id:
        key_parts.append(hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False)
                                        .encode()).hexdigest()[:16])
    return PushMessage(
        platform=NAME, message_id=":".join(key_parts), kind=kind, event=event, raw=dict(payload),
        order_id=order_id, aftersale_id=aftersale_id, shop_id=as_id(payload.get("ToUserName")),
        occurred_at=from_epoch(order_info.get("pay_time")) or from_epoch(payload.get("CreateTime")),
    )
