"""Issue 6 on the real data path: webhooks -> event log -> writer -> sales_daily -> award rules ->
config-store lists -> API/console/CLI/exports. Expected figures are written out by hand."""
from __future__ import annotations

import io
import re
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
import requests
from openpyxl import load_workbook
from PIL import Image

from backend.awards_api import OPERATIONS as AWARD_OPERATIONS
from configstore import audit, places, registry
from configstore.participants_import import import_participants
from domain.money import wan_yuan
from tests.support import order_event

pytestmark = pytest.mark.e2e
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(y, m, d, hh=12, mm=0, ss=0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=SHANGHAI)


def paid(campaign, ent, fen, when, host="H01", **kw):
    return order_event(campaign=campaign, host=host, enterprise=ent, amount_fen=fen, occurred_at=when, **kw)


def refund(campaign, ent, fen, when, host="H01", **kw):
    return order_event(campaign=campaign, host=host, enterprise=ent, amount_fen=fen, occurred_at=when,
                       event_type="order.refunded", quantity=0, **kw)


def post_and_drain(stack, events):
    before = stack.stored_events()
    assert {r.status_code for r in stack.sender.post_batches(events, batch_size=50)} == {202}
    stack.drain(before + len(events))


def compute(org, role="operator", **body):
    response = org.api("POST", "/awards/compute", role=role, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def lines(award_list):
    return [(i["participant_id"], i["category"], i["amount_fen"], i["metric_fen"]) for i in award_list["items"]]


def walk_to_final(org, list_id):
    assert org.api("POST", f"/awards/{list_id}/transition", json={"state": "frozen"}).status_code == 200
    r = org.api("POST", f"/awards/{list_id}/transition",
                json={"state": "notice", "notice_start": "2020-01-01", "notice_end": "2020-01-07"})
    assert r.status_code == 200, r.text
    r = org.api("POST", f"/awards/{list_id}/transition", json={"state": "final"})
    assert r.status_code == 200, r.text
    return r.json()


# ---------------------------------------------------------------------------------------------
# Sales milestones: single and double crossings, exact threshold, tax, later years, refunds after a grant.

def _register_enterprises(stack):
    # tax status per year: E4 did not pay its taxes in any of these years
    rows = [{"kind": "enterprise", "id": f"E{n}", "name": f"湘西企业{n}", "county": "433101",
             **{f"依法纳税({year})": "否" if n == 4 else "是" for year in (2024, 2025, 2026)}} for n in range(1, 7)]
    rows.append({"kind": "host", "id": "H01", "name": "主播一", "county": "433101"})
    assert import_participants(stack.sessions, rows).bad_rows == 0


MILESTONE_2024 = [
    # enterprise, 2024 net sales (fen) -> expected (granted?, category, amount)
    ("E1", wan_yuan(1000) + 1, ("突破1000万元", wan_yuan(5))),    # just above 10 million
    ("E2", wan_yuan(1000), None),                                  # exactly 10 million: not "突破"
    ("E3", wan_yuan(3500), ("突破3000万元", wan_yuan(10))),       # two thresholds in one year: the higher only
    ("E4", wan_yuan(6000), None),                                  # does not pay taxes
    ("E5", wan_yuan(1200), ("突破1000万元", wan_yuan(5))),        # later refunded under the threshold
]
MILESTONE_2025 = [
    ("E1", wan_yuan(5500), ("突破5000万元", wan_yuan(20) - wan_yuan(5))),  # higher tier later: the difference
    ("E2", wan_yuan(1100), ("突破1000万元", wan_yuan(5))),                  # first time now
    ("E3", wan_yuan(3200), None),                                           # tier 2 again: never twice
]


def test_sales_milestones_across_years_with_refund_flags(org):
    stack = org.stack
    _register_enterprises(stack)
    events = [paid("qcqh-2024", ent, fen, at(2024, 6, 1)) for ent, fen, _ in MILESTONE_2024]
    events += [paid("qcqh-2025", ent, fen, at(2025, 3, 1)) for ent, fen, _ in MILESTONE_2025]
    # products from outside Xiangxi do not count; sales at 2024-12-31 23:59:59 Shanghai are 2024's
    events.append(paid("qcqh-2024", "E2", wan_yuan(500), at(2024, 7, 1), county="430102"))
    events.append(paid("qcqh-2024", "E6", wan_yuan(999), at(2024, 12, 31, 23, 59, 59)))
    events.append(paid("qcqh-2025", "E6", wan_yuan(2), at(2025, 1, 1, 0, 0, 0)))
    post_and_drain(stack, events)

    v2024 = compute(org, kind="sales_milestone", scope="year", scope_key="2024")
    expected = [(ent, cat, amount, fen) for ent, fen, grant in MILESTONE_2024 if grant for cat, amount in [grant]]
    assert lines(v2024) == expected
    not_granted = {row["participant_id"]: row["reason"] for row in v2024["params"]["not_granted"]}
    assert not_granted == {"E2": "年度销售额10,000,000.00元，未突破1000万元", "E4": "未依法纳税，不予奖励",
                           "E6": "年度销售额9,990,000.00元，未突破1000万元"}
    walk_to_final(org, v2024["id"])

    # a refund in 2024 takes E5 back under 10 million after the grant: flagged, never revoked
    e5_order = next(e["order_id"] for e in events if e["enterprise"] == "E5" and e["campaign"] == "qcqh-2024")
    post_and_drain(stack, [refund("qcqh-2024", "E5", wan_yuan(300), at(2024, 12, 30), order_id=e5_order)])
    v2025 = compute(org, kind="sales_milestone", scope="year", scope_key="2025")
    expected = [(ent, cat, amount, fen) for ent, fen, grant in MILESTONE_2025 if grant for cat, amount in [grant]]
    assert lines(v2025) == sorted(expected)
    assert v2025["items"][0]["detail"]["reason"] == ("年度销售额首次突破5000万元，就高不就低：本档奖励200,000.00元，"
                                                      "扣除已奖励50,000.00元，补足差额150,000.00元")
    assert [(f["participant_id"], f["year"], f["tier"], f["current_sales_fen"])
            for f in v2025["params"]["review_flags"]] == [("E5", 2024, 1, wan_yuan(900))]
    # the 2024 final list itself is untouched
    assert lines(org.api("GET", f"/awards/{v2024['id']}").json())[-1] == ("E5", "突破1000万元", wan_yuan(5), wan_yuan(1200))

    # the switchable policy: the higher tier paid in full
    full = compute(org, kind="sales_milestone", scope="year", scope_key="2025", policy="pay_full_higher_tier")
    assert full["id"] == v2025["id"] and full["version"] == 1  # the draft was recomputed in place
    assert lines(full)[0] == ("E1", "突破5000万元", wan_yuan(20), wan_yuan(5500))


# ---------------------------------------------------------------------------------------------
# Selections: eligibility, minimums, ties, per campaign and per year.

def test_selections_per_campaign_and_year_with_eligibility_minimums_and_ties(org):
    stack = org.stack
    registry.upsert_campaign(stack.sessions, slug="taozi", name="百名网红湘西桃", first_day=date(2026, 6, 1),
                             last_day=date(2026, 6, 30))
    rows = [{"kind": "host", "id": f"H{n:02d}", "name": f"达人{n:02d}", "county": "430102" if n == 3 else "433123",
             "accounts": f"douyin:dy{n:02d}"} for n in range(1, 14)]
    rows += [{"kind": "enterprise", "id": "E1", "name": "古丈茶业", "county": "433126", "依法纳税(2026)": "是"},
             {"kind": "enterprise", "id": "E2", "name": "龙山百合", "county": "433130", "依法纳税(2026)": "否"}]
    assert import_participants(stack.sessions, rows).bad_rows == 0
    registry.disqualify(stack.sessions, "taozi", "hosts", "H05", "刷单")
    events = []
    for n in range(1, 14):  # H13 sells most, H01 least; H10 and H11 tie, H10 reached it first
        amount = 1_000 * n if n != 11 else 10_000
        events.append(paid("taozi", "E1" if n % 2 else "E2", amount, at(2026, 6, 10, 10, n), host=f"dy{n:02d}"))
    events.append(paid("taozi", "E1", 500, at(2026, 6, 11), host="dy02"))  # H02: 2 orders
    events.append(paid("other", "E2", 50_000, at(2026, 9, 1), host="dy01"))  # another campaign, same year
    post_and_drain(stack, events)

    hosts = compute(org, kind="top_influencers", scope="campaign", scope_key="taozi", min_net_gmv_fen=2_000)
    # board: H13 13000, H12 12000, H10 10000 (first), H11 10000, H09, H08, H07, H06, H05 (disq), H04, H03 (out of
    # Xiangxi), H02 2500, H01 1000 (below the minimum)
    assert [i["participant_id"] for i in hosts["items"]] == ["H13", "H12", "H10", "H11", "H09", "H08", "H07", "H06",
                                                             "H04", "H02"]
    assert [i["detail"]["board_rank"] for i in hosts["items"]] == [1, 2, 3, 4, 5, 6, 7, 8, 10, 12]
    reasons = {i["participant_id"]: i["reasons"] for i in hosts["params"]["ineligible"]}
    assert reasons == {"H05": ["已取消资格：刷单"], "H03": ["注册地不在湘西州（区划代码430102）"],
                       "H01": ["净成交额10.00元，低于最低要求20.00元"]}

    enterprises = compute(org, kind="top_enterprises", scope="campaign", scope_key="taozi")
    assert [i["participant_id"] for i in enterprises["items"]] == ["E1"]
    assert {i["participant_id"]: i["reasons"] for i in enterprises["params"]["ineligible"]} == {"E2": ["未依法纳税"]}

    year = compute(org, kind="top_influencers", scope="year", scope_key="2026", min_order_count=2)
    assert [(i["participant_id"], i["metric_fen"]) for i in year["items"]] == [("H01", 51_000), ("H02", 2_500)]
    assert {i["participant_id"]: i["reasons"] for i in year["params"]["ineligible"]}["H05"] == [
        "已取消资格：百名网红湘西桃：刷单", "订单数1笔，低于最低要求2笔"]


# ---------------------------------------------------------------------------------------------
# Stations: quality scores entered by organizers, volume = the sales credited to the station's area.

def test_station_rating_quotas_scores_and_volume_from_sales(org):
    stack = org.stack
    s = stack.sessions
    ids = {}
    for county in ("433101", "433122", "433123"):
        ids[county] = places.add_station(s, kind="county_centre", region_code=county, name=f"{county}运营中心")["id"]
    places.add_region(s, code="433101001", name="乾州街道", parent_code="433101")
    places.add_region(s, code="433101002", name="石家冲街道", parent_code="433101")
    t1 = places.add_station(s, kind="township_station", region_code="433101001", name="乾州服务站")["id"]
    t2 = places.add_station(s, kind="township_station", region_code="433101002", name="石家冲服务站")["id"]
    # E1 is registered in 乾州街道, E4 in 石家冲街道: their sales of 吉首 products are credited there
    assert import_participants(s, [
        {"kind": "enterprise", "id": "E1", "name": "乾州茶业", "county": "433101", "region_code": "433101001"},
        {"kind": "enterprise", "id": "E4", "name": "石家冲腊肉", "county": "433101", "region_code": "433101002"},
        {"kind": "enterprise", "id": "E2", "name": "泸溪椪柑"}]).bad_rows == 0
    post_and_drain(stack, [paid("c", "E1", 600_000, at(2026, 3, 1), county="433101"),
                           paid("c", "E4", 40_000, at(2026, 3, 1), county="433101"),
                           paid("c", "E2", 300_000, at(2026, 3, 1), county="433122"),
                           paid("c", "E1", 900_000, at(2025, 3, 1), county="433123")])  # another year
    scores = {ids["433101"]: "80", ids["433122"]: "100", ids["433123"]: "90", t1: "70.5"}
    for station_id, score in scores.items():
        r = org.api("PUT", f"/stations/{station_id}/scores/2026", role="operator", json={"quality_score": score})
        assert r.status_code == 200, r.text
    bad = org.api("PUT", f"/stations/{t2}/scores/2026", json={"quality_score": "101"})
    assert bad.status_code == 400 and bad.json()["error"]["message"] == "服务质量评分应为 0–100 的数字，最多两位小数"
    typed = org.api("PUT", f"/stations/{t2}/scores/2026", json={"quality_score": "60", "volume_fen": 10})
    assert typed.status_code == 400 and "volume_fen" in typed.json()["error"]["details"]  # no hand-typed volumes

    result = compute(org, kind="station_rating", scope="year", scope_key="2026")
    # composite = 60 × volume / best volume + 0.4 × quality
    # 433101 (640,000 = its two townships): 60 + 32 = 92; 433122: 60 × 300/640 + 40 = 68.125; 433123 sold nothing
    assert [(i["name"], i["amount_fen"], i["metric_fen"], i["detail"]["composite_score"]) for i in result["items"]] == [
        ("433101运营中心", wan_yuan(8), 640_000, "92.00"), ("433122运营中心", wan_yuan(8), 300_000, "68.13"),
        ("乾州服务站", wan_yuan(3), 600_000, "88.20")]
    others = {o["name"]: o.get("reasons") for o in result["params"]["not_rewarded"]}
    assert others == {"433123运营中心": ["无交易业绩"], "石家冲服务站": ["未录入服务质量评分"]}
    page = org.console("viewer-user").get(f"{org.base_url}/console/awards/stations?year=2026", timeout=30).text
    assert "乾州服务站" in page and "6,000.00元" in page and "6,400.00元" in page


# ---------------------------------------------------------------------------------------------
# Publication: the state machine, immutability, versions, adjustments, reviews, audit.

def test_publication_workflow_adjustments_reviews_and_audit(org):
    stack = org.stack
    _register_enterprises(stack)
    post_and_drain(stack, [paid("c", "E1", wan_yuan(1500), at(2026, 2, 1)),
                           paid("c", "E3", wan_yuan(3100), at(2026, 2, 1))])
    draft = compute(org, kind="sales_milestone", scope="year", scope_key="2026")
    list_id = draft["id"]

    def move(state, role="operator", **dates):
        return org.api("POST", f"/awards/{list_id}/transition", role=role, json={"state": state, **dates})

    refused = [(move("notice", notice_start="2026-01-01", notice_end="2026-01-07"), 409,
                "奖项名单不能从“草稿”改为“公示中”（可改为：已冻结）"),
               (move("final", role="admin"), 409, "奖项名单不能从“草稿”改为“已定稿”（可改为：已冻结）")]
    for response, status, message in refused:
        assert (response.status_code, response.json()["error"]["message"]) == (status, message)
    assert move("final").status_code == 403  # 定稿 is for admins
    assert move("frozen").json()["state"] == "frozen"
    assert move("final", role="admin").json()["error"]["message"] == \
        "奖项名单不能从“已冻结”改为“已定稿”（可改为：草稿、公示中）"
    locked = org.api("POST", "/awards/compute", json={"kind": "sales_milestone", "scope": "year", "scope_key": "2026"})
    assert locked.status_code == 409 and locked.json()["error"]["message"] == "电商企业年度销售额首次突破奖励第 1 版已冻结，不能重新计算；请先退回草稿"
    assert move("notice").json()["error"]["message"] == "进入公示须填写公示开始和结束日期"
    future = (date.today() + timedelta(days=30)).isoformat()
    assert move("notice", notice_start="2026-01-01", notice_end=future).json()["state"] == "notice"
    early = move("final", role="admin")
    assert early.status_code == 409 and early.json()["error"]["message"] == f"公示期至 {future} 止，公示期满后才能定稿"

    # review steps in the seeds' order, each recorded with who and when
    def review(step, decision="approved", pid="E1", role="operator"):
        return org.api("POST", f"/awards/{list_id}/reviews", role=role,
                       json={"participant_id": pid, "step": step, "decision": decision, "note": "材料齐全"})

    assert review("expert_review").json()["error"]["message"] == "请先完成“县市区初审”，再记录“专家评审”"
    for step in ("county_prereview", "prefecture_office", "expert_review", "government_approval"):
        assert review(step).status_code == 201
    assert review("county_prereview").status_code == 409
    item = org.api("GET", f"/awards/{list_id}").json()["items"][0]
    assert [(r["step_name"], r["decision_name"], r["reviewer"]) for r in item["reviews"]] == [
        ("县市区初审", "通过", "operator-user"), ("州开放型经济领导小组办公室审核", "通过", "operator-user"),
        ("专家评审", "通过", "operator-user"), ("州政府审定", "通过", "operator-user")]

    assert move("draft").status_code == 200  # an objection during the notice: back to draft
    assert move("frozen").status_code == 200
    assert move("notice", notice_start="2026-01-01", notice_end="2026-01-07").status_code == 200
    final = move("final", role="admin").json()
    assert final["state"] == "final" and final["finalized_at"]
    assert move("draft").json()["error"]["message"] == "奖项名单不能从“已定稿”改为“草稿”（可改为：无）"
    assert review("county_prereview", pid="E3").json()["error"]["message"] == "名单已定稿，不能再修改"

    # adjustments: admin only, reason required, a final list gets a new version
    body = {"participant_id": "E3", "amount_fen": wan_yuan(8), "reason": "企业申报材料核减"}
    assert org.api("POST", f"/awards/{list_id}/adjustments", role="operator", json=body).status_code == 403
    no_reason = org.api("POST", f"/awards/{list_id}/adjustments", json={**body, "reason": ""})
    assert no_reason.status_code == 400 and no_reason.json()["error"]["details"] == {"reason": ["长度应在 1 到 500 之间"]}
    adjusted = org.api("POST", f"/awards/{list_id}/adjustments", json=body)
    assert adjusted.status_code == 201
    v2 = adjusted.json()
    assert (v2["version"], v2["state"], v2["based_on_id"]) == (2, "draft", list_id)
    e3 = next(i for i in v2["items"] if i["participant_id"] == "E3")
    assert (e3["amount_fen"], e3["adjusted"], e3["adjustment_reason"], e3["adjusted_by"]) == (
        wan_yuan(8), True, "企业申报材料核减", "admin-user")
    v1 = org.api("GET", f"/awards/{list_id}").json()
    assert [i["amount_fen"] for i in v1["items"]] == [wan_yuan(5), wan_yuan(10)] and v1["state"] == "final"
    again = org.api("POST", f"/awards/{list_id}/adjustments", json=body)
    assert again.status_code == 409 and again.json()["error"]["message"] == "该名单已有第 2 版，请在最新版本上调整"

    entries = audit.list_entries(stack.sessions, target_type="award_items", target_id=str(e3["id"]))
    update = next(e for e in entries if e["action"] == "update")
    assert update["actor"] == "admin-user"
    changed = {k: (update["before"][k], update["after"][k]) for k in update["before"]
               if update["before"][k] != update["after"][k]}
    assert changed == {"amount_fen": (wan_yuan(10), wan_yuan(8)), "adjusted": (False, True),
                       "adjustment_reason": (None, "企业申报材料核减"), "adjusted_by": (None, "admin-user")}
    states = [(e["before"] or {}).get("state") for e in audit.list_entries(stack.sessions, target_type="award_lists",
                                                                          target_id=str(list_id))
              if e["action"] == "update"]
    assert states[:2] == ["notice", "frozen"]  # newest first: ... frozen -> notice -> final


# ---------------------------------------------------------------------------------------------
# Exports: xlsx read back, the certificate renders to an image, the CLI writes the same files.

def _png_has_ink(pdf: bytes, tmp_path: Path) -> Image.Image:
    source = tmp_path / "certificate.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-singlefile", str(source), str(tmp_path / "page")], check=True)
    image = Image.open(tmp_path / "page.png").convert("RGB")
    assert image.width > image.height  # A4 landscape
    gray = image.convert("L").histogram()
    assert sum(gray) - gray[255] > 1000  # pixels that are not white: the border, the title, the text
    return image


