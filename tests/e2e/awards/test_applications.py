"""Applications through every review step in the console, each by a user of the right role and county;
a county user of another county is refused (403) at each step; the approved grant lands in the ledger
and the budget; same-type rules across applications; evidence files checked."""
from __future__ import annotations

import io
import re
import zipfile

import pytest

from configstore import accounts, audit
from configstore.participants_import import import_participants
from domain.money import wan_yuan
from tests.e2e.organizer.conftest import PASSWORD, csrf_token

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def county_user(org, username: str, role: str, county: str) -> None:
    accounts.create_user(org.sessions, username, PASSWORD, role)
    accounts.set_counties(org.sessions, username, [county])


class Browser:
    """One logged-in console user: GETs, and POSTs forms with the page's CSRF token."""

    def __init__(self, org, username: str):
        self.org, self.http = org, org.console(username)
        self.token = csrf_token(self.http.get(f"{org.base_url}/console/", timeout=30).text)

    def get(self, path: str):
        return self.http.get(self.org.base_url + path, timeout=30, allow_redirects=False)

    def post(self, path: str, data: dict | None = None, files: dict | None = None):
        return self.http.post(self.org.base_url + path, data={"csrf_token": self.token, **(data or {})}, files=files,
                              timeout=30, allow_redirects=False)

    def flashes(self, path: str) -> list[str]:
        return re.findall(r'<div class="flash (?:ok|error)" role="status">([^<]*)</div>', self.get(path).text)


@pytest.fixture
def bureau(org):
    """Enterprises in 吉首市 (433101); users: a 吉首 operator, a 泸溪 (433122) operator and admin."""
    assert import_participants(org.sessions, [
        {"kind": "enterprise", "id": "E1", "name": "吉首湘西香伴电商有限公司", "county": "433101"},
        {"kind": "enterprise", "id": "E5", "name": "泸溪椪柑合作社", "county": "433122"}]).bad_rows == 0
    county_user(org, "jishou-op", "operator", "433101")
    county_user(org, "luxi-op", "operator", "433122")
    county_user(org, "luxi-admin", "admin", "433122")
    return org


def step(browser: Browser, app_id: int, name: str, decision: str = "approved", **extra):
    return browser.post(f"/console/awards/applications/{app_id}/step",
                        {"step": name, "decision": decision, "note": f"{name} 意见", **extra})


