"""Platform connections beyond the happy path, on the embedded default: dead letters keep the
original bytes, tokens are shared between processes and refreshed once (快手 rotates refresh
tokens), the API rate limit holds, credentials are sealed at rest and every change is audited,
`liveboard connectors` in Chinese, and `liveboard run`'s background workers include the
connector worker."""
from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import time

import orjson
import pytest
from sqlalchemy import select, text

from configstore.audit import AuditEntry
from configstore.connections import list_messages
from connectors.access import PlatformAccess
from connectors.worker import REFUSED_ATTEMPTS, backoff
from eventlog.base import Record
from liveboard.wiring import BackgroundWorkers
from tests.e2e.conftest import REPO
from tests.e2e.connectors.helpers import CAMPAIGN, HOST_ACCOUNT, connect

pytestmark = pytest.mark.e2e


@pytest.fixture
def douyin(tmp_path, request):
    c = connect("embedded", "douyin_shop", tmp_path, request)
    yield c
    c.close()


def test_what_can_never_be_enriched_is_dead_lettered_with_its_bytes(douyin):
    c = douyin
    push = c.fake.push(c.push_url, [("101", {"p_id": 6929999999999999999, "shop_id": int(c.fake.shop_id)})])
    assert push.status == 200  # authentic: answered, then the platform's API says the order does not exist
    c.runtime.event_log.append(c.stack.settings.connector_raw_topic, [Record(key=b"x", value=b"not json")])
    c.enrich()
    for attempt in range(1, REFUSED_ATTEMPTS):
        assert c.status().dead == 0
        c.stack.clock.advance(backoff(attempt) + 1)
        c.enrich()
    assert (c.status().pending, c.status().dead) == (0, 1)
    letters = [orjson.loads(r.value) for r in c.runtime.event_log.read_all(c.stack.settings.connector_dead_letter_topic)]
    reasons = sorted(letter["reason"] for letter in letters)
    assert len(letters) == 2 and reasons[0].startswith("JSONDecodeError") and "平台多次拒绝" in reasons[1]
    refused = next(letter for letter in letters if "平台多次拒绝" in letter["reason"])
    original = json.loads(base64.b64decode(refused["original_b64"]))
    assert original["order_id"] == "6929999999999999999" and original["connection"] == c.name
    assert "订单不存在" in c.status().last_error


