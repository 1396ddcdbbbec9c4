"""Issue 5's promises over real HTTP, the fake WeChat server, and real Kafka + ClickHouse ("scale").

login -> bind -> my rank -> accept a template -> cross into the top ten through signed webhooks ->
exactly one subscribe message; a crash between the outbox write and the send loses and duplicates
nothing; another host's private figures are unreachable; session_key is in no response, no log.
"""
from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Iterator

import pytest
from sqlalchemy import select

from configstore.models import BoardChange
from configstore.wechat_models import PushOutbox, SubscribeCredit
from scheduler.jobs import run_rankings, start_scheduler
from scheduler.push_job import deliver, enqueue_rank_pushes
from scheduler.ranking_job import publish_all
from tests.e2e.conftest import REPO, Stack, build_stack
from tests.e2e.mp_helpers import TPL_RANK, MiniProgram, seed_campaign, wechat_env, wechat_overrides
from tests.fakes.fake_wechat import FakeWeChat, openid_for
from tests.support import order_event
from wechat.pushes import PushTemplates

pytestmark = pytest.mark.e2e
CAMPAIGN = "qcqh-mp"


@pytest.fixture
def fake() -> Iterator[FakeWeChat]:
    with FakeWeChat() as wx:
        yield wx


@pytest.fixture
def wx_stack(request, tmp_path, fake) -> Iterator[Stack]:
    built = build_stack("scale", tmp_path, request, **wechat_overrides(fake, push_lease_seconds=3.0,
                                                                        wechat_http_timeout=1.0))
    seed_campaign(built.sessions, CAMPAIGN)
    yield built
    built.close()


def _sales(stack: Stack, amounts: dict[str, int]) -> list[dict]:
    events = [order_event(campaign=CAMPAIGN, host=host, enterprise="E1", amount_fen=amount)
              for host, amount in amounts.items()]
    response = stack.sender.post({"events": events})
    assert response.status_code == 202, response.text
    return events


def _starting_board(stack: Stack) -> int:
    """H01..H11 sell 10,000..110,000 fen; H12 sells 500 fen and ranks 12th."""
    events = _sales(stack, {f"H{i:02d}": 10_000 * i for i in range(1, 12)} | {"H12": 500})
    stack.drain(len(events))
    publish_all(stack.sessions, stack.store)
    return len(events)


