"""Boards by period (day/week/month/year/campaign, Asia/Shanghai edges) and by dimension, computed
on demand from sales_daily; past days exactly as published. Embedded and real Kafka + ClickHouse."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
import requests

from configstore import registry, snapshots
from configstore.participants_import import import_participants
from scheduler.ranking_job import publish_all
from services.boards import public_entries
from tests.support import order_event

pytestmark = pytest.mark.e2e
SHANGHAI = ZoneInfo("Asia/Shanghai")
SLUG = "xiangban-2026"


def at(m, d, hh, mm=0, ss=0):
    return datetime(2026, m, d, hh, mm, ss, tzinfo=SHANGHAI)


def ev(host, fen, when, **kw):
    return order_event(campaign=SLUG, host=host, enterprise="E1", amount_fen=fen, occurred_at=when, **kw)


H2_ORDER = ev("H2", 2_000, at(6, 8, 0, 0, 0), county="433126", platform="kuaishou", category="tea")  # Mon, W24
EVENTS = [
    ev("H1", 1_000, at(6, 7, 23, 59, 59), county="433101", platform="douyin", category="tea"),    # Sun, W23
    H2_ORDER,
    ev("H1", 4_000, at(6, 30, 23, 59, 59), county="433101", platform="douyin", category="citrus"),  # June
    ev("H3", 3_000, at(7, 1, 0, 0, 1), county="433130", platform="douyin", category="lily"),      # July
    # a partial refund of H2's June order, on July 1: it lands on the day it happened
    ev("H2", 500, at(7, 1, 9), county="433126", platform="kuaishou", category="tea", event_type="order.refunded",
       quantity=0, order_id=H2_ORDER["order_id"]),
]
# (period, key) -> expected host board [(rank, id, net)]
EXPECTED = [
    ("day", "2026-06-07", [(1, "H1", 1_000)]),
    ("day", "2026-06-08", [(1, "H2", 2_000)]),
    ("week", "2026-W23", [(1, "H1", 1_000)]),
    ("week", "2026-W24", [(1, "H2", 2_000)]),
    ("week", "2026-W27", [(1, "H1", 4_000), (2, "H3", 3_000)]),   # 06-29 .. 07-05 spans the month edge; H2 -500
    ("month", "2026-06", [(1, "H1", 5_000), (2, "H2", 2_000)]),
    ("month", "2026-07", [(1, "H3", 3_000)]),                     # H2: -500 in July, not ranked
    ("year", "2026", [(1, "H1", 5_000), (2, "H3", 3_000), (3, "H2", 1_500)]),
    ("campaign", SLUG, [(1, "H1", 5_000), (2, "H3", 3_000), (3, "H2", 1_500)]),
]


@pytest.fixture(params=["scale", "embedded"])
def periods_stack(request, tmp_path):
    from tests.e2e.conftest import build_stack

    stack = build_stack(request.param, tmp_path, request)
    registry.upsert_campaign(stack.sessions, slug=SLUG, name="千村千红·湘西香伴", first_day=date(2026, 6, 1),
                             last_day=date(2026, 7, 31), status="active")
    rows = [{"kind": "host", "id": f"H{n}", "name": f"主播{n}", "county": "433101"} for n in (1, 2, 3)]
    rows.append({"kind": "enterprise", "id": "E1", "name": "企业1", "county": "433101"})
    assert import_participants(stack.sessions, rows).bad_rows == 0
    assert {r.status_code for r in stack.sender.post_batches(EVENTS)} == {202}
    stack.drain(len(EVENTS))
    yield stack
    stack.close()


def get(stack, path, **params):
    return requests.get(f"{stack.base_url}/v1/campaigns/{SLUG}/{path}", params=params, timeout=30)


def test_boards_by_period_dimension_and_history(periods_stack):
    stack = periods_stack
    for period, key, expected in EXPECTED:
        body = get(stack, "boards", period=period, key=key).json()
        assert [(e["rank"], e["id"], e["net_gmv_fen"]) for e in body["hosts"]] == expected, (period, key)
        assert body["period_key"] == key
    june = get(stack, "boards", period="month", key="2026-06").json()
    assert (june["first_day"], june["last_day"], june["ranked_hosts"]) == ("2026-06-01", "2026-06-30", 2)
    assert get(stack, "boards", period="week", key="2026-W54").json()["error"]["message"] == \
        "周榜的 key 格式应为 2026-W23"
    assert get(stack, "boards", period="quarter").status_code == 400

    county = get(stack, "breakdown", dimension="county", period="campaign").json()
    assert [(r["value"], r["name"], r["net_gmv_fen"]) for r in county["rows"]] == [
        ("433101", "吉首市", 5_000), ("433130", "龙山县", 3_000), ("433126", "古丈县", 1_500)]
    platform = get(stack, "breakdown", dimension="platform", period="month", key="2026-06").json()
    assert [(r["name"], r["net_gmv_fen"], r["share"]) for r in platform["rows"]] == [
        ("抖音", 5_000, 0.7143), ("快手", 2_000, 0.2857)]
    category = get(stack, "breakdown", dimension="category", period="week", key="2026-W27").json()
    # week 27 holds H2's refund of a June order: tea is below zero there, and still listed
    assert [(r["value"], r["net_gmv_fen"]) for r in category["rows"]] == [("citrus", 4_000), ("lily", 3_000),
                                                                         ("tea", -500)]
    assert category["net_gmv_fen"] == 6_500 == sum(r["net_gmv_fen"] for r in category["rows"])
    assert get(stack, "breakdown", dimension="sku").json()["error"]["code"] == "invalid_dimension"

    # a past day as it was published by the ranking job that ran on that day, unchanged since
    publish_all(stack.sessions, stack.store, now=at(6, 8, 12).astimezone(timezone.utc))
    publish_all(stack.sessions, stack.store, now=at(7, 1, 12).astimezone(timezone.utc))
    published = snapshots.latest(stack.sessions, SLUG, "hosts", "day", "2026-06-08")
    history = get(stack, "boards/history", day="2026-06-08").json()
    # exactly what the board showed that day: its top ten, public fields only
    assert history["hosts"] == public_entries(published.entries) and [e["id"] for e in history["hosts"]] == ["H2"]
    assert history["hosts_published_at"] == published.published_at.isoformat()
    assert get(stack, "boards/history", day="2026-06-09").status_code == 404
    assert get(stack, "boards/history", day="6月8日").json()["error"]["code"] == "invalid_day"
    # the existing snapshot-backed periods are unchanged
    assert get(stack, "boards", period="campaign").json()["period_key"] == SLUG
    assert get(stack, "boards", period="today").json()["period"] == "today"
