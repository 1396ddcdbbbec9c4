"""What every connector shares: the registry, event ids, buyer hashing, time, HTTP errors,
the refresh-once rule, and the v1 contract for every platform's events."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from werkzeug.wrappers import Response

from connectors import CONNECTORS, UNATTRIBUTED_HOST, Credentials, get_connector
from connectors._events import (
    SaleLine,
    buyer_hash,
    capped,
    from_cst_text,
    from_epoch,
    inferred_refund_quantity,
    make_event_id,
    rfc3339,
)
from connectors._http import Transport
from connectors.base import PlatformRateLimited, PlatformUnavailable, PushRejected, TokenExpired, Window
from connectors.douyin_shop import DouyinShopClient
from tests.fakes.platforms.base import LoopbackServer, SeedItem, SeedOrder, SeedRefund
from tests.fakes.platforms.douyin_shop import FakeDouyinShop
from tests.fakes.platforms.kuaishou_shop import FakeKuaishouShop
from tests.fakes.platforms.wechat_shop import FakeWechatShop
from tests.fakes.platforms.youzan import FakeYouzan
from tests.unit.connectors.helpers import T0, assert_valid, context_for

EVENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]*$")


def test_registry_names_platforms_and_refuses_unknown_names():
    assert {name: c.platform for name, c in CONNECTORS.items()} == {
        "douyin_shop": "douyin", "kuaishou_shop": "kuaishou", "wechat_shop": "wechat_channels", "youzan": "youzan"}
    with pytest.raises(KeyError, match="未知的平台连接器"):
        get_connector("taobao")


def test_credentials_never_print_secrets():
    text = repr(Credentials(app_key="ak", app_secret="s3cret", message_key="bWVzc2FnZQ==", refresh_token="rt"))
    assert "ak" in text and "s3cret" not in text and "bWVzc2FnZQ" not in text and "rt'" not in text


def test_event_ids_are_sanitised_and_bounded():
    assert make_event_id("wx", "wx4f4bc4dec97d0001", "3727324701692140032-3095702974", "paid") \
        == "wx-wx4f4bc4dec97d0001-3727324701692140032-3095702974-paid"
    odd = make_event_id("ks", "open+id=/x", "1 2", "refund")
    assert EVENT_ID.match(odd) and odd == "ks-open.id./x-1.2-refund"
    long_id = make_event_id("dy", "s" * 200, "6920000000000000002", "paid")
    assert len(long_id) <= 128 and EVENT_ID.match(long_id)
    assert long_id == make_event_id("dy", "s" * 200, "6920000000000000002", "paid")


def test_buyer_hash_is_stable_salted_and_opaque():
    first = buyer_hash("douyin", "enc-buyer-1")
    assert first == buyer_hash("douyin", "enc-buyer-1") and "enc-buyer-1" not in first
    assert first != buyer_hash("kuaishou", "enc-buyer-1") != buyer_hash("douyin", "enc-buyer-1", "salt")
    assert buyer_hash("douyin", "") is None


def test_times_are_rfc3339_in_beijing_time():
    assert rfc3339(from_epoch(T0)) == "2026-05-20T12:00:00+08:00"
    assert rfc3339(from_epoch(T0 * 1000, millis=True)) == "2026-05-20T12:00:00+08:00"
    assert rfc3339(from_cst_text("2026-05-20 12:00:00")) == "2026-05-20T12:00:00+08:00"
    assert from_epoch(0) is None and from_cst_text("") is None


def test_refund_caps_and_inferred_quantities():
    line = SaleLine("s", "p", "sku", "n", "c", quantity=3, paid_fen=900)
    assert capped(1200, line) == 900 and capped(500, line) == 500 and capped(500, None) == 500
    assert inferred_refund_quantity(900, line) == 3 and inferred_refund_quantity(899, line) == 0


def test_window_needs_time_zones_and_order():
    with pytest.raises(ValueError):
        Window(datetime(2026, 5, 20), datetime(2026, 5, 21))
    with pytest.raises(ValueError):
        Window(datetime(2026, 5, 21, tzinfo=timezone.utc), datetime(2026, 5, 20, tzinfo=timezone.utc))


@pytest.mark.parametrize("name", sorted(CONNECTORS))
def test_pushes_must_be_posts(name):
    with pytest.raises(PushRejected) as rejected:
        get_connector(name).verify_push(Credentials(), "PUT", {}, {}, b"")
    assert rejected.value.status == 405


def test_http_429_with_retry_after_and_non_json_answers():
    answers = iter([Response("slow down", status=429, headers={"Retry-After": "7"}),
                    Response("<html>maintenance</html>", status=200, mimetype="text/html")])
    server = LoopbackServer()
    server.start(lambda environ, start_response: next(answers)(environ, start_response))
    try:
        transport = Transport("test", server.url)
        with pytest.raises(PlatformRateLimited) as limited:
            transport.send_json("GET", "/x")
        with pytest.raises(PlatformUnavailable):
            transport.send_json("GET", "/x")
    finally:
        server.stop()
    assert limited.value.retry_after == 7.0


def test_a_token_is_refreshed_only_once_per_call():
    with FakeDouyinShop() as fake:
        fake.add_order(SeedOrder("1", [SeedItem("2", "3", "t", 1, 1)], T0, T0))
        client = DouyinShopClient(fake.credentials, base_url=fake.url)
        fake.refuse_all_tokens = True
        with pytest.raises(TokenExpired):
            client.order_detail("1")
    assert fake.calls_to("/order/orderDetail") == 2
    assert fake.calls_to("/token/create") + fake.calls_to("/token/refresh") == 2


ORDER_ID = "6920000000000000001"


@pytest.mark.parametrize("fake_class,name,shop,sub", [
    (FakeDouyinShop, "douyin_shop", "4463798", "6920000000000000002"),
    (FakeKuaishouShop, "kuaishou_shop", "2000000001", ORDER_ID),           # one item: the order is the line
    (FakeWechatShop, "wechat_shop", "wx4f4bc4dec97d0001", f"{ORDER_ID}-1700000001"),  # order-sku
    (FakeYouzan, "youzan", "46020001", "6920000000000000002")])
def test_every_platforms_events_meet_the_contract_and_are_deterministic(fake_class, name, shop, sub):
    connector = get_connector(name)
    with fake_class() as fake:
        fake.add_order(SeedOrder(ORDER_ID, [SeedItem(sub, "1700000001", "湘西土鸡蛋 30枚", 2, 5980)], T0, T0 + 5))
        fake.add_refund(SeedRefund("7100000000000000001", ORDER_ID, sub, 5980, 2, updated_at=T0 + 60))
        client = connector.client(fake.credentials, base_url=fake.url)
        order = client.order_detail(ORDER_ID)
        refund = client.refund_detail("7100000000000000001", order_id=ORDER_ID)
    context = context_for(shop)
    paid, refunded = connector.paid_events(order, context), connector.refund_events(refund, context, order)
    assert_valid(paid + refunded)
    assert [e["type"] for e in paid + refunded] == ["order.paid", "order.refunded"]
    assert paid[0]["order_id"] == refunded[0]["order_id"] == sub
    assert paid[0]["amount_fen"] == refunded[0]["amount_fen"] == 5980
    assert all(EVENT_ID.match(e["event_id"]) and len(e["event_id"]) <= 128 for e in paid + refunded)
    assert connector.paid_events(order, context) == paid  # same input, same events (ids included)
    assert connector.refund_events(refund, context, order) == refunded
    assert {e["host"] for e in paid} == {UNATTRIBUTED_HOST}
