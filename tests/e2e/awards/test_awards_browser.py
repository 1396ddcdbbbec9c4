"""Every awards page in Debian's chromium (headless): seeded with a ledger, applications, budgets,
regions, stations, milestones and a county user, each page is loaded, checked for its key content
and the absence of template errors, and screenshotted (LIVEBOARD_SCREENSHOTS=dir keeps them)."""
from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from configstore import accounts, places, registry
from configstore.participants_import import import_participants
from domain.money import wan_yuan
from tests.e2e.awards.test_awards import at, compute, paid, post_and_drain, walk_to_final
from tests.e2e.organizer.conftest import PASSWORD

pytestmark = pytest.mark.e2e


def _login(browser, base: str, username: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{base}/console/login")
    wait = WebDriverWait(browser, 30)
    wait.until(EC.presence_of_element_located((By.ID, "login-form")))
    for field, value in (("username", username), ("password", PASSWORD)):
        element = browser.find_element(By.ID, field)
        element.clear()
        element.send_keys(value)
    browser.find_element(By.ID, "login-submit").click()
    wait.until(EC.url_contains("/console/"))


def _seed(org) -> dict:
    s = org.sessions
    places.add_region(s, code="433101001", name="乾州街道", parent_code="433101")
    places.add_region(s, code="433101001002", name="乾元村", parent_code="433101001")
    assert import_participants(s, [
        {"kind": "enterprise", "id": "S8", "name": "湘西香伴电子商务有限公司", "county": "433101",
         "region_code": "433101001", "依法纳税(2025)": "是", "依法纳税(2026)": "是"},
        {"kind": "enterprise", "id": "E2", "name": "古丈毛尖茶业有限公司", "county": "433126"},
        {"kind": "host", "id": "H01", "name": "茶妹小田", "county": "433101", "region_code": "433101001002"}],
    ).bad_rows == 0
    registry.upsert_campaign(s, slug="qcqh", name="千村千红·湘西香伴", first_day=date(2026, 1, 1),
                             last_day=date(2026, 12, 31))
    station = places.add_station(s, kind="township_station", region_code="433101001", name="乾州电商服务站")
    org.api("PUT", f"/stations/{station['id']}/scores/2026", json={"quality_score": "86.5"})
    post_and_drain(org.stack, [paid("qcqh", "S8", wan_yuan(1100), at(2025, 5, 1)),
                               paid("qcqh", "S8", wan_yuan(3200), at(2026, 5, 1)),
                               paid("qcqh", "E2", wan_yuan(1500), at(2026, 5, 1), county="433126")])
    v2025 = compute(org, kind="sales_milestone", scope="year", scope_key="2025")
    walk_to_final(org, v2025["id"])
    v2026 = compute(org, kind="sales_milestone", scope="year", scope_key="2026")
    app = org.api("POST", "/applications", json={"reward_code": "demo_enterprise_provincial", "year": 2026,
                                                 "recipient_id": "S8", "summary": "2025 年获评湖南省电子商务示范企业"}).json()
    org.api("POST", f"/applications/{app['id']}/files",
            files={"file": ("湖南省商务厅认定文件.pdf", b"%PDF-1.4\n%%EOF\n")})
    org.api("POST", f"/applications/{app['id']}/steps", json={"step": "county_prereview", "decision": "approved",
                                                              "note": "材料齐全"})
    org.api("PUT", "/budget/prefecture/2026", json={"amount_fen": wan_yuan(900)})
    org.api("PUT", "/campaigns/qcqh/host-milestones", json={"amounts_fen": [wan_yuan(10), wan_yuan(50)]})
    accounts.create_user(s, "luxi-op", PASSWORD, "operator")
    accounts.set_counties(s, "luxi-op", ["433122"])
    return {"list_id": v2026["id"], "final_id": v2025["id"], "application_id": app["id"]}


PAGES = [
    # path, text that must be on it
    ("/console/awards", "奖项名单"),
    ("/console/awards/{list_id}", "待核实"),
    ("/console/awards/{final_id}", "已定稿"),
    ("/console/awards/catalogue", "国家级电子商务示范企业"),
    ("/console/awards/ledger", "年度销售额首次突破1000万元"),
    ("/console/awards/enterprises/S8", "纳税状态（按年度）"),
    ("/console/awards/applications", "省级电子商务示范企业"),
    ("/console/awards/applications/{application_id}", "湖南省商务厅认定文件.pdf"),
    ("/console/awards/budget?year=2026", "州级专项资金"),
    ("/console/awards/stations?year=2026", "乾州电商服务站"),
    ("/console/awards/regions", "乾元村"),
    ("/console/awards/milestones?campaign=qcqh", "累计成交额达到10万元"),
    ("/console/awards/county-users", "泸溪县"),
    ("/console/awards/targets?year=2026", "湖南省"),
    ("/console/participants?board=enterprises", "2026：依法纳税"),
    ("/console/places", "市州"),
]


def test_every_awards_page_in_chromium(org, browser, tmp_path):
    ids = _seed(org)
    shots = Path(os.environ.get("LIVEBOARD_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    _login(browser, org.base_url, "admin-user")
    for path, expected in PAGES:
        browser.get(org.base_url + path.format(**ids))
        body = browser.find_element(By.TAG_NAME, "body").text
        assert expected in body, (path, body[:400])
        assert "Traceback" not in body and "服务器内部错误" not in body
        name = path.strip("/").split("?")[0].replace("/", "_").format(**ids)
        browser.save_screenshot(str(shots / f"{name}.png"))
    # a county user of another county: their own pages, and the 403 page for 吉首's application
    _login(browser, org.base_url, "luxi-op")
    browser.get(f"{org.base_url}/console/awards/applications")
    assert "湘西香伴" not in browser.find_element(By.TAG_NAME, "body").text
    browser.save_screenshot(str(shots / "county_applications.png"))
    browser.get(f"{org.base_url}/console/awards/applications/{ids['application_id']}")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "无权访问" in body and "县市账号只能处理本县市（泸溪县）的申报" in body
    browser.save_screenshot(str(shots / "county_forbidden.png"))