def test_tokens_are_shared_and_refreshed_once_across_processes(tmp_path, request):
    c = connect("embedded", "kuaishou_shop", tmp_path, request)
    try:
        order_id, _ = c.order(990, host=HOST_ACCOUNT)
        # two processes: each has its own directory, clients and token cache; the config store is shared
        first, second = PlatformAccess(c.runtime), PlatformAccess(c.runtime)
        clients = [access.client(access.directory.get(c.name)) for access in (first, second, first, second)]
        tokens: list[str] = []
        threads = [threading.Thread(target=lambda cl=cl: tokens.append(cl.access_token().value)) for cl in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(set(tokens)) == 1 and c.fake.calls_to("/oauth2/refresh_token") == 1

        c.fake.expire_tokens()  # every issued token refused: each process must refresh, once in all
        answers = []
        threads = [threading.Thread(target=lambda cl=cl: answers.append(cl.order_detail(order_id))) for cl in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(answers) == 4 and c.fake.calls_to("/oauth2/refresh_token") == 2  # the rotated token worked
        with c.stack.sessions() as session:
            stored = session.execute(text("SELECT access_token, refresh_token FROM connector_tokens")).one()
        assert all(value.startswith("fernet:") for value in stored)
    finally:
        c.close()


def test_the_configured_api_rate_limit_holds(tmp_path, request):
    c = connect("embedded", "douyin_shop", tmp_path, request, rate_limit=20.0, threads=4)
    try:
        orders = [c.order(100 + n, host=HOST_ACCOUNT)[0] for n in range(30)]
        for order_id in orders:
            assert c.push_paid(order_id).status == 200
        started = time.monotonic()
        c.enrich()
        elapsed = time.monotonic() - started
        calls = sorted(r["at"] for r in c.fake.requests if r["path"] == "/order/orderDetail")
        assert len(calls) == 30 and c.status().done == 30
        # calls are let go 50 ms apart; on a loaded machine a thread can reach the platform a little
        # late and the next on time, so one sliding second may see a call or two more, never the mean
        assert (len(calls) - 1) / (calls[-1] - calls[0]) <= 20.5
        busiest = max(sum(1 for t in calls if start <= t < start + 1.0) for start in calls)
        assert busiest <= 22, busiest
        assert elapsed >= 1.4
    finally:
        c.close()


def test_pushes_count_against_the_rate_limit_per_connection_and_client(tmp_path, request):
    c = connect("embedded", "douyin_shop", tmp_path, request, webhook_rate_limit="3 per minute")
    try:
        orders = [c.order(100 + n, host=HOST_ACCOUNT)[0] for n in range(5)]
        pushes = [c.push_paid(order_id) for order_id in orders]
        assert [p.status for p in pushes] == [200, 200, 200, 429, 429]
        assert orjson.loads(pushes[3].reply) == {"error": {"code": "rate_limited", "message": "请求过于频繁，请稍后再试"}}
        assert c.raw_count() == 3  # what was refused never reached the raw topic; the platform retries it
        c.stack.clock.advance(61)  # the next window
        assert c.repush(pushes[3]).status_code == 200 and c.raw_count() == 4
    finally:
        c.close()


def test_credentials_are_sealed_and_changes_audited(douyin):
    c = douyin
    with c.stack.sessions() as session:
        stored = session.execute(text("SELECT credentials FROM connector_connections")).scalar_one()
        entries = session.scalars(select(AuditEntry).where(AuditEntry.target_type.in_(
            ["connector_connections", "enterprise_accounts"])).order_by(AuditEntry.id)).all()
    assert stored.startswith("fernet:") and c.fake.app_secret not in stored
    by_table = {e.target_type: e for e in entries}
    assert sorted((e.target_type, e.action) for e in entries) == [("connector_connections", "create"),
                                                                  ("enterprise_accounts", "create")]
    account = by_table["enterprise_accounts"].after
    assert (account["platform"], account["account_id"], account["enterprise_id"]) == ("douyin", c.fake.shop_id, "E1")
    assert by_table["connector_connections"].after["credentials"].startswith("sha256:")
    assert c.fake.app_secret not in json.dumps([e.after for e in entries], ensure_ascii=False)


def test_the_cli_creates_lists_and_self_tests_in_chinese(tmp_path, request):
    c = connect("embedded", "youzan", tmp_path, request)
    try:
        creds = tmp_path / "creds.json"
        creds.write_text(json.dumps({"client_id": c.fake.client_id, "client_secret": c.fake.client_secret}))
        out = c.stack.cli("connectors", "create", "youzan", "yz-cli", "--shop-id", c.fake.kdt_id, "--enterprise", "E1",
                          "--campaign", CAMPAIGN, "--county", "433126", "--api-base-url", c.fake.url,
                          "--credentials-file", str(creds))
        assert "平台连接 yz-cli 已创建" in out and "推送地址：" in out and "/v1/connectors/yz-cli/push" in out
        listing = c.stack.cli("connectors", "list")
        assert "yz-cli（有赞，启用）" in listing and "待处理 0" in listing
        tested = c.stack.cli("connectors", "test", "yz-cli")
        assert "✓ 平台接口令牌" in tested and "✓ 订单接口" in tested and "✓ 推送验证" in tested
        assert tested.strip().endswith("自检通过")
        over_http = c.stack.cli("connectors", "test", "yz-cli", "--url", c.stack.base_url, "--json")
        assert json.loads(over_http)["ok"] is True

        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"client_id": c.fake.client_id, "client_secret": "wrong-secret"}))
        c.stack.cli("connectors", "create", "youzan", "yz-bad", "--shop-id", "46020002", "--enterprise", "E1",
                    "--campaign", CAMPAIGN, "--county", "433126", "--api-base-url", c.fake.url,
                    "--credentials-file", str(bad))
        failed = subprocess.run([sys.executable, "-m", "liveboard.cli", "connectors", "test", "yz-bad"],
                                env=c.stack.env(), cwd=REPO, capture_output=True, text=True, timeout=120)
        assert failed.returncode == 1 and "✗ 平台接口令牌" in failed.stdout and "自检未通过" in failed.stdout
    finally:
        c.close()


def test_liveboard_run_background_workers_take_a_push_to_the_board(tmp_path, request):
    c = connect("embedded", "wechat_shop", tmp_path, request)
    workers = BackgroundWorkers(c.runtime).start()
    try:
        order_id, _ = c.order(4321, host=HOST_ACCOUNT)
        assert c.push_paid(order_id).reply == b"success"
        deadline = time.monotonic() + 30
        while c.board("hosts") != {"H1": 4321}:
            assert time.monotonic() < deadline, c.board("hosts")
            time.sleep(0.2)
        assert workers.schedule is not None and workers.schedule.scheduler is not None
        assert "connector-pulls" in {job.id for job in workers.schedule.scheduler.get_jobs()}
    finally:
        workers.shutdown()
        c.close()


def test_one_slow_order_does_not_hold_up_the_others(douyin):
    c = douyin
    warm, _ = c.order(100, host=HOST_ACCOUNT)
    c.push_paid(warm)
    c.enrich()  # the token is fetched: the delay below hits an order detail
    orders = [c.order(200 + n, host=HOST_ACCOUNT)[0] for n in range(6)]
    c.fake.delay_next(3.0)
    for order_id in orders:
        assert c.push_paid(order_id).status == 200
    started = time.time()
    c.enrich()
    info = c.access.directory.get(c.name)
    done = {m["order_id"]: m["completed_at"] for m in list_messages(c.stack.sessions, info.id, limit=10)
            if m["order_id"] in orders}
    slow = max(done, key=done.get)
    assert done[slow] - started >= 2.9
    assert all(at - started < 2.0 for order_id, at in done.items() if order_id != slow), done
