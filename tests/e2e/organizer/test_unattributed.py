"""Events the boards cannot count are kept, shown with the reason, and re-attributable,
on real Kafka + ClickHouse and on the embedded default."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from configstore import snapshots
from scheduler.ranking_job import publish_all
from tests.support import order_event

pytestmark = pytest.mark.e2e
SHANGHAI = timezone(timedelta(hours=8))


def _campaign(org, slug: str, activate: bool) -> None:
    today = datetime.now(SHANGHAI).date()
    body = {"slug": slug, "name": slug, "first_day": (today - timedelta(days=1)).isoformat(),
            "last_day": (today + timedelta(days=5)).isoformat()}
    assert org.api("POST", "/campaigns", role="operator", json=body).status_code == 201
    if activate:
        assert org.api("POST", f"/campaigns/{slug}/status", role="operator", json={"status": "active"}).ok


def _board(org, slug: str, board: str = "hosts") -> dict[str, int]:
    snap = snapshots.latest(org.sessions, slug, board, "campaign", slug)
    return {e["id"]: e["net_gmv_fen"] for e in snap.entries} if snap else {}


def test_unattributed_events_are_listed_with_reasons_and_reattributed(org_both):
    org = org_both
    _campaign(org, "ua-live", activate=True)
    _campaign(org, "ua-draft", activate=False)
    csv = "类型,编号,名称,平台账号\n主播,H1,茶妹,douyin:dy-h1\n企业,E1,古丈茶业,douyin:shop-e1\n"
    assert org.api("POST", "/participants/import", role="operator",
                   files={"file": ("p.csv", csv.encode(), "text/csv")}).json()["kept"] == 2
    long_ago = datetime.now(SHANGHAI) - timedelta(days=30)
    events = [
        order_event(campaign="ua-live", host="dy-h1", enterprise="shop-e1", amount_fen=1000),
        order_event(campaign="ua-live", host="dy-h1", enterprise="E1", amount_fen=500),  # a registered id works too
        order_event(campaign="ua-live", host="dy-stranger", enterprise="E1", amount_fen=2000),
        order_event(campaign="ua-live", host="dy-stranger", enterprise="E1", amount_fen=3000),
        order_event(campaign="ua-nowhere", host="dy-h1", enterprise="E1", amount_fen=700),
        order_event(campaign="ua-draft", host="dy-h1", enterprise="E1", amount_fen=400),
        order_event(campaign="ua-live", host="dy-h1", enterprise="E1", amount_fen=90, occurred_at=long_ago),
    ]
    assert org.stack.sender.post({"events": events}).status_code == 202
    org.stack.drain(len(events))
    publish_all(org.sessions, org.stack.store)
    assert _board(org, "ua-live") == {"H1": 1500}

    listing = org.api("GET", "/unattributed", role="viewer").json()
    rows = [(g["campaign"], g["host"], g["enterprise"], g["reasons"], g["net_gmv_fen"], g["order_count"])
            for g in listing["groups"]]
    assert rows == [
        ("ua-live", "dy-stranger", "E1", ["unknown_host"], 5000, 2),
        ("ua-nowhere", "dy-h1", "E1", ["unknown_campaign"], 700, 1),
        ("ua-draft", "dy-h1", "E1", ["campaign_not_active"], 400, 1),
        ("ua-live", "dy-h1", "E1", ["outside_campaign_days"], 90, 1),
    ]
    assert listing["groups"][0]["reasons_zh"] == ["达人未登记"]
    assert listing["totals"] == {"groups": 4, "net_gmv_fen": 6190, "order_count": 5}
    assert [g["campaign"] for g in org.api("GET", "/unattributed", role="viewer",
                                           params={"campaign": "ua-draft"}).json()["groups"]] == ["ua-draft"]

    # re-attribute: the posted account becomes H1's; the next run counts it, past events included
    assert org.api("POST", "/unattributed/reattribute", role="viewer",
                   json={"board": "hosts", "platform": "douyin", "account": "dy-stranger",
                         "participant_id": "H1"}).status_code == 403
    done = org.api("POST", "/unattributed/reattribute", role="operator",
                   json={"board": "hosts", "platform": "douyin", "account": "dy-stranger", "participant_id": "H1"})
    assert done.status_code == 201
    taken = org.api("POST", "/unattributed/reattribute", role="operator",
                    json={"board": "hosts", "platform": "douyin", "account": "dy-stranger", "participant_id": "H9"})
    assert taken.status_code == 404  # H9 is not registered
    assert org.api("POST", "/campaigns/ua-draft/status", role="operator", json={"status": "active"}).ok
    publish_all(org.sessions, org.stack.store)
    assert _board(org, "ua-live") == {"H1": 6500}
    assert _board(org, "ua-draft") == {"H1": 400}
    remaining = org.api("GET", "/unattributed", role="viewer").json()["groups"]
    assert [(g["campaign"], g["reasons"]) for g in remaining] == [("ua-nowhere", ["unknown_campaign"]),
                                                                 ("ua-live", ["outside_campaign_days"])]
    entry = org.api("GET", "/audit", role="viewer", params={"target_type": "host_accounts", "limit": 1}).json()
    assert entry["entries"][0]["actor"] == "operator-user"
    assert entry["entries"][0]["after"] == {"id": entry["entries"][0]["after"]["id"], "host_id": "H1",
                                            "platform": "douyin", "account_id": "dy-stranger"}
    # the console shows the same, and the health numbers
    console = org.console("viewer-user")
    page = console.get(f"{org.base_url}/console/unattributed", timeout=30).text
    assert "活动未登记" in page and "不在活动日期内" in page and 'id="unattributed-gmv">7.90<' in page
    dashboard = console.get(f"{org.base_url}/console/", timeout=30).text
    assert 'id="h-accepted">7<' in dashboard and 'id="h-dead">0<' in dashboard
