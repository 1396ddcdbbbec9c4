"""The self-test of a connection (`liveboard connectors test NAME`, the console's 自检 button).

1. 平台接口令牌: obtain an access token from the platform's API (or the shared stored one while it
   is fresh) — proves app key/secret, the authorisation and the API base URL.
2. 订单接口: list the orders updated in the last 10 minutes — proves request signing and the
   order permission.
3. 推送验证: a sample push signed (or encrypted) with the connection's credentials, exactly as the
   platform would, sent through the real push endpoint; the answer must be the platform's own
   success body. The samples are test messages (微信小店: the URL handshake and an event we do
   not use), so nothing is stored.
"""
from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from connectors.access import PlatformAccess
from connectors.base import ConnectorError, PlatformRefused, PlatformUnavailable, TokenExpired, Window
from connectors.douyin_shop.push import push_signature
from connectors.kuaishou_shop.push import encrypt_body
from connectors.service import Connection, push_path
from connectors.wechat_shop.push import sha1_signature
from connectors.youzan.push import md5_sign
from domain.periods import SHANGHAI

JSON_OK = b'{"code":0,"msg":"success"}'


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class SamplePush:
    what: str
    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: bytes
    expected_status: int
    expected_body: bytes


@dataclass
class SelfTest:
    connection: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def as_dict(self) -> dict:
        return {"connection": self.connection, "ok": self.ok, "checks": [c.as_dict() for c in self.checks]}


# Sends one sample push through the real endpoint: (status, body) of the answer.
Send = Callable[[SamplePush], tuple[int, bytes]]


def beijing(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=SHANGHAI).strftime("%Y-%m-%d %H:%M")


def sample_pushes(connection: Connection) -> list[SamplePush]:
    creds, path, platform = connection.credentials, push_path(connection.name), connection.info.platform
    nonce = secrets.token_hex(6)
    if platform == "douyin_shop":
        # pushes are signed with MD5 whatever the API's sign method (DoudianOpMsgRequest.checkSign)
        body = json.dumps([{"tag": "0", "msg_id": f"liveboard-selftest-{nonce}", "data": "{}"}]).encode()
        headers = {"Content-Type": "application/json", "app-id": creds.app_key,
                   "event-sign": push_signature(creds.app_key, creds.app_secret, body, "md5")}
        return [SamplePush("签名的测试消息", "POST", path, headers, {}, body, 200, JSON_OK)]
    if platform == "kuaishou_shop":
        plain = json.dumps({"test": True, "appKey": creds.app_key, "eventId": f"liveboard-selftest-{nonce}"})
        return [SamplePush("加密的测试消息", "POST", path, {"Content-Type": "text/plain;charset=utf-8"}, {},
                           encrypt_body(creds.message_key, plain), 200, b'{"result":1}')]
    if platform == "youzan":
        body = json.dumps({"test": True, "client_id": creds.client_id, "id": f"liveboard-selftest-{nonce}",
                           "type": "", "msg": "", "kdt_id": connection.info.shop_id}).encode()
        headers = {"Content-Type": "application/json",
                   "Event-Sign": md5_sign(creds.client_id, body, creds.client_secret)}
        return [SamplePush("签名的测试消息", "POST", path, headers, {}, body, 200, JSON_OK)]
    return _wechat_samples(connection, path, nonce)


def _wechat_samples(connection: Connection, path: str, nonce: str) -> list[SamplePush]:
    creds = connection.credentials
    timestamp, echostr = str(int(time.time())), f"liveboard-{nonce}"
    handshake = SamplePush("推送地址校验（GET）", "GET", path, {},
                           {"signature": sha1_signature(creds.token, timestamp, nonce), "timestamp": timestamp,
                            "nonce": nonce, "echostr": echostr}, b"", 200, echostr.encode())
    event = json.dumps({"ToUserName": connection.info.shop_id, "FromUserName": "liveboard-selftest",
                        "CreateTime": int(timestamp), "MsgType": "event", "Event": "liveboard_selftest"})
    from wechatpy.crypto import PrpCrypto  # loaded when a 微信小店 connection is tested, not with the console

    key = base64.b64decode(creds.encoding_aes_key + "=")
    encrypted = PrpCrypto(key).encrypt(event, creds.app_id).decode()
    query = {"timestamp": timestamp, "nonce": nonce, "encrypt_type": "aes",
             "signature": sha1_signature(creds.token, timestamp, nonce),
             "msg_signature": sha1_signature(creds.token, timestamp, nonce, encrypted)}
    body = json.dumps({"ToUserName": connection.info.shop_id, "Encrypt": encrypted}).encode()
    message = SamplePush("加密的事件消息（POST）", "POST", path, {"Content-Type": "application/json"}, query, body,
                         200, b"success")
    return [handshake, message]


def _explain(exc: ConnectorError) -> str:
    if isinstance(exc, TokenExpired):
        return f"授权失效，需要商家重新授权：{exc}"
    if isinstance(exc, PlatformRefused):
        return f"平台拒绝（请核对 App Key、密钥、店铺编号和权限）：{exc}"
    if isinstance(exc, PlatformUnavailable):
        return f"平台接口不可用（请核对接口地址和网络）：{exc}"
    return str(exc)


def run_self_test(access: PlatformAccess, connection: Connection, send: Send) -> SelfTest:
    result = SelfTest(connection.name)
    client = access.client(connection)
    token_ok = False
    try:
        token = client.access_token()
        token_ok = True
        result.checks.append(Check("平台接口令牌", True, f"已取得 access_token，有效期至 {beijing(token.expires_at)}"))
    except ConnectorError as exc:
        result.checks.append(Check("平台接口令牌", False, _explain(exc)))
    if token_ok:
        end = datetime.now(timezone.utc)
        try:
            page = client.list_orders(Window(end - timedelta(minutes=10), end))
            result.checks.append(Check("订单接口", True, f"调用成功：最近 10 分钟更新的订单 {len(page.ids)} 笔"
                                                      + ("（还有更多）" if page.next_cursor else "")))
        except ConnectorError as exc:
            result.checks.append(Check("订单接口", False, _explain(exc)))
    else:
        result.checks.append(Check("订单接口", False, "未执行：没有可用的 access_token"))
    for sample in sample_pushes(connection):
        try:
            status, body = send(sample)
        except OSError as exc:
            result.checks.append(Check(f"推送验证：{sample.what}", False, f"无法连接推送地址：{exc}"))
            continue
        if status == sample.expected_status and body.strip() == sample.expected_body:
            result.checks.append(Check(f"推送验证：{sample.what}", True, "推送地址验签通过，回复与平台约定一致"))
        else:
            shown = body[:200].decode("utf-8", "replace")
            result.checks.append(Check(f"推送验证：{sample.what}", False, f"回复 HTTP {status}：{shown}"))
    return result
