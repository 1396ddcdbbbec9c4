"""微信小店: URL handshake, safe-mode push verification, the API client over HTTP, mapping."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
import xmltodict

from connectors import get_connector
from connectors.base import ORDER_PAID, REFUND, Credentials, PlatformRefused, PushRejected
from connectors.wechat_shop import WechatShopClient, paid_events, refund_events, refund_ids, verify_push
from connectors.wechat_shop.push import open_envelope, sha1_signature
from tests.fakes.platforms.base import SeedItem, SeedOrder, SeedRefund
from tests.fakes.platforms.receiver import PushReceiver
from tests.fakes.platforms.wechat_shop import FakeWechatShop, sha1_of
from tests.unit.connectors.helpers import (
    T0,
    assert_valid,
    context_for,
    first_two_pages,
    injected_failures_are_classified,
    valid_by_order_id,
    window,
)

ORDER_ID = "3727324701692140032"
CTX = context_for("wx4f4bc4dec97d0001")

# A public sample: wechatpy tests/test_crypto.py (test_decrypt_message), the WXBizMsgCrypt
# scheme shared by every WeChat safe-mode push.
SAMPLE = Credentials(token="123456", encoding_aes_key="kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
                     app_id="wx49f0ab532d5d035a")
SAMPLE_QUERY = {"msg_signature": "74d92dfeb87ba7c714f89d98870ae5eb62dff26d", "timestamp": "1411525903",
                "nonce": "461056294"}
SAMPLE_ENCRYPT = ("RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv28"
                  "3dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/"
                  "nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqI"
                  "rH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9"
                  "QaNWHp91eBdCRxthuL0=")


def seed(fake: FakeWechatShop) -> SeedOrder:
    return fake.add_order(SeedOrder(ORDER_ID, [
        SeedItem(f"{ORDER_ID}-3095702974", "3095702974", "龙山百合 500g", 2, 7980, host_id="sph1A2b3C4d", host_name="百合哥"),
        SeedItem(f"{ORDER_ID}-3095702975", "3095702975", "湘西腊肉 1kg", 1, 9900),
    ], paid_at=T0, updated_at=T0 + 10))


# -- handshake and push verification ------------------------------------------------------------

def test_public_sample_decrypts_after_msg_signature_check():
    body = json.dumps({"ToUserName": "wx49f0ab532d5d035a", "Encrypt": SAMPLE_ENCRYPT}).encode()
    plaintext = open_envelope(SAMPLE, SAMPLE_QUERY, body)
    assert xmltodict.parse(plaintext)["xml"]["Content"] == "test"


@pytest.mark.parametrize("change", [{"nonce": "461056295"}, {"msg_signature": "0" * 40}, {"msg_signature": ""}])
def test_public_sample_with_a_wrong_signature_is_rejected(change):
    body = json.dumps({"Encrypt": SAMPLE_ENCRYPT}).encode()
    with pytest.raises(PushRejected) as rejected:
        open_envelope(SAMPLE, {**SAMPLE_QUERY, **change}, body)
    assert rejected.value.status == 401


def test_public_sample_addressed_to_another_app_is_rejected():
    other = Credentials(token="123456", encoding_aes_key=SAMPLE.encoding_aes_key, app_id="wx0000000000000000")
    with pytest.raises(PushRejected) as rejected:
        open_envelope(other, SAMPLE_QUERY, json.dumps({"Encrypt": SAMPLE_ENCRYPT}).encode())
    assert rejected.value.status == 403


def test_handshake_echoes_echostr_after_checking_signature():
    query = {"timestamp": "1409304348", "nonce": "xxxxxx", "echostr": "4812461237458"}
    query["signature"] = sha1_signature("123456", query["timestamp"], query["nonce"])
    result = verify_push(SAMPLE, "GET", {}, query, b"")
    assert (result.reply.status, result.reply.body, result.messages) == (200, b"4812461237458", [])
    with pytest.raises(PushRejected):
        verify_push(SAMPLE, "GET", {}, {**query, "signature": sha1_signature("wrong", "1409304348", "xxxxxx")}, b"")


def test_fake_platform_pushes_reach_the_receiver():
    with FakeWechatShop() as fake, PushReceiver(get_connector("wechat_shop"), fake.credentials) as rx:
        seed(fake)
        fake.add_refund(SeedRefund("2001", ORDER_ID, f"{ORDER_ID}-3095702974", 7980, 2, updated_at=T0 + 600))
        handshake, echostr = fake.verify_url(rx.url)
        paid = fake.push_paid(rx.url, ORDER_ID)
        refund = fake.push_aftersale(rx.url, "2001")
        wrong_token = fake.push_paid(rx.url, ORDER_ID, token="another-token")
        wrong_key = fake.push_paid(rx.url, ORDER_ID, aes_key="ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut")
        other_app = fake.push_paid(rx.url, ORDER_ID, app_id="wx0000000000000000")
    assert (handshake.status, handshake.reply) == (200, echostr.encode())
    assert (paid.status, paid.reply, refund.status) == (200, b"success", 200)
    # a signature made with the right token over a body encrypted with another key is undecryptable
    assert (wrong_token.status, wrong_key.status, other_app.status) == (401, 400, 403)
    [pay, after] = rx.messages
    assert (pay.kind, pay.order_id, pay.occurred_at) == (ORDER_PAID, ORDER_ID, datetime.fromtimestamp(T0, timezone.utc))
    assert (after.kind, after.aftersale_id, after.order_id) == (REFUND, "2001", ORDER_ID)
    assert pay.message_id != after.message_id


def test_a_retried_push_has_the_same_message_id():
    with FakeWechatShop() as fake, PushReceiver(get_connector("wechat_shop"), fake.credentials) as rx:
        seed(fake)
        fake.push_paid(rx.url, ORDER_ID)
        fake.push_paid(rx.url, ORDER_ID)  # re-encrypted with another nonce, same event
    assert rx.messages[0].message_id == rx.messages[1].message_id


def test_plaintext_mode_is_refused():
    with FakeWechatShop() as fake:
        query = {"timestamp": "1", "nonce": "n", "signature": sha1_of(fake.push_token, "1", "n")}
        with pytest.raises(PushRejected, match="安全模式"):
            verify_push(fake.credentials, "POST", {}, query, b'{"ToUserName":"gh","Event":"channels_ec_order_pay"}')


# -- client over HTTP -----------------------------------------------------------------------------

def test_order_and_aftersale_detail_with_a_stable_token():
    with FakeWechatShop() as fake:
        seed(fake)
        fake.add_refund(SeedRefund("2001", ORDER_ID, f"{ORDER_ID}-3095702974", 7980, 2, updated_at=T0 + 600))
        client = WechatShopClient(fake.credentials, base_url=fake.url)
        order, aftersale = client.order_detail(ORDER_ID), client.refund_detail("2001")
    assert order["order_id"] == ORDER_ID and aftersale["after_sale_order_id"] == "2001"
    assert fake.calls_to("/cgi-bin/stable_token") == 1 and refund_ids(order) == ["2001"]


def test_refused_token_is_refreshed_and_forced_when_the_stable_token_lags():
    with FakeWechatShop() as fake:
        seed(fake)
        client = WechatShopClient(fake.credentials, base_url=fake.url)
        client.order_detail(ORDER_ID)
        fake.stable_token_lags = True
        fake.expire_tokens()
        assert client.order_detail(ORDER_ID)["order_id"] == ORDER_ID
    assert fake.calls_to("/cgi-bin/stable_token") == 3  # first, lagging same token, forced


def test_classic_token_endpoint_and_wrong_secret():
    with FakeWechatShop() as fake:
        seed(fake)
        assert WechatShopClient(fake.credentials, base_url=fake.url, use_stable_token=False).order_detail(ORDER_ID)
        wrong = Credentials(**{**fake.credentials.__dict__, "app_secret": "wrong"})
        with pytest.raises(PlatformRefused, match="AppSecret"):
            WechatShopClient(wrong, base_url=fake.url).order_detail(ORDER_ID)
    assert fake.calls_to("/cgi-bin/token") == 1


def test_rate_limit_busy_and_not_found():
    with FakeWechatShop() as fake:
        seed(fake)
        client = WechatShopClient(fake.credentials, base_url=fake.url)
        limited = injected_failures_are_classified(fake, lambda: client.order_detail(ORDER_ID))
        with pytest.raises(PlatformRefused):
            client.order_detail("1")
    assert (limited.code, limited.retry_after) == ("45011", 60.0)


def test_listing_follows_next_key():
    with FakeWechatShop() as fake:
        for n in range(3):
            fake.add_order(SeedOrder(f"37273247016921400{n:02d}", [SeedItem("a-1", "1", "t", 1, 1)], T0, T0 + n))
        first, second = first_two_pages(WechatShopClient(fake.credentials, base_url=fake.url), window(0, 900))
    assert len(first.ids) == 2 and second.ids == ["3727324701692140002"] and second.next_cursor is None


# -- mapping -------------------------------------------------------------------------------------

def test_paid_events_per_sku_with_source_info_attribution():
    with FakeWechatShop() as fake:
        seed(fake)
        order = WechatShopClient(fake.credentials, base_url=fake.url).order_detail(ORDER_ID)
    events = valid_by_order_id(paid_events(order, CTX))
    lily = events[f"{ORDER_ID}-3095702974"]
    assert lily["event_id"] == f"wx-wx4f4bc4dec97d0001-{ORDER_ID}-3095702974-paid"
    assert (lily["host"], lily["host_account_type"], lily["host_name"], lily["amount_fen"]) == (
        "sph1A2b3C4d", "1", "百合哥", 7980)
    assert lily["parent_order_id"] == ORDER_ID and lily["live_id"] == "export/live-0001"
    assert events[f"{ORDER_ID}-3095702975"]["host"] == "unattributed"


def test_commission_and_order_level_finder_are_fallbacks():
    order = {"order_id": "9", "openid": "o1", "order_detail": {
        "pay_info": {"pay_time": T0},
        "product_infos": [{"sku_id": "1", "sku_cnt": 1, "real_price": 100, "title": "a"},
                          {"sku_id": "2", "sku_cnt": 1, "real_price": 200, "title": "b"},
                          {"sku_id": "1", "sku_cnt": 2, "real_price": 180, "title": "a"}],
        "commission_infos": [{"sku_id": "1", "finder_id": "finder-1", "nickname": "达人一"}],
        "ext_info": {"finder_id": "shop-finder"}}}
    events = valid_by_order_id(paid_events(order, CTX))
    assert (events["9-1"]["host"], events["9-1"]["quantity"], events["9-1"]["amount_fen"]) == ("finder-1", 3, 280)
    assert (events["9-2"]["host"], events["9-2"]["host_source"]) == ("shop-finder", "ext_info")


def test_refund_event_refers_to_the_sku_line():
    with FakeWechatShop() as fake:
        seed(fake)
        fake.add_refund(SeedRefund("2001", ORDER_ID, f"{ORDER_ID}-3095702974", 7980, 2, updated_at=T0 + 600))
        fake.add_refund(SeedRefund("2002", ORDER_ID, f"{ORDER_ID}-3095702975", 9900, 1, done=False, updated_at=T0))
        client = WechatShopClient(fake.credentials, base_url=fake.url)
        order = client.order_detail(ORDER_ID)
        done, pending = client.refund_detail("2001"), client.refund_detail("2002")
    [event] = refund_events(done, CTX, order)
    assert_valid([event])
    assert (event["event_id"], event["order_id"], event["amount_fen"], event["quantity"], event["host"]) == (
        "wx-wx4f4bc4dec97d0001-2001-refund", f"{ORDER_ID}-3095702974", 7980, 2, "sph1A2b3C4d")
    assert refund_events(pending, CTX, order) == []
    assert refund_events(done, CTX)[0]["buyer"] == event["buyer"]  # the aftersale names the buyer too
