"""快手小店: push decryption, the API client against the fake platform over HTTP, event mapping."""
from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timezone

import pytest

from connectors import get_connector
from connectors.base import (
    ORDER_PAID,
    REFUND,
    TEST,
    AccessToken,
    Credentials,
    PlatformRefused,
    PushRejected,
    TokenExpired,
)
from connectors.kuaishou_shop import KuaishouShopClient, paid_events, refund_events, refund_ids, verify_push
from connectors.kuaishou_shop.client import request_sign, sign_input
from connectors.kuaishou_shop.push import decrypt_body, encrypt_body
from tests.fakes.platforms.base import SeedItem, SeedOrder, SeedRefund
from tests.fakes.platforms.kuaishou_shop import FakeKuaishouShop, encrypt_message, platform_sign
from tests.fakes.platforms.receiver import PushReceiver
from tests.unit.connectors.helpers import (
    T0,
    assert_valid,
    context_for,
    first_two_pages,
    injected_failures_are_classified,
    window,
)

ORDER_ID = "2600000000000000001"
CTX = context_for("2000000001")


def seed(fake: FakeKuaishouShop, *, host: bool = True) -> SeedOrder:
    return fake.add_order(SeedOrder(ORDER_ID, [SeedItem(ORDER_ID, "8800000000000001", "保靖黄金茶 礼盒", 3, 26700,
                                                        host_id="3300000001" if host else None,
                                                        host_name="湘西茶姐" if host else None)],
                                    paid_at=T0, updated_at=T0 + 30))


def push_body(creds: Credentials, payload: dict) -> bytes:
    return encrypt_message(creds.message_key, json.dumps(payload))


# -- push decryption ------------------------------------------------------------------------------

def test_decryption_is_aes_cbc_zero_iv_pkcs5_of_the_base64_body():
    key = base64.b64encode(b"0123456789abcdef").decode()
    body = encrypt_message(key, '{"eventId":"e1"}')
    assert decrypt_body(key, body) == '{"eventId":"e1"}'
    assert encrypt_body(key, '{"eventId":"e1"}') == body  # same scheme both ways


def test_paid_push_is_decrypted_and_checked_for_our_app_key():
    with FakeKuaishouShop() as fake:
        creds = fake.credentials
        payload = {"eventId": "e-1", "bizId": int(ORDER_ID), "userId": 2000000001, "appKey": creds.app_key,
                   "event": "kwaishop_order_paySuccess", "info": json.dumps({"oid": int(ORDER_ID), "status": 30}),
                   "createTime": T0 * 1000}
        result = verify_push(creds, "POST", {}, {}, push_body(creds, payload))
    [message] = result.messages
    assert (result.reply.status, result.reply.body) == (200, b'{"result":1}')
    assert (message.kind, message.message_id, message.order_id, message.shop_id) == (
        ORDER_PAID, "e-1", ORDER_ID, "2000000001")
    assert message.occurred_at == datetime.fromtimestamp(T0, tz=timezone.utc)


def test_wrong_key_forged_body_and_another_apps_message_are_rejected():
    with FakeKuaishouShop() as fake:
        creds = fake.credentials
        other_key = base64.b64encode(b"fedcba9876543210").decode()
        good = {"eventId": "e", "appKey": creds.app_key, "event": "x", "info": "{}"}
        with pytest.raises(PushRejected) as wrong_key:
            verify_push(creds, "POST", {}, {}, encrypt_message(other_key, json.dumps(good)))
        with pytest.raises(PushRejected) as forged:
            verify_push(creds, "POST", {}, {}, base64.b64encode(b"A" * 48))
        with pytest.raises(PushRejected) as other_app:
            verify_push(creds, "POST", {}, {}, push_body(creds, {**good, "appKey": "ks999"}))
        with pytest.raises(PushRejected) as plaintext:
            verify_push(creds, "POST", {}, {}, json.dumps(good).encode())
    assert (wrong_key.value.status, forged.value.status, other_app.value.status, plaintext.value.status) == (
        400, 400, 403, 400)