def _bind_code(stack: Stack, fake: FakeWeChat, host_id: str) -> str:
    """The organizer's CLI: `liveboard hosts bind-code HOST_ID` prints the code."""
    out = subprocess.run([sys.executable, "-m", "liveboard.cli", "hosts", "bind-code", host_id],
                         env=stack.env(**wechat_env(fake)), cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    code = out.stdout.strip().splitlines()[-1]
    assert len(code) == 9 and code[4] == "-", code
    return code


def _outbox(stack: Stack) -> list[PushOutbox]:
    with stack.sessions() as s:
        return list(s.scalars(select(PushOutbox).order_by(PushOutbox.id)))


def test_login_bind_rank_subscribe_cross_into_top_ten_one_push(wx_stack, fake, caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("werkzeug").setLevel(logging.INFO)  # the server's request lines go to caplog too
    stack = wx_stack
    posted = _starting_board(stack)
    assert enqueue_rank_pushes(stack.sessions, PushTemplates.from_settings(stack.settings))["enqueued"] == 0

    # login: our token, never WeChat's session_key
    mp = MiniProgram(stack.base_url)
    login = mp.login("code-host12.first")
    assert login["token"].startswith("mps_") and login["host"] is None
    assert "session_key" not in str(login) and "openid" not in str(login)

    # bind with the organizer's code, typed loosely
    code = _bind_code(stack, fake, "H12")
    response = mp.call("POST", "/v1/mp/bind", json={"code": f" {code.lower()} "})
    assert response.status_code == 200, response.text
    assert response.json()["host"]["id"] == "H12" and response.json()["host"]["county_name"] == "吉首市"
    me = mp.call("GET", "/v1/mp/me").json()
    assert me["bound"] and me["host"]["name"] == "主播12"
    # the code is single-use
    assert mp.call("POST", "/v1/mp/bind", json={"code": code}).json()["error"]["code"] == "invalid_bind_code"

    # my rank: 12th, 20,000 - 500 + 1 fen short of 10th place (H02)
    rank = mp.call("GET", f"/v1/mp/me/campaigns/{CAMPAIGN}/rank").json()
    card = rank["periods"]["campaign"]
    assert (card["ranked"], card["rank"], card["in_top10"], card["net_gmv_fen"]) == (True, 12, False, 500)
    assert card["gap_to_top10_fen"] == 20_000 - 500 + 1 and card["gap_to_above_fen"] == 10_000 - 500
    assert rank["periods"]["today"]["rank"] == 12
    campaigns = mp.call("GET", "/v1/mp/me/campaigns").json()["campaigns"]
    assert [(c["slug"], c["my_rank"]) for c in campaigns] == [(CAMPAIGN, 12)]

    # accept the rank template (wx.requestSubscribeMessage said "accept")
    subs = mp.call("GET", "/v1/mp/subscriptions").json()
    assert TPL_RANK in [t["template_id"] for t in subs["templates"]] and subs["credits"][TPL_RANK] == 0
    response = mp.call("POST", "/v1/mp/subscriptions", json={"template_ids": [TPL_RANK]})
    assert response.status_code == 200 and response.json()["credits"][TPL_RANK] == 1

    # the scheduler (ranking + push jobs) runs from here on, as in production
    scheduler = start_scheduler(stack.runtime, background=True)
    try:
        events = _sales(stack, {"H12": 60_000})  # 60,500 fen: 6th place; H02 (20,000) drops to 11th
        stack.drain(posted + len(events))
        deadline = time.monotonic() + 60
        while not fake.sent_messages() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        scheduler.shutdown(wait=True)
    # several more ranking and push ticks, run here one after another: nothing more may go out
    for _ in range(3):
        run_rankings(stack.runtime)
        enqueue_rank_pushes(stack.sessions, PushTemplates.from_settings(stack.settings))
        deliver(stack.sessions, _client(stack), stack.settings)

    sent = fake.sent_messages()
    assert len(sent) == 1, sent
    message = sent[0]
    assert message["touser"] == openid_for("host12") and message["template_id"] == TPL_RANK
    assert message["data"]["thing2"]["value"] == "进入前十名" and message["data"]["thing3"]["value"] == "第6名"
    assert message["data"]["thing1"]["value"] == "千村千红·湘西香伴直播带货"
    assert message["page"] == f"pages/me/index?campaign={CAMPAIGN}"
    [row] = _outbox(stack)
    assert row.status == "sent" and row.dedupe_key.startswith(f"{CAMPAIGN}:hosts:{CAMPAIGN}:H12:entered:")
    with stack.sessions() as s:
        assert s.scalar(select(SubscribeCredit.credits).where(SubscribeCredit.template_id == TPL_RANK)) == 0
    rank = mp.call("GET", f"/v1/mp/me/campaigns/{CAMPAIGN}/rank").json()["periods"]["campaign"]
    assert (rank["rank"], rank["in_top10"], rank["movement"]) == (6, True, "up")

    # session_key: in no response body and no log line (API server, adapter, scheduler, CLI child)
    keys = [c["session_key"] for c in fake.codes_issued]
    assert keys
    for key in keys:
        assert all(key not in body for body in mp.responses)
        assert key not in caplog.text
    assert openid_for("host12") not in caplog.text  # openids only masked
    assert "mp login user_id=" in caplog.text and "POST /v1/mp/login" in caplog.text


def test_another_hosts_private_figures_are_unreachable(wx_stack, fake):
    stack = wx_stack
    _starting_board(stack)
    extra = _sales(stack, {"H03": 7_000})
    stack.drain(12 + len(extra))
    publish_all(stack.sessions, stack.store)

    alice, bob, stranger = MiniProgram(stack.base_url), MiniProgram(stack.base_url), MiniProgram(stack.base_url)
    alice.login("code-alice.1")
    bob.login("code-bob.1")
    stranger.login("code-stranger.1")
    assert alice.call("POST", "/v1/mp/bind", json={"code": _bind_code(stack, fake, "H12")}).status_code == 200
    assert bob.call("POST", "/v1/mp/bind", json={"code": _bind_code(stack, fake, "H03")}).status_code == 200

    def daily(mp: MiniProgram, query: str = "") -> dict:
        response = mp.call("GET", f"/v1/mp/me/campaigns/{CAMPAIGN}/daily{query}")
        assert response.status_code == 200, response.text
        return response.json()

    mine, theirs = daily(alice), daily(bob)
    assert (mine["host"]["id"], mine["total_net_gmv_fen"]) == ("H12", 500)
    assert (theirs["host"]["id"], theirs["total_net_gmv_fen"]) == ("H03", 37_000)
    assert len(mine["days"]) == 4 and mine["days"][-1]["net_gmv_fen"] == 500  # campaign started 3 days ago
    # no parameter lets a host point at someone else
    assert daily(bob, "?host=H12&host_id=H12")["host"]["id"] == "H03"
    assert bob.call("GET", "/v1/mp/me/awards").json()["host"] == {"id": "H03", "name": "主播03"}
    # not bound, not logged in, forged token
    for path in ("/daily", "/rank"):
        response = stranger.call("GET", f"/v1/mp/me/campaigns/{CAMPAIGN}{path}")
        assert (response.status_code, response.json()["error"]["code"]) == (403, "not_bound")
    anonymous = MiniProgram(stack.base_url)
    assert anonymous.call("GET", "/v1/mp/me/awards").status_code == 401
    anonymous.token = "mps_" + "A" * 43
    response = anonymous.call("GET", f"/v1/mp/me/campaigns/{CAMPAIGN}/daily")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "session_expired")
    # re-binding H12 to bob replaces alice: alice no longer sees H12's figures
    assert bob.call("POST", "/v1/mp/bind", json={"code": _bind_code(stack, fake, "H12")}).status_code == 200
    assert daily(bob)["host"]["id"] == "H12"
    assert alice.call("GET", f"/v1/mp/me/campaigns/{CAMPAIGN}/daily").status_code == 403


CRASH_CHILD = """
import os, signal, sys
from configstore.db import make_engine, make_sessionmaker
from settings import Settings
from scheduler.push_job import deliver, enqueue_rank_pushes
from wechat.pushes import PushTemplates
from wechat.service import build_client

settings = Settings.from_env()
sessions = make_sessionmaker(make_engine(settings.config_db_url))
counts = enqueue_rank_pushes(sessions, PushTemplates.from_settings(settings))
print("enqueued", counts["enqueued"], flush=True)
if sys.argv[1] == "after-enqueue":
    os.kill(os.getpid(), signal.SIGKILL)
client = build_client(settings, sessions)
def die(*args, **kwargs):  # the outbox row is claimed and the credit reserved: die before the HTTP call
    os.kill(os.getpid(), signal.SIGKILL)
client.send_subscribe_message = die
deliver(sessions, client, settings)
"""


@pytest.mark.parametrize("crash_point", ["after-enqueue", "after-claim"])
def test_crash_between_outbox_write_and_send_neither_loses_nor_duplicates(wx_stack, fake, crash_point):
    stack = wx_stack
    posted = _starting_board(stack)
    mp = MiniProgram(stack.base_url)
    mp.login("code-host12.crash")
    assert mp.call("POST", "/v1/mp/bind", json={"code": _bind_code(stack, fake, "H12")}).status_code == 200
    assert mp.call("POST", "/v1/mp/subscriptions", json={"template_ids": [TPL_RANK]}).status_code == 200
    events = _sales(stack, {"H12": 60_000})
    stack.drain(posted + len(events))
    publish_all(stack.sessions, stack.store)
    with stack.sessions() as s:
        assert s.scalar(select(BoardChange.id).where(BoardChange.processed_at.is_(None),
                                                     BoardChange.period_kind == "campaign")) is not None

    env = stack.env(**wechat_env(fake, LIVEBOARD_PUSH_LEASE_SECONDS="3", LIVEBOARD_WECHAT_HTTP_TIMEOUT="1"))
    child = subprocess.run([sys.executable, "-c", CRASH_CHILD, crash_point], env=env, cwd=REPO,
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr
    assert "enqueued 1" in child.stdout
    [row] = _outbox(stack)
    assert row.status == ("pending" if crash_point == "after-enqueue" else "sending")
    assert fake.sent_messages() == []

    if crash_point == "after-claim":  # the dead worker's 3 s lease has lapsed for a worker 3.5 s later
        later = datetime.now(timezone.utc) + timedelta(seconds=3.5)
        assert deliver(stack.sessions, _client(stack), stack.settings, later).sent == 1
    for _ in range(2):  # another process delivers (if nothing did); a second run finds nothing left to send
        out = subprocess.run([sys.executable, "-m", "liveboard.cli", "push", "deliver"], env=env, cwd=REPO,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
    assert len(fake.sent_messages()) == 1
    [row] = _outbox(stack)
    assert row.status == "sent"
    # and the in-process job agrees there is nothing more
    report = deliver(stack.sessions, _client(stack), stack.settings)
    assert (report.sent, len(fake.sent_messages())) == (0, 1)


def _client(stack: Stack):
    from wechat.service import build_client

    return build_client(stack.settings, stack.sessions)