def test_an_application_through_every_step_by_the_right_users_into_the_ledger_and_the_budget(bureau):
    org = bureau
    jishou, luxi, luxi_admin = Browser(org, "jishou-op"), Browser(org, "luxi-op"), Browser(org, "luxi-admin")
    office, admin = Browser(org, "operator-user"), Browser(org, "admin-user")

    # 吉首's operator applies for the national and the provincial demonstration-enterprise rewards
    ids = []
    for code in ("demo_enterprise_national", "demo_enterprise_provincial"):
        created = jishou.post("/console/awards/applications/new",
                              {"reward_code": code, "year": "2026", "recipient_id": "E1", "summary": "2025 年获评"})
        assert created.status_code == 302, created.text
        ids.append(int(created.headers["Location"].rsplit("/", 1)[-1]))
    national, provincial = ids
    # another county cannot apply for 吉首's enterprise
    assert luxi.post("/console/awards/applications/new", {"reward_code": "self_built_platform", "year": "2026",
                                                          "recipient_id": "E1"}).status_code == 403

    # evidence: a real PDF is kept, a PNG named .pdf is refused
    ok = jishou.post(f"/console/awards/applications/{national}/upload", files={"file": ("称号文件.pdf", PDF,
                                                                                       "application/pdf")})
    assert ok.status_code == 302
    jishou.post(f"/console/awards/applications/{national}/upload", files={"file": ("伪装.pdf", PNG, "application/pdf")})
    assert "文件内容与扩展名 .pdf 不符（只接受真实的 PDF、JPG、PNG、XLSX、DOCX 文件）" in jishou.flashes(
        f"/console/awards/applications/{national}")
    page = jishou.get(f"/console/awards/applications/{national}").text
    file_path = re.search(r'href="(/console/awards/applications/\d+/files/\d+)"', page).group(1)
    assert jishou.get(file_path).content == PDF

    def refused_everywhere(browser: Browser, expected_step: str):
        """The other county's users: 403 on the page, the file, the upload and the step."""
        for response in (browser.get(f"/console/awards/applications/{national}"), browser.get(file_path),
                         browser.post(f"/console/awards/applications/{national}/upload",
                                      files={"file": ("x.pdf", PDF, "application/pdf")}),
                         step(browser, national, expected_step)):
            assert response.status_code == 403, (browser, expected_step, response.status_code)
            assert "无权访问" in response.text and "吉首湘西香伴" not in response.text

    # 县市区初审: by 吉首's operator; 泸溪's users are refused
    refused_everywhere(luxi, "county_prereview")
    refused_everywhere(luxi_admin, "county_prereview")
    assert step(jishou, national, "county_prereview").status_code == 302
    assert step(jishou, provincial, "county_prereview").status_code == 302
    listed = luxi.get("/console/awards/applications")
    assert listed.status_code == 200 and "吉首湘西香伴" not in listed.text
    assert "吉首湘西香伴" in jishou.get("/console/awards/applications").text

    # the prefecture's steps: a county user (even of the right county) is refused; the prefecture records them
    for name in ("prefecture_office", "expert_review"):
        assert step(jishou, national, name).status_code == 403
        refused_everywhere(luxi, name)
        refused_everywhere(luxi_admin, name)
        for app_id in (national, provincial):
            assert step(office, app_id, name).status_code == 302
    assert step(office, national, "government_approval").status_code == 403  # approval is for an admin
    refused_everywhere(luxi_admin, "government_approval")

    # 州政府审定: the national one is approved (300,000); the provincial one is superseded
    assert step(admin, national, "government_approval").status_code == 302
    detail = org.api("GET", f"/applications/{national}", role="viewer").json()
    assert (detail["state"], detail["amount_fen"]) == ("approved", wan_yuan(30))
    lower = org.api("GET", f"/applications/{provincial}", role="viewer").json()
    assert (lower["state"], lower["superseded_by_id"]) == ("superseded", national)
    assert lower["decision_note"] == f"同类型更高一项申报 #{national}（国家级电子商务示范企业）已审定，就高不就低，不重复计算"
    entries = org.api("GET", "/ledger", role="viewer").json()["entries"]
    assert [(e["recipient_id"], e["reward_code"], e["amount_fen"], e["status"], e["application_id"])
            for e in entries] == [("E1", "demo_enterprise_national", wan_yuan(30), "pending", national)]

    # 资金兑付: by an admin; the ledger says paid, the budget counts it
    assert step(luxi_admin, national, "payment").status_code == 403
    assert step(admin, national, "payment", paid_on="2026-12-20", note="凭证 2026-118").status_code == 302
    detail = org.api("GET", f"/applications/{national}", role="viewer").json()
    assert detail["state"] == "paid"
    assert [(s["step_name"], s["actor"]) for s in detail["steps"]] == [
        ("县市区初审", "jishou-op"), ("州开放型经济领导小组办公室审核", "operator-user"), ("专家评审", "operator-user"),
        ("州政府审定", "admin-user"), ("资金兑付", "admin-user")]
    [entry] = org.api("GET", "/ledger", role="viewer").json()["entries"]
    assert (entry["status"], entry["status_note"]) == ("paid", "2026-12-20 支付；凭证 2026-118")
    prefecture = org.api("GET", "/budget?year=2026", role="viewer").json()["funds"][0]
    assert (prefecture["committed_fen"], prefecture["paid_fen"], prefecture["remaining_fen"]) == (
        wan_yuan(30), wan_yuan(30), wan_yuan(970))
    # every step is in the audit log, with who
    steps = audit.list_entries(org.sessions, target_type="award_application_steps")
    assert {e["actor"] for e in steps} == {"jishou-op", "operator-user", "admin-user"}
    files = audit.list_entries(org.sessions, target_type="award_application_files")
    assert files[0]["after"]["content"].startswith("sha256:")  # the evidence is fingerprinted, not copied


