"""Awards reach the hosts, through the fake WeChat server: the mini-program's 奖项 tab, one 获奖通知
per award when its list reaches 公示中 / 已定稿, and one 销售里程碑 message per host per campaign
milestone (the milestone job after the ranking job)."""
from __future__ import annotations

from typing import Iterator

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from scheduler.milestone_job import add_milestone_job
from scheduler.push_job import deliver
from scheduler.ranking_job import publish_all
from services.notices import enqueue_milestone_pushes
from tests.e2e.conftest import build_stack
from tests.e2e.mp_helpers import TPL_AWARD, TPL_MILESTONE, MiniProgram, seed_campaign, wechat_overrides
from tests.e2e.organizer.conftest import csrf_token, make_org
from tests.fakes.fake_wechat import FakeWeChat, openid_for
from tests.support import order_event
from wechat.binding import issue_bind_code
from wechat.pushes import PushTemplates
from wechat.service import build_client

pytestmark = pytest.mark.e2e
SLUG = "qcqh-awards"
AWARD_KEYS = ["list_id", "kind", "kind_name", "scope", "scope_key", "title", "rank", "category", "amount_fen", "state",
              "state_name", "notice_ends_on", "updated_at"]


@pytest.fixture
def fake() -> Iterator[FakeWeChat]:
    with FakeWeChat() as wx:
        yield wx


@pytest.fixture
def wx_org(request, tmp_path, fake):
    stack = build_stack("embedded", tmp_path, request, **wechat_overrides(fake))
    seed_campaign(stack.sessions, SLUG)
    yield make_org(stack)
    stack.close()


def _bound(stack, host_id: str, who: str) -> MiniProgram:
    mp = MiniProgram(stack.base_url)
    mp.login(f"code-{who}.1")
    code = issue_bind_code(stack.sessions, host_id, ttl_seconds=3600, pepper=stack.runtime.settings.secret_key).code
    assert mp.call("POST", "/v1/mp/bind", json={"code": code}).status_code == 200
    return mp


def _sell(stack, amounts: dict[str, int], before: int) -> int:
    events = [order_event(campaign=SLUG, host=host, enterprise="E1", amount_fen=fen) for host, fen in amounts.items()]
    assert stack.sender.post({"events": events}).status_code == 202
    stack.drain(before + len(events))
    publish_all(stack.sessions, stack.store)
    return before + len(events)


def _deliver(stack) -> None:
    deliver(stack.sessions, build_client(stack.settings, stack.sessions), stack.settings)


def test_milestones_once_per_host_per_milestone(wx_org, fake):
    org, stack = wx_org, wx_org.stack
    alice = _bound(stack, "H12", "host12")
    for _ in range(2):  # two one-time subscriptions: two messages may be sent
        assert alice.call("POST", "/v1/mp/subscriptions", json={"template_ids": [TPL_MILESTONE]}).status_code == 200
    response = org.api("PUT", f"/campaigns/{SLUG}/host-milestones", role="operator",
                       json={"amounts_fen": [50_000, 10_000, 1_000_000]})
    assert response.json() == {"campaign": SLUG, "amounts_fen": [10_000, 50_000, 1_000_000]}
    assert org.api("PUT", f"/campaigns/{SLUG}/host-milestones", role="viewer", json={"amounts_fen": []}).status_code == 403
    templates = PushTemplates.from_settings(stack.settings)

    stored = _sell(stack, {"H12": 30_000, "H01": 20_000}, 0)
    assert enqueue_milestone_pushes(stack.sessions, templates) == {"hits": 2, "enqueued": 1}  # H01 is not bound
    stored = _sell(stack, {"H12": 30_000}, stored)  # 600.00 yuan: past 500 too
    assert enqueue_milestone_pushes(stack.sessions, templates) == {"hits": 1, "enqueued": 1}
    for _ in range(3):  # later runs: nothing new
        publish_all(stack.sessions, stack.store)
        assert enqueue_milestone_pushes(stack.sessions, templates) == {"hits": 0, "enqueued": 0}
    _deliver(stack)
    sent = fake.sent_messages()
    assert [(m["touser"], m["template_id"], m["data"]["thing1"]["value"], m["data"]["amount2"]["value"])
            for m in sent] == [(openid_for("host12"), TPL_MILESTONE, "累计成交额达到100元", "300.00元"),
                               (openid_for("host12"), TPL_MILESTONE, "累计成交额达到500元", "600.00元")]
    hits = org.api("GET", f"/campaigns/{SLUG}/host-milestones", role="viewer").json()["hits"]
    assert [(h["host_id"], h["amount_fen"]) for h in hits] == [("H12", 10_000), ("H01", 10_000), ("H12", 50_000)]
    page = org.console("viewer-user").get(f"{org.base_url}/console/awards/milestones?campaign={SLUG}", timeout=30).text
    assert "累计成交额达到500元" in page and "主播12" in page

    console = org.console("operator-user")  # the console form takes yuan
    token = csrf_token(console.get(f"{org.base_url}/console/awards/milestones?campaign={SLUG}", timeout=30).text)
    saved = console.post(f"{org.base_url}/console/awards/milestones", timeout=30,
                         data={"csrf_token": token, "campaign": SLUG, "amounts_yuan": "100，500, 10000"})
    assert saved.status_code == 200 and "累计成交额达到1万元" in saved.text
    assert org.api("GET", f"/campaigns/{SLUG}/host-milestones").json()["amounts_fen"] == [10_000, 50_000, 1_000_000]

    scheduler = BackgroundScheduler()  # the scheduler runs the same job after the ranking job's interval
    add_milestone_job(scheduler, stack.runtime)
    assert scheduler.get_job("host-milestones") is not None