def test_heartbeat_is_a_test_message_plain_or_encrypted():
    with FakeKuaishouShop() as fake, PushReceiver(get_connector("kuaishou_shop"), fake.credentials) as rx:
        plain = fake.push_heartbeat(rx.url)
        encrypted = fake.push_heartbeat(rx.url, encrypted=True)
    assert (plain.status, plain.reply) == (200, b'{"result":1}')
    assert encrypted.status == 200
    assert [m.kind for m in rx.messages] == [TEST, TEST]


def test_refund_push_carries_the_refund_id():
    with FakeKuaishouShop() as fake, PushReceiver(get_connector("kuaishou_shop"), fake.credentials) as rx:
        seed(fake)
        fake.add_refund(SeedRefund("5500000000000000001", ORDER_ID, ORDER_ID, 26700, 3, updated_at=T0 + 60))
        fake.push_refund(rx.url, "5500000000000000001")
        rejected = fake.push_paid(rx.url, ORDER_ID, key=base64.b64encode(bytes(16)).decode())
    assert rejected.status == 400
    [message] = rx.messages
    assert (message.kind, message.aftersale_id, message.order_id) == (REFUND, "5500000000000000001", ORDER_ID)


# -- signing and the client over HTTP --------------------------------------------------------------

def test_sign_input_is_sorted_params_then_sign_secret():
    params = {"version": "1", "method": "open.order.detail", "appkey": "ks1", "access_token": "t",
              "param": '{"oid":1}', "signMethod": "MD5", "timestamp": "1583271919000"}
    assert sign_input(params, "sec") == ('access_token=t&appkey=ks1&method=open.order.detail&param={"oid":1}'
                                         '&signMethod=MD5&timestamp=1583271919000&version=1&signSecret=sec')
    assert request_sign(params, "sec", "MD5") == hashlib.md5(sign_input(params, "sec").encode()).hexdigest()
    assert request_sign(params, "sec", "MD5") == platform_sign(params, "sec")
    hmac_params = {**params, "signMethod": "HMAC_SHA256"}
    assert request_sign(hmac_params, "sec", "HMAC_SHA256") == platform_sign(hmac_params, "sec")
    assert base64.b64decode(request_sign(hmac_params, "sec", "HMAC_SHA256"))  # base64, not hex


@pytest.mark.parametrize("sign_method", ["MD5", "HMAC_SHA256"])
def test_order_detail_over_http_refreshing_the_token_with_the_grants_refresh_token(sign_method):
    saved: list[AccessToken] = []
    with FakeKuaishouShop() as fake:
        seed(fake)
        creds = Credentials(**{**fake.credentials.__dict__, "sign_method": sign_method})
        detail = KuaishouShopClient(creds, base_url=fake.url, on_token=saved.append).order_detail(ORDER_ID)
    assert detail["orderBaseInfo"]["oid"] == int(ORDER_ID)
    assert len(saved) == 1 and saved[0].refresh_token != creds.refresh_token  # rotated: persist it


def test_expired_token_refreshes_with_the_rotated_refresh_token():
    with FakeKuaishouShop() as fake:
        seed(fake)
        client = KuaishouShopClient(fake.credentials, base_url=fake.url)
        client.order_detail(ORDER_ID)
        fake.expire_tokens()
        client.order_detail(ORDER_ID)
    assert fake.calls_to("/oauth2/refresh_token") == 2 and fake.calls_to("/open/order/detail") == 3


def test_a_dead_refresh_token_means_reauthorisation():
    with FakeKuaishouShop() as fake:
        creds = Credentials(**{**fake.credentials.__dict__, "refresh_token": "revoked"})
        with pytest.raises(TokenExpired, match="重新授权"):
            KuaishouShopClient(creds, base_url=fake.url).order_detail(ORDER_ID)


