"""Issue 11: ingestion that holds against what the real world sends, on real Kafka + ClickHouse and on
the embedded default: long ids, sources that speak only for themselves, refunds that follow their
order, conflicting duplicates, the freeze on every public path, breakdowns that add up."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import orjson
import pytest
import requests

from analytics import ingestion
from configstore import registry
from configstore.participants_import import import_participants
from configstore.sources import create_source
from liveboard.sender import WebhookSender
from scheduler.ranking_job import publish_all
from services.boards import PUBLIC_FIELDS
from tests.e2e.test_ingestion import _read_dead_letters
from tests.support import SHANGHAI_OFFSET, order_event

pytestmark = pytest.mark.e2e
SLUG = "qcqh-integrity"


def _setup(stack, *, first_day_offset: int = -20, last_day_offset: int = 10) -> None:
    today = datetime.now(SHANGHAI_OFFSET).date()
    registry.upsert_campaign(stack.sessions, slug=SLUG, name="千村千红·完整性", first_day=today + timedelta(first_day_offset),
                             last_day=today + timedelta(last_day_offset))
    rows = [{"kind": "host", "id": f"H00{n}", "name": f"主播{n}", "county": "433101"} for n in range(1, 7)]
    rows += [{"kind": "enterprise", "id": e, "name": f"企业{e}", "county": "433126"} for e in ("E1", "E2", "E9")]
    assert import_participants(stack.sessions, rows).bad_rows == 0


def _board(stack, **params) -> dict:
    response = requests.get(f"{stack.base_url}/v1/campaigns/{SLUG}/boards", params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _nets(entries) -> dict[str, int]:
    return {e["id"]: e["net_gmv_fen"] for e in entries}


def _paid(**kw) -> dict:
    return order_event(campaign=SLUG, **{"host": "H001", "enterprise": "E1", "amount_fen": 1000, **kw})


def _refund(order: dict, **kw) -> dict:
    return {**order, "event_id": order["event_id"] + "-r", "type": "order.refunded", "quantity": 0, **kw}


def _query(stack, sql: str, params: dict | None = None) -> list[tuple]:
    return stack.store.query(sql, params)


def test_concurrent_batches_of_the_longest_ids_are_all_stored(stack):
    """8 concurrent signed batches of 500 events with 128-character ids (the contract's maximum): all
    stored; the writer's id look-ups stay under the store's query size limit."""
    _setup(stack)
    batches = [[_paid(event_id=(f"b{b}-{n:04d}-" + "x" * 128)[:128], order_id=f"L{b}-{n}", amount_fen=100 + n)
                for n in range(500)] for b in range(8)]
    results: list[int] = []

    def post(events):
        results.append(stack.sender.post({"events": events}).status_code)

    threads = [threading.Thread(target=post, args=(events,)) for events in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [202] * 8
    stack.drain(4000, timeout_s=180)
    writer = stack.writer()
    raw = stack.reconcile()["raw"][SLUG]
    assert raw["events"] == 4000
    assert raw["paid_fen"] == sum(e["amount_fen"] for batch in batches for e in batch)
    assert writer.stats.unexpected_errors == 0 and writer.stats.dead_lettered == 0


def test_sources_speak_only_for_themselves_and_refunds_follow_their_order(stack):
    _setup(stack)
    shop_b = create_source(stack.sessions, "shop-b", box=stack.runtime.secrets, platforms=["douyin"],
                           enterprises=["E9"])
    b = WebhookSender(stack.base_url, "shop-b", shop_b)
    a = stack.sender

    real = _paid(event_id="douyin-9000001-paid", order_id="9000001", host="H001", amount_fen=99_999_900)
    h003 = _paid(order_id="9000003", host="H003", amount_fen=5_000)
    assert a.post({"events": [real, h003]}).status_code == 202
    # B reuses A's event id for its own (1 fen) sale: its own event, A's sale untouched
    assert b.post(_paid(event_id="douyin-9000001-paid", order_id="9000002", host="H002", enterprise="E9",
                        amount_fen=1)).status_code == 202
    # B refunds an order that never existed, naming H003: held, never applied
    ghost = _refund(_paid(order_id="never-existed", host="H003", enterprise="E9"), amount_fen=100_000_000)
    assert b.post(ghost).status_code == 202
    # B refunds A's real order, posting an enterprise of its own: A's order is not B's to refund
    foreign = _refund(_paid(order_id="9000001", host="H001", enterprise="E9", event_id="b-foreign"),
                      amount_fen=50_000_000)
    assert b.post(foreign).status_code == 202
    # outside its scope, refused per item and not stored
    response = b.post({"events": [_paid(platform="kuaishou", enterprise="E9"), _paid(enterprise="E1")]})
    assert response.status_code == 400
    assert [r["errors"] for r in response.json()["error"]["details"]] == [
        [{"field": "platform", "code": "out_of_scope", "message": "此数据来源不能上报平台 kuaishou 的数据"}],
        [{"field": "enterprise", "code": "out_of_scope", "message": "此数据来源不能代企业 E1 上报"}]]

    # a refund posted before its order, naming another host: it waits, then counts against the order
    early = _refund(_paid(order_id="9000005", host="H002"), amount_fen=3_000)
    assert a.post(early).status_code == 202
    # more refunded than paid: capped at what is left of the order, and flagged
    small = _paid(order_id="9000006", host="H004", amount_fen=5_000)
    assert a.post({"events": [small, _refund(small, amount_fen=8_000)]}).status_code == 202
    stack.drain(4)  # real, h003, B's 1-fen sale, small (+ its capped refund counted below)
    assert a.post(_paid(order_id="9000005", host="H001", amount_fen=10_000, event_id="late-order")).status_code == 202
    stack.drain(6)

    publish_all(stack.sessions, stack.store)
    hosts = _nets(_board(stack, period="campaign")["hosts"])
    assert hosts == {"H001": 99_999_900 + 10_000 - 3_000, "H003": 5_000, "H002": 1}  # H004: 5,000 - 5,000
    (refunds,) = _query(stack, "SELECT count(), sum(amount_fen) FROM {db}.sales_events FINAL "
                               "WHERE type = 'order.refunded'")
    assert refunds == (2, 3_000 + 5_000)
    capped = _query(stack, "SELECT host, amount_fen, adjustment FROM {db}.sales_events FINAL "
                           "WHERE type = 'order.refunded' AND order_id = '9000006'")
    assert capped == [("H004", 5_000, "capped:8000")]
    applied = _query(stack, "SELECT host, enterprise FROM {db}.sales_events FINAL WHERE order_id = '9000005' "
                            "AND type = 'order.refunded'")
    assert applied == [("H001", "E1")]  # the order's host, not the H002 the refund named
    pending = _query(stack, "SELECT event_id FROM {db}.pending_refunds FINAL WHERE applied = 0")
    assert pending == [(ghost["event_id"],)]
    held = ingestion.held_refunds(stack.store)  # what organizers see (console 待处理事件, GET /v1/admin/ingestion)
    assert [(h["source"], h["order_id"], h["amount_fen"]) for h in held] == [("shop-b", "never-existed", 100_000_000)]
    both = _query(stack, "SELECT source, host, amount_fen FROM {db}.sales_events FINAL "
                         "WHERE event_id = 'douyin-9000001-paid' ORDER BY source")
    assert sorted(both) == sorted([("shop-b", "H002", 1), (stack.source, "H001", 99_999_900)])
    letters = _read_dead_letters(stack, expected=1)
    assert [letter["reason"] for letter in letters] == [
        "refund refused: order 9000001 was reported by another source this source may not speak for"]


def test_the_same_id_with_other_content_is_kept_aside_not_counted(stack):
    _setup(stack)
    first = _paid(event_id="dup-1", amount_fen=1_000)
    assert stack.sender.post(first).status_code == 202
    assert stack.sender.post({**first, "amount_fen": 999_999}).status_code == 202  # later, other content
    assert stack.sender.post({"events": [first, {**first, "host": "H002"}]}).status_code == 202  # same batch
    stack.drain(1)
    assert stack.reconcile()["raw"][SLUG]["paid_fen"] == 1_000
    kept = _query(stack, "SELECT stored_raw, incoming_raw FROM {db}.sales_conflicts FINAL ORDER BY incoming_raw")
    assert len(kept) == 2
    assert all(orjson.loads(stored)["amount_fen"] == 1_000 for stored, _ in kept)
    assert sorted((orjson.loads(i)["amount_fen"], orjson.loads(i)["host"]) for _, i in kept) == [
        (1_000, "H002"), (999_999, "H001")]
    assert stack.writer().stats.conflicts == 2 and stack.writer().stats.duplicates == 1
    shown = sorted(ingestion.conflicts(stack.store), key=lambda c: c["changed_fields"])
    assert [(c["event_id"], c["changed_fields"]) for c in shown] == [("dup-1", ["amount_fen"]), ("dup-1", ["host"])]
    assert ingestion.counts(stack.store) == {"held_refunds": 0, "conflicts": 2}


def test_the_freeze_holds_on_every_public_path(stack):
    _setup(stack)
    now = datetime.now(timezone.utc)
    before = [_paid(host=f"H00{n}", order_id=f"F{n}", amount_fen=10_000 * n) for n in range(1, 4)]
    assert stack.sender.post({"events": before}).status_code == 202
    stack.drain(3)
    publish_all(stack.sessions, stack.store, now)
    registry.transition_campaign(stack.sessions, SLUG, "frozen")
    publish_all(stack.sessions, stack.store, now)  # stores the public views as they stand
    # sales keep arriving and are stored
    after = [_paid(host="H005", order_id="F5", amount_fen=9_000_000), _paid(host="H001", order_id="F6",
                                                                           amount_fen=1)]
    assert stack.sender.post({"events": after}).status_code == 202
    stack.drain(5)
    publish_all(stack.sessions, stack.store, now)

    expected = {"H003": 30_000, "H002": 20_000, "H001": 10_000}
    today = datetime.now(SHANGHAI_OFFSET).date()
    week = today.isocalendar()
    for params in ({"period": "campaign"}, {"period": "today"}, {"period": "day", "key": today.isoformat()},
                   {"period": "week", "key": f"{week.year}-W{week.week:02d}"}, {"period": "month"},
                   {"period": "year"}, {"period": "campaign", "key": SLUG}):
        assert _nets(_board(stack, **params)["hosts"]) == expected, params
    for dimension in ("county", "category", "platform"):
        breakdown = requests.get(f"{stack.base_url}/v1/campaigns/{SLUG}/breakdown",
                                 params={"dimension": dimension, "period": "week"}, timeout=30).json()
        assert breakdown["net_gmv_fen"] == 60_000 and breakdown["source"] == "frozen", dimension
    card = requests.get(f"{stack.base_url}/v1/campaigns/{SLUG}/boards/hosts/participants/H005", timeout=30)
    assert card.status_code == 404 and card.json()["error"]["code"] == "participant_not_ranked"
    history = requests.get(f"{stack.base_url}/v1/campaigns/{SLUG}/boards/history",
                           params={"day": today.isoformat()}, timeout=30).json()
    assert _nets(history["hosts"]) == expected
    assert all(set(entry) == set(PUBLIC_FIELDS) for entry in history["hosts"])  # what the board shows
    # the organizer still sees everything
    from services.boards import period_boards, resolve_period
    campaign = registry.get_campaign(stack.sessions, SLUG)
    live = period_boards(stack.sessions, stack.store, campaign, resolve_period(campaign, "campaign", None, now), now,
                         organizer=True)
    assert _nets(live["hosts"])["H005"] == 9_000_000
    # lifting the freeze makes the public views live again
    registry.transition_campaign(stack.sessions, SLUG, "active")
    publish_all(stack.sessions, stack.store, now)
    assert _nets(_board(stack, period="week")["hosts"])["H005"] == 9_000_000


def test_a_breakdown_keeps_rows_below_zero_so_every_dimension_adds_up(stack):
    _setup(stack)
    shanghai_now = datetime.now(SHANGHAI_OFFSET)
    last_week = shanghai_now - timedelta(days=7)
    old = _paid(order_id="N1", county="433125", platform="kuaishou", amount_fen=8_000, occurred_at=last_week,
                sku="LX-1", name="湘西腊肉", category="meat")
    events = [old, _refund(old, amount_fen=6_000, occurred_at=shanghai_now.isoformat(timespec="seconds")),
              _paid(order_id="N2", county="433101", amount_fen=2_500, occurred_at=shanghai_now)]
    assert stack.sender.post({"events": events}).status_code == 202
    stack.drain(3)
    week = shanghai_now.isocalendar()
    totals = {}
    for dimension in ("county", "category", "platform"):
        body = requests.get(f"{stack.base_url}/v1/campaigns/{SLUG}/breakdown", timeout=30, params={
            "dimension": dimension, "period": "week", "key": f"{week.year}-W{week.week:02d}"}).json()
        totals[dimension] = (body["net_gmv_fen"], sorted(r["net_gmv_fen"] for r in body["rows"]))
    assert totals == {"county": (-3_500, [-6_000, 2_500]), "category": (-3_500, [-6_000, 2_500]),
                      "platform": (-3_500, [-6_000, 2_500])}