def test_award_list_in_notice_and_final_reaches_the_host_once(wx_org, fake):
    org, stack = wx_org, wx_org.stack
    alice, bob = _bound(stack, "H12", "host12"), _bound(stack, "H03", "host03")
    assert alice.call("POST", "/v1/mp/subscriptions", json={"template_ids": [TPL_AWARD]}).status_code == 200
    assert alice.call("GET", "/v1/mp/me/awards").json() == {"host": {"id": "H12", "name": "主播12"}, "awards": [],
                                                              "updated_at": None}
    _sell(stack, {"H12": 90_000, "H05": 50_000}, 0)  # H03 sells nothing: not on the list
    computed = org.api("POST", "/awards/compute", role="operator",
                       json={"kind": "top_influencers", "scope": "campaign", "scope_key": SLUG})
    list_id = computed.json()["id"]
    assert [i["participant_id"] for i in computed.json()["items"]] == ["H12", "H05"]
    assert alice.call("GET", "/v1/mp/me/awards").json()["awards"] == []  # a draft is not news

    def move(state, **extra):
        response = org.api("POST", f"/awards/{list_id}/transition", json={"state": state, **extra})
        assert response.status_code == 200, response.text

    move("frozen")
    move("notice", notice_start="2020-01-01", notice_end="2020-01-07")
    mine = alice.call("GET", "/v1/mp/me/awards").json()
    [award] = mine["awards"]
    assert list(award) == AWARD_KEYS
    assert {k: award[k] for k in AWARD_KEYS if k != "updated_at"} == {
        "list_id": list_id, "kind": "top_influencers", "kind_name": "十大电商达人", "scope": "campaign",
        "scope_key": SLUG, "title": "千村千红·湘西香伴直播带货 十大电商达人", "rank": 1, "category": "十大电商达人",
        "amount_fen": 0, "state": "notice", "state_name": "公示中", "notice_ends_on": "2020-01-07"}
    assert mine["updated_at"] == award["updated_at"] and award["updated_at"].endswith("+00:00")
    assert bob.call("GET", "/v1/mp/me/awards").json()["awards"] == []  # another host sees nothing of it

    move("draft")  # an objection: back to draft and through the notice again -- still one message
    move("frozen")
    move("notice", notice_start="2020-01-01", notice_end="2020-01-07")
    move("final")
    [award] = alice.call("GET", "/v1/mp/me/awards").json()["awards"]
    assert (award["state"], award["state_name"], award["notice_ends_on"]) == ("final", "已定稿", None)
    _deliver(stack)
    sent = [m for m in fake.sent_messages() if m["template_id"] == TPL_AWARD]
    assert len(sent) == 1 and sent[0]["touser"] == openid_for("host12")
    assert sent[0]["data"]["thing1"]["value"] == "十大电商达人" and sent[0]["page"] == "pages/awards/index"
    assert sent[0]["data"]["thing3"]["value"].startswith("千村千红")

    # a new version (an admin's adjustment) published again: the same award, no second message
    v2 = org.api("POST", f"/awards/{list_id}/adjustments",
                 json={"participant_id": "H12", "amount_fen": 100_000, "reason": "追加奖金"}).json()
    list_id = v2["id"]
    move("frozen")
    move("notice", notice_start="2020-01-01", notice_end="2020-01-07")
    [award] = alice.call("GET", "/v1/mp/me/awards").json()["awards"]
    assert (award["list_id"], award["amount_fen"], award["state"]) == (v2["id"], 100_000, "notice")
    _deliver(stack)
    assert len([m for m in fake.sent_messages() if m["template_id"] == TPL_AWARD]) == 1