def test_exports_xlsx_pdf_from_api_cli_and_console(org, tmp_path):
    stack = org.stack
    _register_enterprises(stack)
    places.add_region(stack.sessions, code="433101001", name="乾州街道", parent_code="433101")
    post_and_drain(stack, [paid("c", "E1", wan_yuan(1500), at(2026, 2, 1), county="433101"),
                           paid("c", "E3", wan_yuan(3100), at(2026, 2, 1), county="433126")])
    award = compute(org, kind="sales_milestone", scope="year", scope_key="2026")
    walk_to_final(org, award["id"])
    for code, target in (("433100", wan_yuan(10000)), ("433101", wan_yuan(1200)), ("433126", wan_yuan(4000))):
        assert org.api("PUT", f"/targets/{code}/2026", json={"annual_target_fen": target}).status_code == 200

    export = org.api("GET", f"/awards/{award['id']}/export.xlsx", role="viewer")
    assert export.headers["Content-Disposition"] == (
        f'attachment; filename="award-list-{award["id"]}-v1.xlsx"; filename*=UTF-8\'\''
        + quote("2026年度-电商企业年度销售额首次突破奖励名单-第1版-已定稿.xlsx", safe=""))
    sheet = load_workbook(io.BytesIO(export.content)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "2026 年度电商企业年度销售额首次突破奖励名单（第 1 版）"
    assert rows[1][0].startswith("名单状态：已定稿")
    assert rows[2][:9] == ["序号", "编号", "名称", "奖项类别", "县市", "奖励金额（元）", "其中本版新增（元）",
                           "年度销售额（万元）", "状态"]
    assert rows[3][:9] == [1, "E1", "湘西企业1", "突破1000万元", "吉首市", 50000, 50000, 1500, "入选"]
    assert rows[4][:9] == [2, "E3", "湘西企业3", "突破3000万元", "吉首市", 100000, 100000, 3100, "入选"]
    assert rows[5][2] == "合计：入选 2 个" and rows[5][5:7] == [150000, 150000]

    progress = org.api("GET", "/targets/progress?year=2026", role="viewer").json()
    by_code = {r["code"]: r for r in progress["regions"]}
    assert by_code["433100"]["label"] == "完成年度任务的 46.0%"  # (1500 + 3100) / 10000
    assert by_code["433101"]["label"] == "完成年度任务的 125.0%"
    assert by_code["433126"]["label"] == "完成年度任务的 77.5%"
    assert by_code["433101001"]["label"] is None
    targets = org.api("GET", "/targets/progress.xlsx?year=2026")
    assert targets.headers["Content-Disposition"].endswith(quote("2026年度网络销售目标完成情况.xlsx", safe=""))
    target_rows = {r[0]: r for r in load_workbook(io.BytesIO(targets.content)).active.iter_rows(min_row=4,
                                                                                                values_only=True)}
    assert target_rows["433126"][5:] == (4000, 3100, 3100, 0.775, "完成年度任务的 77.5%")
    assert target_rows["433101001"][:5] == ("433101001", "乾州街道", "乡镇", "吉首市", "吉首市")

    pdf = org.api("GET", f"/awards/{award['id']}/certificates/E1.pdf", role="viewer")
    assert pdf.headers["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"].endswith(
        quote("电商企业年度销售额首次突破奖励荣誉证书-湘西企业1-E1.pdf", safe=""))
    _png_has_ink(pdf.content, tmp_path)
    assert org.api("GET", f"/awards/{award['id']}/certificates/E9.pdf").status_code == 404

    out = tmp_path / "cli" / "awards.xlsx"
    printed = stack.cli("awards", "export", "--list-id", str(award["id"]), "--out", str(out),
                        "--certificates", str(tmp_path / "certs"))
    assert "已导出" in printed
    assert [r[1] for r in load_workbook(out).active.iter_rows(min_row=4, max_row=5, values_only=True)] == ["E1", "E3"]
    assert sorted(p.name for p in (tmp_path / "certs").iterdir()) == [
        "电商企业年度销售额首次突破奖励荣誉证书-湘西企业1-E1.pdf", "电商企业年度销售额首次突破奖励荣誉证书-湘西企业3-E3.pdf"]

    console = org.console("viewer-user")
    page = console.get(f"{org.base_url}/console/awards/{award['id']}", timeout=30)
    assert page.status_code == 200 and "已定稿" in page.text and "湘西企业3" in page.text
    assert console.get(f"{org.base_url}/console/awards", timeout=30).status_code == 200
    assert "完成年度任务的 77.5%" in console.get(f"{org.base_url}/console/awards/targets?year=2026", timeout=30).text
    download = console.get(f"{org.base_url}/console/awards/{award['id']}/certificates/E3.pdf", timeout=30)
    assert download.content.startswith(b"%PDF")
    xlsx = console.get(f"{org.base_url}/console/awards/{award['id']}/export.xlsx", timeout=30)
    assert load_workbook(io.BytesIO(xlsx.content)).active["B4"].value == "E1"


def test_award_operations_are_documented_and_guarded(org):
    document = requests.get(f"{org.base_url}/v1/openapi.json", timeout=30).json()
    assert {"/v1/admin/awards", "/v1/admin/awards/compute", "/v1/admin/awards/{list_id}/transition",
            "/v1/admin/awards/{list_id}/adjustments", "/v1/admin/awards/{list_id}/reviews",
            "/v1/admin/targets/progress", "/v1/admin/targets/import",
            "/v1/admin/campaigns/{slug}/fraud-signals"} <= set(document["paths"])
    assert "multipart/form-data" in document["paths"]["/v1/admin/targets/import"]["post"]["requestBody"]["content"]
    values = {"list_id": "1", "participant_id": "E1", "station_id": "1", "year": "2026", "region_code": "433101",
              "slug": "c", "entry_id": "1", "application_id": "1", "file_id": "1", "enterprise_id": "E1",
              "holder": "prefecture", "username": "viewer-user"}
    for op in AWARD_OPERATIONS:
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], op.rule)
        assert org.api(op.method, path, role=None, json={}).status_code == 401, op.rule
        if op.writes:
            response = org.api(op.method, path, role="viewer", json={})
            assert response.status_code == 403 and response.json()["error"]["message"] == "当前角色无权执行此操作"