def test_same_type_lower_first_pays_the_difference_and_a_higher_one_in_review_blocks_the_lower(bureau):
    org = bureau

    def apply(code, year):
        response = org.api("POST", "/applications", role="operator",
                           json={"reward_code": code, "year": year, "recipient_id": "E1"})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def walk(app_id, until="expert_review"):
        for name in ("county_prereview", "prefecture_office", "expert_review", "government_approval"):
            response = org.api("POST", f"/applications/{app_id}/steps", role="admin",
                               json={"step": name, "decision": "approved"})
            assert response.status_code == 201, response.text
            if name == until:
                return response.json()

    provincial = apply("demo_enterprise_provincial", 2024)
    assert walk(provincial, "government_approval")["amount_fen"] == wan_yuan(20)
    national = apply("demo_enterprise_national", 2025)
    preview = org.api("GET", f"/applications/{national}", role="viewer").json()["same_type"]
    assert (preview["payable_fen"], preview["held_fen"]) == (wan_yuan(10), wan_yuan(20))
    approved = walk(national, "government_approval")
    assert approved["amount_fen"] == wan_yuan(10)  # 300,000 in total, never 500,000
    assert approved["decision_note"].startswith("就高不就低：“国家级电子商务示范企业”300,000.00元，扣除同类型已发放200,000.00元")
    total = sum(e["amount_fen"] for e in org.api("GET", "/ledger?recipient_id=E1", role="viewer").json()["entries"])
    assert total == wan_yuan(30)

    # a park: the provincial one cannot be approved while the national one is still in review
    org.api("POST", "/applications", json={"reward_code": "demo_park_national", "year": 2026, "recipient_id": "P1",
                                           "recipient_name": "湘西电商产业园", "county_code": "433101"})
    low = org.api("POST", "/applications", json={"reward_code": "demo_park_provincial", "year": 2026,
                                                 "recipient_id": "P1", "recipient_name": "湘西电商产业园",
                                                 "county_code": "433101"}).json()["id"]
    walk(low, "expert_review")
    blocked = org.api("POST", f"/applications/{low}/steps", json={"step": "government_approval", "decision": "approved"})
    assert blocked.status_code == 409 and blocked.json()["error"]["code"] == "higher_in_review"
    # computed rewards are not applied for
    computed = org.api("POST", "/applications", json={"reward_code": "sales_milestone_1", "year": 2026,
                                                      "recipient_id": "E1"})
    assert computed.status_code == 400


