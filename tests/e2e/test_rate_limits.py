"""Rate limits hold across processes: two `liveboard serve` processes on one deployment (real Kafka
and ClickHouse, one config store) count against the same login and webhook limits — in Redis, as a
scale-out deployment with LIVEBOARD_REDIS_URL keeps them, and in the config store, the fallback."""
from __future__ import annotations

import time

import pytest
import redis
import requests

from configstore import accounts
from devservices._process import free_port
from tests.e2e.organizer.conftest import PASSWORD, csrf_token
from tests.support import order_event

pytestmark = pytest.mark.e2e
CAMPAIGN = "rl-2026"


def _serve(stack, **env) -> str:
    port = free_port()
    stack.spawn("serve", "--port", str(port), "--workers", "1", "--threads", "4", **env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/livez", timeout=10).status_code == 200:
                return base
        except (requests.ConnectionError, requests.Timeout):  # still starting (slow under load)
            time.sleep(0.2)
    raise AssertionError(f"liveboard serve on {port} did not come up")


def _failed_login(base: str, username: str) -> requests.Response:
    http = requests.Session()
    token = csrf_token(http.get(f"{base}/console/login", timeout=10).text)
    return http.post(f"{base}/console/login", data={"username": username, "password": "wrong-password",
                                                    "csrf_token": token}, allow_redirects=False, timeout=10)


@pytest.mark.parametrize("counters", ["redis", "config store"])
def test_login_and_webhook_limits_are_shared_by_two_api_processes(scale_stack, counters, request):
    stack = scale_stack
    accounts.create_user(stack.sessions, "viewer-1", PASSWORD, "viewer")
    where = {}
    if counters == "redis":  # a database of this test's own, emptied first
        url = request.getfixturevalue("redis_service").url.rsplit("/", 1)[0] + "/14"
        redis.Redis.from_url(url).flushdb()
        where = {"LIVEBOARD_REDIS_URL": url}
    servers = [_serve(stack, LIVEBOARD_WEBHOOK_RATE_LIMIT="10 per minute", **where) for _ in range(2)]

    # Login: 5 failures per user name per minute, wherever they land.
    statuses = [_failed_login(servers[i % 2], "viewer-1").status_code for i in range(7)]
    assert statuses[:5] == [401] * 5, statuses  # the form again, with its error
    assert statuses[5:] == [429, 429], statuses

    # Webhooks: 10 per minute per source and client IP, alternating between the two processes.
    outcomes = []
    for i in range(14):
        event = order_event(campaign=CAMPAIGN, host="H1", enterprise="E1", amount_fen=100 + i)
        sender = type(stack.sender)(servers[i % 2], stack.source, stack.secret)
        response = sender.post(event)
        outcomes.append((event["event_id"], response))
    accepted = [event_id for event_id, r in outcomes if r.status_code == 202]
    limited = [r for _, r in outcomes if r.status_code == 429]
    assert len(accepted) == 10 and len(limited) == 4, [r.status_code for _, r in outcomes]
    body = limited[0].json()
    assert body == {"error": {"code": "rate_limited", "message": "请求过于频繁，请稍后再试"}}
    assert 0 < int(limited[0].headers["Retry-After"]) <= 60

    # What was refused never reached the log; what was accepted is stored once.
    stack.drain(10)
    stored = {row[0] for row in stack.store.query("SELECT event_id FROM {db}.sales_events")}
    assert stored == set(accepted)
    (total_fen,) = stack.store.query("SELECT sum(amount_fen) FROM {db}.sales_events")[0]
    assert total_fen == sum(100 + i for i, (_, r) in enumerate(outcomes) if r.status_code == 202)
