"""有赞: push signatures, the 有赞云 client against the fake over HTTP, yuan->fen mapping."""
from __future__ import annotations

import hashlib
import json

import pytest

from connectors import MappingError, get_connector
from connectors._events import split_fen, yuan_to_fen
from connectors.base import ORDER_PAID, REFUND, TEST, Credentials, PlatformRefused, PushRejected
from connectors.youzan import YouzanClient, paid_events, refund_events, refund_ids, verify_push
from tests.fakes.platforms.base import SeedItem, SeedOrder, SeedRefund
from tests.fakes.platforms.receiver import PushReceiver
from tests.fakes.platforms.youzan import FakeYouzan
from tests.unit.connectors.helpers import (
    T0,
    assert_valid,
    context_for,
    first_two_pages,
    injected_failures_are_classified,
    valid_by_order_id,
    window,
)

TID = "E20260520120000093806201"
CTX = context_for("46020001")


def seed(fake: FakeYouzan) -> SeedOrder:
    return fake.add_order(SeedOrder(TID, [
        SeedItem("3081712345678901", "36610001", "湘西猕猴桃 12枚", 1, 1230),
        SeedItem("3081712345678902", "36610002", "凤凰姜糖 3盒", 3, 2999),
    ], paid_at=T0, updated_at=T0 + 120, buyer_id="lDWyZBas807636140352864256"))


# -- money -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,fen", [("12.30", 1230), ("0.1", 10), ("29.99", 2999), ("100", 10000), ("0.00", 0)])
def test_yuan_strings_become_exact_fen(text, fen):
    assert yuan_to_fen(text) == fen


@pytest.mark.parametrize("bad", ["12.345", "abc", 12.3])
def test_sub_fen_text_and_floats_are_refused(bad):
    with pytest.raises(MappingError):
        yuan_to_fen(bad)


def test_split_is_exact_and_deterministic():
    assert split_fen(1000, [1230, 2999]) == [291, 709]
    assert sum(split_fen(1001, [1, 1, 1])) == 1001 and split_fen(1001, [1, 1, 1]) == [334, 334, 333]
    assert split_fen(5, [0, 0]) == [3, 2]


# -- push ------------------------------------------------------------------------------------------

def test_event_sign_is_md5_of_client_id_body_secret():
    creds = Credentials(client_id="cid", client_secret="csec")
    body = b'{"client_id":"cid","id":"E1","type":"trade_TradePaid","msg":"%7B%22tid%22%3A%22E1%22%7D","kdt_id":1}'
    sign = hashlib.md5(b"cid" + body + b"csec").hexdigest()
    [message] = verify_push(creds, "POST", {"Event-Sign": sign}, {}, body).messages
    assert (message.kind, message.order_id, message.shop_id) == (ORDER_PAID, "E1", "1")
    with pytest.raises(PushRejected):
        verify_push(creds, "POST", {"Event-Sign": sign}, {}, body.replace(b"E1", b"E2"))


def test_pushes_from_the_fake_with_header_and_legacy_body_signatures():
    with FakeYouzan() as fake, PushReceiver(get_connector("youzan"), fake.credentials) as rx:
        seed(fake)
        fake.add_refund(SeedRefund("201905011234", TID, "3081712345678901", 1230, updated_at=T0 + 600))
        test = fake.push_test(rx.url)
        paid = fake.push_paid(rx.url, TID)
        legacy = fake.push_paid(rx.url, TID, event_sign=False)
        refund = fake.push_refund(rx.url, "201905011234")
        forged = fake.push_paid(rx.url, TID, secret="not-the-secret")
        forged_legacy = fake.push_paid(rx.url, TID, secret="not-the-secret", event_sign=False)
    assert (test.status, test.reply) == (200, b'{"code":0,"msg":"success"}')
    assert (paid.status, legacy.status, refund.status) == (200, 200, 200)
    assert (forged.status, forged_legacy.status) == (401, 401)
    kinds = [m.kind for m in rx.messages]
    assert kinds == [TEST, ORDER_PAID, ORDER_PAID, REFUND]
    paid_message, refund_message = rx.messages[1], rx.messages[3]
    assert paid_message.order_id == TID and paid_message.sub_order_ids == ("3081712345678901", "3081712345678902")
    assert (refund_message.aftersale_id, refund_message.order_id) == ("201905011234", TID)


def test_another_clients_push_is_rejected():
    creds = Credentials(client_id="cid", client_secret="csec")
    body = json.dumps({"client_id": "other", "type": "trade_TradePaid", "id": "E1", "msg": "{}"}).encode()
    with pytest.raises(PushRejected) as rejected:
        verify_push(creds, "POST", {"Event-Sign": hashlib.md5(b"cid" + body + b"csec").hexdigest()}, {}, body)
    assert rejected.value.status == 403


