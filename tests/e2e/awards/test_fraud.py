"""Issue 6 item 7 on the real data path: signed webhooks -> event log -> writer -> sales_daily / raw
events -> analytics.fraud -> domain.fraud rules -> API and console -> disqualify -> boards and awards."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from configstore import registry, snapshots
from configstore.participants_import import import_participants
from scheduler.ranking_job import publish_all
from tests.e2e.organizer.conftest import csrf_token
from tests.support import order_event

pytestmark = pytest.mark.e2e
SHANGHAI = ZoneInfo("Asia/Shanghai")
SLUG = "fraud-2026"


def at(d, hh, mm=0):
    return datetime(2026, 6, d, hh, mm, tzinfo=SHANGHAI)


def paid(host, fen, when, **kw):
    return order_event(campaign=SLUG, host=host, enterprise="E1", amount_fen=fen, occurred_at=when, **kw)


def refund(host, fen, when, **kw):
    return paid(host, fen, when, event_type="order.refunded", quantity=0, **kw)


def events() -> list[dict]:
    out = []
    # H1: 6 paid orders of 100 yuan, 4 refunded -> 66.67 % over 6 orders: flagged
    out += [paid("H1", 10_000, at(5, 9 + n), order_id=f"h1-{n}", buyer=f"u1-{n}") for n in range(6)]
    out += [refund("H1", 10_000, at(6, 10 + n), order_id=f"h1-{n}") for n in range(4)]
    # H2: 5 orders, 3 refunded = exactly 60 %: not above the threshold
    out += [paid("H2", 10_000, at(5, 9 + n), order_id=f"h2-{n}") for n in range(5)]
    out += [refund("H2", 10_000, at(6, 10 + n), order_id=f"h2-{n}") for n in range(3)]
    # H3: 4 orders, all refunded: too few orders to judge
    out += [paid("H3", 10_000, at(5, 9 + n), order_id=f"h3-{n}") for n in range(4)]
    out += [refund("H3", 10_000, at(6, 10 + n), order_id=f"h3-{n}") for n in range(4)]
    # H4 (posted under its douyin account): buyer b-777 places 25 orders 14:00-14:59 Shanghai
    out += [paid("dy4", 1_000, at(10, 14, 2 * n), buyer="b-777") for n in range(25)]
    # H5: 19 orders from one buyer in one hour (below 20); 26 from another split over two hours
    out += [paid("H5", 1_000, at(10, 14, n), buyer="b-888") for n in range(19)]
    out += [paid("H5", 1_000, at(10, 15, 30 + n), buyer="b-999") for n in range(13)]
    out += [paid("H5", 1_000, at(10, 16, n), buyer="b-999") for n in range(13)]
    return out


def post_and_drain(stack, batch):
    before = stack.stored_events()
    assert {r.status_code for r in stack.sender.post_batches(batch, batch_size=50)} == {202}
    stack.drain(before + len(batch))


def board_ids(stack) -> list[str]:
    return [e["id"] for e in snapshots.latest(stack.sessions, SLUG, "hosts", "campaign", SLUG).entries]


def test_fraud_signals_listed_with_evidence_then_disqualified_off_boards_and_awards(org_both):
    org = org_both  # ClickHouse 18.16 (scale) and chDB (embedded): the SQL must run on both
    stack = org.stack
    registry.upsert_campaign(stack.sessions, slug=SLUG, name="湘西好物节", first_day=date(2026, 6, 1),
                             last_day=date(2026, 6, 30), status="active")
    rows = [{"kind": "host", "id": f"H{n}", "name": f"主播{n}", "county": "433101",
             **({"accounts": "douyin:dy4"} if n == 4 else {})} for n in range(1, 6)]
    rows.append({"kind": "enterprise", "id": "E1", "name": "企业1", "county": "433101"})
    assert import_participants(stack.sessions, rows).bad_rows == 0
    post_and_drain(stack, events())

    response = org.api("GET", f"/campaigns/{SLUG}/fraud-signals?board=hosts", role="viewer")
    assert response.status_code == 200, response.text
    result = response.json()
    flagged = [(p["participant_id"], p["disqualified"], [(s["kind"], s["description"], s["evidence"])
                                                          for s in p["signals"]]) for p in result["participants"]]
    assert flagged == [
        ("H1", False, [("high_refund_rate", "退款率66.7%，超过阈值60.0%（已付款订单6笔，退款4笔）",
                        {"paid_fen": 60_000, "refunded_fen": 40_000, "order_count": 6, "refund_count": 4,
                         "refund_rate": 0.6667, "threshold": "0.60"})]),
        ("H4", False, [("buyer_order_burst", "买家b-777在2026-06-10 14:00这一小时内下单25笔（阈值20笔）",
                        {"buyer_id": "b-777", "hour_start_utc": "2026-06-10T06:00:00+00:00", "order_count": 25,
                         "min_orders": 20})]),
    ]
    # the enterprise board: E1 sold all of it; 11 refunds over 85 orders is no signal, b-777's burst is
    enterprises = org.api("GET", f"/campaigns/{SLUG}/fraud-signals?board=enterprises", role="viewer").json()
    assert [(p["participant_id"], [s["kind"] for s in p["signals"]]) for p in enterprises["participants"]] == [
        ("E1", ["buyer_order_burst"])]
    assert org.api("GET", f"/campaigns/{SLUG}/fraud-signals?board=shops").status_code == 400
    assert org.api("GET", "/campaigns/nope/fraud-signals").status_code == 404
    assert org.api("GET", f"/campaigns/{SLUG}/fraud-signals", role=None).status_code == 401

    # both are on the board before anyone acts
    publish_all(stack.sessions, stack.store, now=datetime(2026, 6, 20, 4, tzinfo=timezone.utc))
    assert {"H1", "H4"} <= set(board_ids(stack))

    # H1 through the API, H4 through the console page (operator, CSRF)
    r = org.api("POST", f"/campaigns/{SLUG}/disqualifications", role="operator",
                json={"board": "hosts", "participant_id": "H1", "reason": "退款率66.7%，疑似刷单"})
    assert r.status_code in (200, 201, 204), r.text
    viewer = org.console("viewer-user")
    page = viewer.get(f"{org.base_url}/console/awards/fraud?campaign={SLUG}&board=hosts", timeout=30)
    assert page.status_code == 200
    assert "退款率66.7%，超过阈值60.0%（已付款订单6笔，退款4笔）" in page.text and "已取消资格：退款率66.7%，疑似刷单" in page.text
    assert "买家b-777在2026-06-10 14:00这一小时内下单25笔（阈值20笔）" in page.text
    assert "fraud/disqualify" not in page.text  # viewers see no form
    operator = org.console("operator-user")
    page = operator.get(f"{org.base_url}/console/awards/fraud?campaign={SLUG}&board=hosts", timeout=30)
    # the public reason is asked for, never prefilled with the evidence (a buyer id is personal data)
    [reason_input] = re.findall(r'<input[^>]*name="reason"[^>]*>', page.text)
    assert "value=" not in reason_input and "b-777" not in reason_input and "required" in reason_input
    assert 'placeholder="例如：经核查存在单一买家短时集中下单，取消评选资格"' in reason_input
    assert 'data-confirm="取消 ' in page.text
    form = {"campaign": SLUG, "board": "hosts", "participant_id": "H4", "reason": "同一买家一小时下单25笔"}
    assert operator.post(f"{org.base_url}/console/awards/fraud/disqualify", data=form, allow_redirects=False,
                         timeout=30).status_code == 400  # no CSRF token
    done = operator.post(f"{org.base_url}/console/awards/fraud/disqualify",
                         data={**form, "csrf_token": csrf_token(page.text)}, timeout=30)
    assert done.status_code == 200 and "已取消 H4 的资格" in done.text
    assert registry.disqualified(stack.sessions, SLUG, "hosts") == {"H1": "退款率66.7%，疑似刷单",
                                                                   "H4": "同一买家一小时下单25笔"}
    after = org.api("GET", f"/campaigns/{SLUG}/fraud-signals", role="viewer").json()["participants"]
    assert [(p["participant_id"], p["disqualified"], p["disqualified_reason"]) for p in after] == [
        ("H1", True, "退款率66.7%，疑似刷单"), ("H4", True, "同一买家一小时下单25笔")]

    # the next ranking run drops them from the board; the selection lists them as ineligible with the reason
    publish_all(stack.sessions, stack.store, now=datetime(2026, 6, 20, 5, tzinfo=timezone.utc))
    ids = board_ids(stack)
    assert "H1" not in ids and "H4" not in ids and {"H2", "H5"} <= set(ids)
    selection = org.api("POST", "/awards/compute", role="operator",
                        json={"kind": "top_influencers", "scope": "campaign", "scope_key": SLUG}).json()
    assert {"H1", "H4"}.isdisjoint(i["participant_id"] for i in selection["items"])
    reasons = {i["participant_id"]: i["reasons"] for i in selection["params"]["ineligible"]}
    assert reasons["H1"] == ["已取消资格：退款率66.7%，疑似刷单"] and reasons["H4"] == ["已取消资格：同一买家一小时下单25笔"]
