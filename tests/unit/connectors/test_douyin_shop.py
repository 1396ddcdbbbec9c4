"""抖店: push verification, the API client against the fake platform over HTTP, event mapping."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest

from connectors import get_connector
from connectors.base import (
    ORDER_PAID,
    REFUND,
    TEST,
    AccessToken,
    Credentials,
    PlatformRefused,
    PlatformUnavailable,
    PushRejected,
    Window,
)
from connectors.douyin_shop import DouyinShopClient, paid_events, refund_events, verify_push
from connectors.douyin_shop.client import request_sign
from tests.fakes.platforms.base import SeedItem, SeedOrder, SeedRefund
from tests.fakes.platforms.douyin_shop import FakeDouyinShop, event_sign, platform_sign
from tests.fakes.platforms.receiver import PushReceiver
from tests.unit.connectors.helpers import (
    T0,
    assert_valid,
    context_for,
    injected_failures_are_classified,
    valid_by_order_id,
)

CREDS = Credentials(app_key="7000000000000000001", app_secret="fake-doudian-app-secret-0123456789",
                    shop_id="4463798")
CTX = context_for("4463798")
ORDER_ID = "6920000000000000001"      # 19 digits: must never pass through a float


def seed(fake: FakeDouyinShop) -> SeedOrder:
    return fake.add_order(SeedOrder(order_id=ORDER_ID, paid_at=T0, updated_at=T0 + 5, items=[
        SeedItem("6920000000000000002", "1700000000000000001", "湘西椪柑 5斤", 2, 3980,
                 host_id="99000000000000001", host_name="苗家阿妹"),
        SeedItem("6920000000000000003", "1700000000000000002", "古丈毛尖 250g", 1, 12800),
    ]))


def signed(body: bytes, *, app_key: str = CREDS.app_key, secret: str = CREDS.app_secret) -> dict[str, str]:
    return {"app-id": app_key, "event-sign": event_sign(app_key, secret, body), "Content-Type": "application/json"}


# -- push verification ----------------------------------------------------------------------------

def test_event_sign_is_md5_of_key_body_secret_over_the_raw_bytes():
    body = b'[{"tag":"0","msg_id":"1","data":"{}"}]'
    expected = hashlib.md5(b"7000000000000000001" + body + b"fake-doudian-app-secret-0123456789").hexdigest()
    result = verify_push(CREDS, "POST", {"event-sign": expected}, {}, body)
    assert [m.kind for m in result.messages] == [TEST]
    assert (result.reply.status, result.reply.body) == (200, b'{"code":0,"msg":"success"}')


def test_hex_case_of_the_signature_does_not_matter():
    body = b'[{"tag":"0","msg_id":"1","data":"{}"}]'
    headers = signed(body)
    headers["event-sign"] = headers["event-sign"].upper()
    assert verify_push(CREDS, "POST", headers, {}, body).messages[0].kind == TEST


@pytest.mark.parametrize("tamper", ["forged", "wrong_secret", "body_changed", "missing"])
def test_forged_or_missing_signatures_are_rejected(tamper):
    body = b'[{"tag":"101","msg_id":"7","data":"{\\"p_id\\":6920000000000000001}"}]'
    headers = signed(body, secret="another-secret" if tamper == "wrong_secret" else CREDS.app_secret)
    if tamper == "forged":
        headers["event-sign"] = "0" * 32
    if tamper == "missing":
        del headers["event-sign"]
    sent = body.replace(b"6920000000000000001", b"6920000000000000009") if tamper == "body_changed" else body
    with pytest.raises(PushRejected) as rejected:
        verify_push(CREDS, "POST", headers, {}, sent)
    assert rejected.value.status == 401


def test_another_apps_push_is_rejected():
    body = b'[{"tag":"0","msg_id":"1","data":"{}"}]'
    with pytest.raises(PushRejected) as rejected:
        verify_push(CREDS, "POST", signed(body, app_key="7000000000000000999"), {}, body)
    assert rejected.value.status == 403


def test_paid_message_keeps_19_digit_ids_exact_and_parses_data_twice():
    data = {"p_id": 6920000000000000001, "s_ids": [6920000000000000002, 6920000000000000003],
            "shop_id": 4463798, "pay_time": T0, "pay_amount": 20760}
    body = json.dumps([{"tag": "101", "msg_id": "m-1", "data": json.dumps(data)}]).encode()
    [message] = verify_push(CREDS, "POST", signed(body), {}, body).messages
    assert message.kind == ORDER_PAID and message.message_id == "m-1"
    assert message.order_id == "6920000000000000001"
    assert message.sub_order_ids == ("6920000000000000002", "6920000000000000003")
    assert message.shop_id == "4463798"
    assert message.occurred_at == datetime.fromtimestamp(T0, tz=timezone.utc)


def test_tolerant_parsing_msgId_object_data_and_a_single_object():
    body = json.dumps({"tag": 206, "msgId": "m-2", "data": {"p_id": "1", "s_id": "2", "aftersale_id": "3",
                                                            "shop_id": "4463798"}}).encode()
    [message] = verify_push(CREDS, "POST", signed(body), {}, body).messages
    assert (message.kind, message.message_id, message.aftersale_id, message.sub_order_ids) == (
        REFUND, "m-2", "3", ("2",))


def test_a_message_without_id_gets_a_stable_content_id():
    body = json.dumps([{"tag": "101", "data": json.dumps({"p_id": 5})}]).encode()
    first = verify_push(CREDS, "POST", signed(body), {}, body).messages[0].message_id
    assert first == verify_push(CREDS, "POST", signed(body), {}, body).messages[0].message_id
    assert first.startswith("101:")


def test_garbage_body_with_a_valid_signature_is_a_400():
    body = b"not json"
    with pytest.raises(PushRejected) as rejected:
        verify_push(CREDS, "POST", signed(body), {}, body)
    assert rejected.value.status == 400


def test_pushes_from_the_fake_platform_reach_a_receiver_over_http():
    with FakeDouyinShop() as fake, PushReceiver(get_connector("douyin_shop"), CREDS) as rx:
        seed(fake)
        fake.add_refund(SeedRefund("7100000000000000001", ORDER_ID, "6920000000000000002", 3980, 2,
                                   updated_at=T0 + 3600))
        assert fake.push_test(rx.url).status == 200
        paid = fake.push_paid(rx.url, ORDER_ID)
        refund = fake.push_refund_success(rx.url, "7100000000000000001")
        forged = fake.push(rx.url, [("101", {"p_id": 1})], sign="f" * 32)
    assert (paid.status, paid.reply) == (200, b'{"code":0,"msg":"success"}')
    assert refund.status == 200 and forged.status == 401
    assert [m.kind for m in rx.messages] == [TEST, ORDER_PAID, REFUND]
    assert rx.messages[2].aftersale_id == "7100000000000000001"


# -- request signing and the client over HTTP ----------------------------------------------------

def test_request_sign_matches_the_platforms_formula_independently_written():
    params = json.dumps({"shop_order_id": ORDER_ID, "b": [{"z": 1, "a": 2}]}, separators=(",", ":"))
    for method in ("md5", "hmac-sha256"):
        ours = request_sign(CREDS.app_key, CREDS.app_secret, "order.orderDetail", "1779249600",
                            json.dumps(json.loads(params), sort_keys=True, separators=(",", ":")), method)
        assert ours == platform_sign(CREDS.app_key, CREDS.app_secret, "order.orderDetail", "1779249600",
                                     json.loads(params), method)


def test_a_known_md5_request_signature():
    # app_secret + "app_key..method..param_json..timestamp..v2" + app_secret, MD5 (SignUtil.sign)
    pattern = ("s3cretapp_key123methodorder.orderDetailparam_json{\"shop_order_id\":\"1\"}"
               "timestamp1600000000v2s3cret")
    assert request_sign("123", "s3cret", "order.orderDetail", "1600000000", '{"shop_order_id":"1"}', "md5") \
        == hashlib.md5(pattern.encode()).hexdigest()


@pytest.mark.parametrize("sign_method", ["md5", "hmac-sha256"])
def test_order_detail_over_http_with_both_sign_methods(sign_method):
    with FakeDouyinShop() as fake:
        seed(fake)
        creds = Credentials(**{**CREDS.__dict__, "sign_method": sign_method})
        client = DouyinShopClient(creds, base_url=fake.url)
        detail = client.order_detail(ORDER_ID)
        client.order_detail(ORDER_ID)
    assert detail["shop_order_detail"]["order_id"] == ORDER_ID
    assert fake.calls_to("/token/create") == 1  # the token is reused


def test_wrong_secret_is_a_permanent_refusal():
    with FakeDouyinShop() as fake:
        client = DouyinShopClient(Credentials(**{**CREDS.__dict__, "app_secret": "wrong"}), base_url=fake.url)
        with pytest.raises(PlatformRefused) as refused:
            client.order_detail(ORDER_ID)
    assert refused.value.detail == "isv.signature-invalid"


def test_expired_token_is_refreshed_once_and_the_call_retried():
    saved: list[AccessToken] = []
    with FakeDouyinShop() as fake:
        seed(fake)
        client = DouyinShopClient(CREDS, base_url=fake.url, on_token=saved.append)
        client.order_detail(ORDER_ID)
        fake.expire_tokens()
        assert client.order_detail(ORDER_ID)["shop_order_detail"]["order_id"] == ORDER_ID
    assert [fake.calls_to("/token/create"), fake.calls_to("/token/refresh")] == [1, 1]
    assert len(saved) == 2 and saved[0].value != saved[1].value


def test_a_token_given_by_the_caller_is_used_and_replaced_when_unknown():
    with FakeDouyinShop() as fake:
        seed(fake)
        stale = AccessToken("not-issued-by-the-platform", expires_at=datetime.now().timestamp() + 3600)
        client = DouyinShopClient(CREDS, base_url=fake.url, token=stale)
        client.order_detail(ORDER_ID)
    assert client.token is not None and client.token.value != stale.value
    assert fake.calls_to("/order/orderDetail") == 2


def test_rate_limit_and_server_errors_are_classified():
    with FakeDouyinShop() as fake:
        seed(fake)
        client = DouyinShopClient(CREDS, base_url=fake.url)
        limited = injected_failures_are_classified(fake, lambda: client.order_detail(ORDER_ID))
    assert limited.code == "60000" and limited.retry_after > 0


def test_a_slow_platform_times_out_as_unavailable():
    with FakeDouyinShop() as fake:
        seed(fake)
        client = DouyinShopClient(CREDS, base_url=fake.url, timeout=0.3)
        client.order_detail(ORDER_ID)
        fake.delay_next(1.0)
        with pytest.raises(PlatformUnavailable):
            client.order_detail(ORDER_ID)


def test_unknown_order_is_refused_and_a_closed_port_is_unavailable():
    with FakeDouyinShop() as fake:
        client = DouyinShopClient(CREDS, base_url=fake.url)
        with pytest.raises(PlatformRefused):
            client.order_detail("6920000000000009999")
        url = fake.url
    with pytest.raises(PlatformUnavailable):
        DouyinShopClient(CREDS, base_url=url, timeout=0.5).order_detail(ORDER_ID)


def test_listing_pages_through_orders_updated_in_the_window():
    window = Window(datetime.fromtimestamp(T0, tz=timezone.utc), datetime.fromtimestamp(T0 + 3600, tz=timezone.utc))
    with FakeDouyinShop() as fake:
        for n in range(5):
            fake.add_order(SeedOrder(f"69200000000000001{n:02d}", [SeedItem(f"69200000000000002{n:02d}", "1", "x",
                                                                             1, 100)], T0, T0 + 10 * n))
        fake.add_order(SeedOrder("6920000000000000999", [SeedItem("6920000000000000998", "1", "x", 1, 1)],
                                 T0, T0 + 7200))  # outside the window
        client = DouyinShopClient(CREDS, base_url=fake.url)
        client.page_size = 2
        ids, cursor, pages = [], None, 0
        while True:
            page = client.list_orders(window, cursor)
            ids += page.ids
            pages += 1
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert pages == 3 and ids == [f"69200000000000001{n:02d}" for n in range(5)]


def test_aftersale_listing_is_the_refund_backstop():
    window = Window(datetime.fromtimestamp(T0, tz=timezone.utc), datetime.fromtimestamp(T0 + 7200, tz=timezone.utc))
    with FakeDouyinShop() as fake:
        seed(fake)
        fake.add_refund(SeedRefund("7100000000000000001", ORDER_ID, "6920000000000000002", 3980, updated_at=T0 + 60))
        fake.add_refund(SeedRefund("7100000000000000002", ORDER_ID, "6920000000000000003", 100, updated_at=T0 + 99999))
        page = DouyinShopClient(CREDS, base_url=fake.url).list_aftersales(window)
    assert page.ids == ["7100000000000000001"] and page.next_cursor is None


# -- mapping -------------------------------------------------------------------------------------

def test_one_paid_event_per_sub_order_with_host_or_marker():
    with FakeDouyinShop() as fake:
        seed(fake)
        detail = DouyinShopClient(CREDS, base_url=fake.url).order_detail(ORDER_ID)
    by_sub = valid_by_order_id(paid_events(detail, CTX))
    first, second = by_sub["6920000000000000002"], by_sub["6920000000000000003"]
    assert first["event_id"] == "dy-4463798-6920000000000000002-paid"
    assert (first["amount_fen"], first["quantity"], first["host"], first["host_name"]) == (3980, 2,
                                                                                         "99000000000000001", "苗家阿妹")
    assert first["parent_order_id"] == ORDER_ID and first["enterprise"] == "4463798"
    assert first["live_id"] == "7300000000000000001"
    assert first["occurred_at"] == "2026-05-20T12:00:00+08:00"
    assert second["host"] == "unattributed" and "达人未登记" in second["attribution_note"]
    assert first["buyer"] == second["buyer"] and "buyer-0001" not in first["buyer"]
    assert (first["county"], first["campaign"]) == ("433127", "xiangxi-peach-2026")


def test_refund_event_refers_to_the_paid_sub_order_and_is_capped():
    with FakeDouyinShop() as fake:
        seed(fake)
        fake.add_refund(SeedRefund("7100000000000000001", ORDER_ID, "6920000000000000002", 4500, 2,
                                   updated_at=T0 + 3600))  # refund incl. postage exceeds the 3980 paid
        client = DouyinShopClient(CREDS, base_url=fake.url)
        aftersale, order = client.refund_detail("7100000000000000001"), client.order_detail(ORDER_ID)
    [event] = refund_events(aftersale, CTX, order)
    assert_valid([event])
    assert event["event_id"] == "dy-4463798-7100000000000000001-refund"
    assert (event["order_id"], event["amount_fen"], event["quantity"], event["host"]) == (
        "6920000000000000002", 3980, 2, "99000000000000001")
    without_order = refund_events(aftersale, CTX)[0]
    assert without_order["event_id"] == event["event_id"] and without_order["host"] == "unattributed"
    assert "退款未附订单详情" in without_order["attribution_note"]


def test_unfinished_and_exchange_aftersales_are_no_refund():
    with FakeDouyinShop() as fake:
        seed(fake)
        fake.add_refund(SeedRefund("7100000000000000003", ORDER_ID, "6920000000000000002", 3980, done=False,
                                   updated_at=T0))
        detail = DouyinShopClient(CREDS, base_url=fake.url).refund_detail("7100000000000000003")
    assert refund_events(detail, CTX) == []
    exchange = json.loads(json.dumps(detail))
    exchange["process_info"]["after_sale_info"].update(refund_status=3, after_sale_type=3)
    assert refund_events(exchange, CTX) == []


def test_another_shops_order_is_not_mapped():
    with FakeDouyinShop(shop_id="1111111") as fake:
        seed(fake)
        detail = DouyinShopClient(Credentials(**{**CREDS.__dict__, "shop_id": "1111111"}),
                                  base_url=fake.url).order_detail(ORDER_ID)
    with pytest.raises(ValueError, match="不是本连接的店铺"):
        paid_events(detail, CTX)


def test_a_lost_push_is_found_by_the_backstop_with_the_same_event_ids():
    """The push path and the pull path must produce the very same events."""
    window = Window(datetime.fromtimestamp(T0 - 60, tz=timezone.utc),
                    datetime.fromtimestamp(T0, tz=timezone.utc) + timedelta(hours=1))
    with FakeDouyinShop() as fake, PushReceiver(get_connector("douyin_shop"), CREDS) as rx:
        seed(fake)
        fake.push_paid(rx.url, ORDER_ID, lose=True)
        client = DouyinShopClient(CREDS, base_url=fake.url)
        assert rx.messages == [] and len(fake.lost_pushes) == 1
        found = client.list_orders(window)
        pulled = [e for oid in found.ids for e in paid_events(client.order_detail(oid), CTX)]
        fake.deliver(rx.url, fake.lost_pushes[0].body, fake.lost_pushes[0].headers)  # the platform retries
        pushed = [e for m in rx.messages for e in paid_events(client.order_detail(m.order_id), CTX)]
    assert found.ids == [ORDER_ID]
    assert sorted(e["event_id"] for e in pulled) == sorted(e["event_id"] for e in pushed)
    assert pulled == pushed


def test_an_id_that_lost_its_digits_as_a_float_is_a_400():
    body = b'[{"tag":"101","msg_id":"m","data":{"p_id":6.920000000000000001e18}}]'
    with pytest.raises(PushRejected) as rejected:
        verify_push(CREDS, "POST", signed(body), {}, body)
    assert rejected.value.status == 400


def test_an_unsigned_url_check_message_is_answered_but_yields_only_a_test():
    body = b'[{"tag":"0","msg_id":"0","data":"{}"}]'
    result = verify_push(CREDS, "POST", {"app-id": CREDS.app_key}, {}, body)
    assert [m.kind for m in result.messages] == [TEST] and result.reply.status == 200
    mixed = b'[{"tag":"0","msg_id":"0","data":"{}"},{"tag":"101","msg_id":"1","data":"{}"}]'
    with pytest.raises(PushRejected):
        verify_push(CREDS, "POST", {"app-id": CREDS.app_key}, {}, mixed)