# -- client ----------------------------------------------------------------------------------------

def test_silent_token_then_refresh_token_after_expiry():
    with FakeYouzan() as fake:
        seed(fake)
        client = YouzanClient(fake.credentials, base_url=fake.url)
        assert client.order_detail(TID)["full_order_info"]["order_info"]["tid"] == TID
        fake.expire_tokens()
        assert client.order_detail(TID)
        tokens = [r for r in fake.requests if r["path"] == "/auth/token"]
    assert len(tokens) == 2


def test_failures_and_refusals():
    with FakeYouzan() as fake:
        seed(fake)
        client = YouzanClient(fake.credentials, base_url=fake.url)
        limited = injected_failures_are_classified(fake, lambda: client.order_detail(TID))
        with pytest.raises(PlatformRefused, match="订单不存在"):
            client.order_detail("E404")
        with pytest.raises(PlatformRefused, match="tid"):
            client.refund_detail("201905011234")
        wrong = Credentials(**{**fake.credentials.__dict__, "client_secret": "wrong"})
        with pytest.raises(PlatformRefused):
            YouzanClient(wrong, base_url=fake.url).order_detail(TID)
    assert "频率" in str(limited)


def test_listing_pages_by_update_time():
    with FakeYouzan() as fake:
        for n in range(3):
            fake.add_order(SeedOrder(f"E2026052012000009380620{n}", [SeedItem(f"30817{n}", "1", "t", 1, 100)],
                                     T0, T0 + 60 * n))
        first, second = first_two_pages(YouzanClient(fake.credentials, base_url=fake.url), window(0, 3600))
    assert [len(first.ids), first.next_cursor] == [2, "2"]
    assert second.ids == ["E20260520120000093806202"] and second.next_cursor is None


# -- mapping -----------------------------------------------------------------------------------------

def test_paid_events_convert_yuan_and_carry_no_host():
    with FakeYouzan() as fake:
        seed(fake)
        trade = YouzanClient(fake.credentials, base_url=fake.url).order_detail(TID)
    events = valid_by_order_id(paid_events(trade, CTX))
    kiwi = events["3081712345678901"]
    assert kiwi["event_id"] == "yz-46020001-3081712345678901-paid"
    assert (kiwi["amount_fen"], events["3081712345678902"]["amount_fen"]) == (1230, 2999)
    assert kiwi["parent_order_id"] == TID and kiwi["occurred_at"] == "2026-05-20T12:00:00+08:00"
    assert kiwi["host"] == "unattributed" and "有赞" in kiwi["attribution_note"]
    assert kiwi["product"]["sku"] == "XX-36610001"


def test_a_refund_over_two_sub_orders_is_split_exactly():
    with FakeYouzan() as fake:
        seed(fake)
        fake.add_refund(SeedRefund("R1", TID, "3081712345678901,3081712345678902", 1000, updated_at=T0 + 600))
        fake.add_refund(SeedRefund("R2", TID, "3081712345678901", 500, done=False, updated_at=T0 + 600))
        client = YouzanClient(fake.credentials, base_url=fake.url)
        trade = client.refund_detail("R1", order_id=TID)
    events = refund_events(trade, CTX)
    assert_valid(events)
    assert refund_ids(trade) == ["R1", "R2"]
    assert [(e["event_id"], e["order_id"], e["amount_fen"]) for e in events] == [
        ("yz-46020001-R1:3081712345678901-refund", "3081712345678901", 291),
        ("yz-46020001-R1:3081712345678902-refund", "3081712345678902", 709)]
    assert sum(e["amount_fen"] for e in events) == 1000


def test_full_refund_of_a_sub_order_counts_its_units():
    with FakeYouzan() as fake:
        seed(fake)
        fake.add_refund(SeedRefund("R3", TID, "3081712345678902", 2999, updated_at=T0 + 600))
        trade = YouzanClient(fake.credentials, base_url=fake.url).order_detail(TID)
    [event] = refund_events(trade, CTX)
    assert (event["event_id"], event["quantity"], event["amount_fen"]) == ("yz-46020001-R3-refund", 3, 2999)


def test_an_unsigned_check_message_is_answered_but_unsigned_business_is_not():
    creds = Credentials(client_id="cid", client_secret="csec")
    result = verify_push(creds, "POST", {}, {}, b'{"test":true,"client_id":"cid","type":"","msg":""}')
    assert [m.kind for m in result.messages] == [TEST] and result.reply.body == b'{"code":0,"msg":"success"}'
    with pytest.raises(PushRejected):
        verify_push(creds, "POST", {}, {}, b'{"test":false,"type":"trade_TradePaid","id":"E1","msg":"{}"}')
