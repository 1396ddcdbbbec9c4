"""Every platform end to end, on real Kafka + ClickHouse and on the embedded default: a signed or
encrypted push over HTTP -> the platform's own success body -> enrichment through the fake
platform's API -> the sale on the board under the right 达人 and enterprise, to the fen; a partial
refund; a re-push and a replay count once; a forged push stores nothing; a push the platform
"lost" arrives through the pull backstop; an API outage and a rate limit delay but lose nothing."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from connectors.pull import pull_connection
from connectors.worker import ConnectorWorker
from services import organizer
from tests.e2e.connectors.helpers import CAMPAIGN, CASES, HOST_ACCOUNT, PAST_CAMPAIGN, SHANGHAI, STRANGER, connect

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["scale", "embedded"])
def mode(request) -> str:
    return request.param


@pytest.mark.parametrize("platform", sorted(CASES))
def test_push_to_board(platform, mode, tmp_path, request):
    c = connect(mode, platform, tmp_path, request)
    try:
        _scenario(c)
    finally:
        c.close()


def _scenario(c) -> None:
    named = c.case.names_hosts
    host = HOST_ACCOUNT if named else None
    o1, s1 = c.order(12345, host=host, quantity=2)
    o2, _ = c.order(6780, host=STRANGER if named else None)
    long_ago = (datetime.now(SHANGHAI) - timedelta(days=25)).timestamp()
    o5, s5 = c.order(3000, host=host, paid_at=long_ago)  # paid within the past campaign's days

    # pushes over HTTP: each answered with the platform's own success body, only after it is durable
    first = c.push_paid(o1)
    assert (first.status, first.reply.strip()) == (200, c.case.success)
    for order_id in (o2, o5):
        assert c.push_paid(order_id).status == 200
    assert c.raw_count() == 3
    r1 = c.refund(o1, s1, 2345)  # partial
    r5 = c.refund(o5, s5, 1000)  # refunded now, counts where its order counted
    for refund_id in (r1, r5):
        assert c.push_refund(refund_id).reply.strip() == c.case.success
    if c.case.platform == "wechat_shop":  # the URL check when the push URL is saved
        handshake, echostr = c.fake.verify_url(c.push_url)
        assert (handshake.status, handshake.reply) == (200, echostr.encode())

    # a forged signature / another key: refused with a failure status, nothing stored
    raw_before = c.raw_count()
    forged = c.case.forge(c.fake, c.push_url, o1)
    assert forged.status in (400, 401, 403) and forged.reply.strip() != c.case.success
    assert c.raw_count() == raw_before

    # the platform retries a push it already delivered: answered, not stored twice
    again = c.repush(first)
    assert (again.status_code, again.content.strip()) == (200, c.case.success)
    c.enrich_all()
    h1_now, e1_now = 12345 - 2345, 12345 - 2345 + 6780
    c.settle(5)
    assert c.board("enterprises") == {"E1": e1_now}
    assert c.board("hosts") == ({"H1": h1_now} if named else {})
    # the order paid 25 days ago and its refund today both count for the campaign of its pay time
    assert _by_campaign(c) == {(PAST_CAMPAIGN, "order.paid"): 3000, (PAST_CAMPAIGN, "order.refunded"): 1000,
                               (CAMPAIGN, "order.paid"): 12345 + 6780, (CAMPAIGN, "order.refunded"): 2345}
    unattributed = {(g.host, g.reasons) for g in organizer.unattributed(c.runtime, "cx-now")}
    assert (STRANGER if named else "unattributed", ("unknown_host",)) in unattributed

    # a replay of the whole raw topic (a new consumer group) adds nothing
    replay = ConnectorWorker(c.runtime, threads=2, group=c.stack.settings.connector_group + "-replay")
    replay.run_until_idle()
    replay.close()
    assert replay.stats.ingested == 0 and replay.stats.duplicates >= 4

    # a push the platform lost: the pull backstop finds it within one period
    o3, _ = c.order(1000, host=host)
    assert c.push_paid(o3, lose=True).lost
    c.stack.clock.advance(60)
    report = pull_connection(c.access, c.access.directory.get(c.name))
    assert not report.error and report.enqueued >= 1
    c.enrich_all()

    # the platform's API fails, then rate-limits: the message waits, nothing is lost
    o4, _ = c.order(2000, host=host)
    c.fake.fail_next("server_error")
    c.fake.fail_next("rate_limit")
    assert c.push_paid(o4).status == 200  # no API call in the request: the outage does not show here
    c.enrich()
    assert c.status().pending == 1
    c.enrich_all()  # the clock skips the backoff (5 s) and the longest rate-limit wait (微信: 60 s)
    assert c.status().dead == 0

    c.settle(7)
    assert c.board("enterprises") == {"E1": e1_now + 1000 + 2000}
    assert c.board("hosts") == ({"H1": h1_now + 1000 + 2000} if named else {})
    assert c.stack.stored_events() == 7 and c.stack.reconcile()["matches"]


def _by_campaign(c) -> dict[tuple[str, str], int]:
    """Stored amounts by (campaign, type), every event counted once."""
    rows = c.stack.store.query("SELECT campaign, type, sum(amount_fen) FROM "
                               "(SELECT event_id, any(campaign) AS campaign, any(type) AS type, any(amount_fen) "
                               "AS amount_fen FROM {db}.sales_events GROUP BY event_id) GROUP BY campaign, type")
    return {(campaign, kind): int(total) for campaign, kind, total in rows}