def test_application_api_for_county_users_and_evidence_checks(bureau):
    org = bureau
    tokens = {name: accounts.create_token(org.sessions, name, "t")[1] for name in ("jishou-op", "luxi-op")}

    def call(who, method, path, **kwargs):
        return org.api(method, path, role=None, headers={"Authorization": f"Bearer {tokens[who]}"}, **kwargs)

    created = call("jishou-op", "POST", "/applications",
                   json={"reward_code": "xiangxi_pavilion_branch", "year": 2026, "recipient_id": "E1",
                         "requested_amount_fen": wan_yuan(3)})
    assert created.status_code == 201 and created.json()["funding_name"] == "县市专项资金"
    app_id = created.json()["id"]
    assert call("luxi-op", "GET", f"/applications/{app_id}").status_code == 403
    assert call("luxi-op", "GET", "/applications").json()["applications"] == []
    assert [a["id"] for a in call("jishou-op", "GET", "/applications").json()["applications"]] == [app_id]
    assert call("luxi-op", "POST", f"/applications/{app_id}/steps",
                json={"step": "county_prereview", "decision": "approved"}).json()["error"]["code"] == "county_scope"
    # county users are kept out of prefecture-only routes altogether
    for method, path in (("GET", "/ledger"), ("GET", "/budget?year=2026"), ("POST", "/awards/compute")):
        response = call("jishou-op", method, path, json={})
        assert response.status_code == 403 and response.json()["error"]["code"] == "county_scope"

    def upload(name, content):
        return call("jishou-op", "POST", f"/applications/{app_id}/files", files={"file": (name, content)})

    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    assert upload("申报书.docx", docx.getvalue()).status_code == 201
    for name, content, code in (("a.exe", b"MZ", "unsupported_file"), ("a.docx", b"PK\x03\x04broken", "file_type_mismatch"),
                                ("big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024), "file_too_large"),
                                ("empty.pdf", b"", "empty_file")):
        response = upload(name, content)
        assert (response.status_code, response.json()["error"]["code"]) == (400, code), name
    assert len(call("jishou-op", "GET", f"/applications/{app_id}").json()["files"]) == 1
    # the open amount is set at approval, charged to 吉首's own fund
    for name in ("county_prereview", "prefecture_office", "expert_review"):
        assert org.api("POST", f"/applications/{app_id}/steps", json={"step": name, "decision": "approved"}).ok
    approved = org.api("POST", f"/applications/{app_id}/steps",
                       json={"step": "government_approval", "decision": "approved", "amount_fen": wan_yuan(2)})
    assert approved.json()["amount_fen"] == wan_yuan(2)
    funds = {f["holder"]: f for f in org.api("GET", "/budget?year=2026").json()["funds"]}
    assert (funds["433101"]["committed_fen"], funds["prefecture"]["committed_fen"]) == (wan_yuan(2), 0)


def test_an_approval_past_the_county_budget_is_refused_with_the_figures_until_confirmed(bureau):
    """Clause (十八) in the console: 吉首's fund is 5,000,000 (the default); an approval of 5,200,000
    is refused with the figures, nothing is committed; confirmed, it is approved, the confirmation is
    kept in the step's note and the budget shows the overrun."""
    org = bureau
    jishou, office, admin = Browser(org, "jishou-op"), Browser(org, "operator-user"), Browser(org, "admin-user")
    created = jishou.post("/console/awards/applications/new",
                          {"reward_code": "local_sales_support", "year": "2026", "recipient_id": "C1",
                           "recipient_name": "吉首椪柑专业合作社", "county_code": "433101",
                           "summary": "2026 年网上销售支持", "requested_amount_yuan": "5200000"})
    assert created.status_code == 302, created.text
    app_id = int(created.headers["Location"].rsplit("/", 1)[-1])
    assert step(jishou, app_id, "county_prereview").status_code == 302
    for name in ("prefecture_office", "expert_review"):
        assert step(office, app_id, name).status_code == 302
    page = f"/console/awards/applications/{app_id}"
    warning = ("吉首市专项资金2026年度预算5,000,000.00元，已承诺0.00元，本次5,200,000.00元后合计5,200,000.00元，"
               "将超出预算200,000.00元")

    refused = step(admin, app_id, "government_approval", amount_yuan="5200000")
    assert refused.status_code == 302
    assert f"{warning}。如确需审定，请确认超出预算后再提交" in admin.flashes(page)
    assert org.api("GET", f"/applications/{app_id}", role="viewer").json()["state"] == "expert_passed"
    assert org.api("GET", "/ledger", role="viewer").json()["entries"] == []
    api_refused = org.api("POST", f"/applications/{app_id}/steps",
                          json={"step": "government_approval", "decision": "approved", "amount_fen": wan_yuan(520)})
    assert api_refused.status_code == 409 and api_refused.json()["error"] == {
        "code": "over_budget", "message": f"{warning}。如确需审定，请确认超出预算后再提交"}

    confirmed = step(admin, app_id, "government_approval", amount_yuan="5200000", accept_over_budget="1")
    assert confirmed.status_code == 302
    detail = org.api("GET", f"/applications/{app_id}", role="viewer").json()
    assert (detail["state"], detail["amount_fen"]) == ("approved", wan_yuan(520))
    assert detail["steps"][-1]["note"] == f"government_approval 意见；【确认超出预算】{warning}"
    funds = {f["holder"]: f for f in org.api("GET", "/budget?year=2026", role="viewer").json()["funds"]}
    assert (funds["433101"]["committed_fen"], funds["433101"]["remaining_fen"], funds["433101"]["over"]) == (
        wan_yuan(520), -wan_yuan(20), True)
    assert funds["prefecture"]["committed_fen"] == 0