def test_bad_sign_secret_rate_limit_and_5xx_are_classified():
    with FakeKuaishouShop() as fake:
        seed(fake)
        client = KuaishouShopClient(fake.credentials, base_url=fake.url)
        client.order_detail(ORDER_ID)
        # a refresh token works once, so the second client starts from the first one's token
        bad = KuaishouShopClient(Credentials(**{**fake.credentials.__dict__, "sign_secret": "nope"}),
                                 base_url=fake.url, token=client.token)
        with pytest.raises(PlatformRefused, match="签名校验失败"):
            bad.order_detail(ORDER_ID)
        limited = injected_failures_are_classified(fake, lambda: client.order_detail(ORDER_ID))
        with pytest.raises(PlatformRefused, match="订单不存在"):
            client.order_detail("2600000000000009999")
    assert limited.retry_after == 1.0 and "Exceed qps limit" in str(limited)


def test_cursor_listing_stops_at_nomore():
    with FakeKuaishouShop() as fake:
        for n in range(3):
            fake.add_order(SeedOrder(f"26000000000000001{n}", [SeedItem("x", "1", "t", 1, 10)], T0, T0 + n))
        first, second = first_two_pages(KuaishouShopClient(fake.credentials, base_url=fake.url), window(0, 600))
    assert first.ids == ["260000000000000010", "260000000000000011"] and first.next_cursor == "2"
    assert second.ids == ["260000000000000012"] and second.next_cursor is None


# -- mapping -------------------------------------------------------------------------------------

def test_paid_event_attributes_the_distributor_and_uses_the_category_name():
    with FakeKuaishouShop() as fake:
        seed(fake)
        detail = KuaishouShopClient(fake.credentials, base_url=fake.url).order_detail(ORDER_ID)
    [event] = paid_events(detail, CTX)
    assert_valid([event])
    assert event["event_id"] == f"ks-2000000001-{ORDER_ID}-paid"
    assert (event["order_id"], event["parent_order_id"], event["amount_fen"], event["quantity"]) == (
        ORDER_ID, ORDER_ID, 26700, 3)
    assert (event["host"], event["host_source"], event["host_name"]) == ("3300000001", "distributor", "湘西茶姐")
    assert event["product"] == {"sku": "8800000000000001", "name": "保靖黄金茶 礼盒", "category": "茶叶"}


def test_kwaimoney_user_is_the_fallback_host_and_none_gives_the_marker():
    with FakeKuaishouShop() as fake:
        seed(fake, host=False)
        detail = KuaishouShopClient(fake.credentials, base_url=fake.url).order_detail(ORDER_ID)
    assert paid_events(detail, CTX)[0]["host"] == "unattributed"
    detail["orderCpsInfo"] = {"distributorId": 0, "kwaiMoneyUserId": 5500, "kwaiMoneyUserNickName": "快赚客"}
    [event] = paid_events(detail, CTX)
    assert (event["host"], event["host_source"]) == ("5500", "kwaimoney")


def test_full_refund_counts_all_units_and_refers_to_the_order():
    with FakeKuaishouShop() as fake:
        seed(fake)
        fake.add_refund(SeedRefund("5500000000000000001", ORDER_ID, ORDER_ID, 26700, updated_at=T0 + 60))
        fake.add_refund(SeedRefund("5500000000000000002", ORDER_ID, ORDER_ID, 1000, updated_at=T0 + 90))
        client = KuaishouShopClient(fake.credentials, base_url=fake.url)
        order = client.order_detail(ORDER_ID)
        full, partial = (client.refund_detail(r) for r in ("5500000000000000001", "5500000000000000002"))
    assert refund_ids(order) == ["5500000000000000001", "5500000000000000002"]
    [f], [p] = refund_events(full, CTX, order), refund_events(partial, CTX, order)
    assert_valid([f, p])
    assert (f["event_id"], f["order_id"], f["amount_fen"], f["quantity"]) == (
        "ks-2000000001-5500000000000000001-refund", ORDER_ID, 26700, 3)
    assert (p["amount_fen"], p["quantity"], p["host"]) == (1000, 0, "3300000001")


def test_unfinished_or_exchange_refunds_map_to_nothing():
    detail = {"refundId": 1, "oid": 2, "status": 10, "handlingWay": 10, "refundFee": 100, "endTime": T0 * 1000}
    assert refund_events(detail, CTX) == []
    assert refund_events({**detail, "status": 60, "handlingWay": 3}, CTX) == []
