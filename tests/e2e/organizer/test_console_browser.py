"""The organizer's first hour in Debian's chromium (Selenium + chromedriver, headless): log in,
create a campaign, import 100 hosts from .xlsx with 3 bad rows, create a source, post signed
events to it over HTTP, and see them on the board."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from openpyxl import Workbook
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from liveboard.sender import WebhookSender
from scheduler.ranking_job import publish_all
from tests.e2e.organizer.conftest import PASSWORD
from tests.support import order_event

pytestmark = pytest.mark.e2e
SHANGHAI = timezone(timedelta(hours=8))
BAD_ROWS = {17: ("county", "12345"), 42: ("name", ""), 88: ("accounts", "tiktok:xx")}  # 1-based host numbers
FIELD_NAMES = {"county": "县市", "name": "名称", "accounts": "平台账号"}


def _hosts_workbook(path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["类型", "编号", "名称", "县市代码", "平台账号"])
    for n in range(1, 101):
        row = {"kind": "主播", "id": f"H{n:03d}", "name": f"主播{n:03d}", "county": "433126",
               "accounts": f"douyin:dy-{n:03d}"}
        if n in BAD_ROWS:
            field, value = BAD_ROWS[n]
            row[field] = value
        sheet.append([row["kind"], row["id"], row["name"], row["county"], row["accounts"]])
    book.save(path)


def _fill(driver, element_id: str, value: str) -> None:
    field = driver.find_element(By.ID, element_id)
    if field.get_attribute("type") in ("date", "datetime-local"):  # a date picker: typed keys follow the locale
        driver.execute_script("arguments[0].value = arguments[1];"
                              "arguments[0].dispatchEvent(new Event('change', {bubbles: true}));", field, value)
        return
    field.clear()
    field.send_keys(value)


def test_organizer_first_hour_in_chromium(org_both, browser, tmp_path):
    org, base = org_both, org_both.base_url
    wait = WebDriverWait(browser, 30)

    browser.get(f"{base}/console/")
    wait.until(EC.presence_of_element_located((By.ID, "login-form")))
    _fill(browser, "username", "admin-user")
    _fill(browser, "password", PASSWORD)
    browser.find_element(By.ID, "login-submit").click()
    wait.until(EC.presence_of_element_located((By.ID, "health")))

    # a campaign: created as a draft, then activated
    today = datetime.now(SHANGHAI).date()
    browser.get(f"{base}/console/campaigns/new")
    _fill(browser, "slug", "qcqh-browser")
    _fill(browser, "name", "千村千红·湘西香伴")
    _fill(browser, "first_day", (today - timedelta(days=1)).isoformat())
    _fill(browser, "last_day", (today + timedelta(days=10)).isoformat())
    browser.find_element(By.ID, "campaign-save").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "campaign-status"), "草稿"))
    browser.find_element(By.ID, "to-active").click()
    wait.until(EC.alert_is_present()).accept()  # activating makes the boards public: it asks first
    wait.until(EC.text_to_be_present_in_element((By.ID, "campaign-status"), "进行中"))

    # 100 hosts from .xlsx, 3 of them bad
    workbook = tmp_path / "主播名单.xlsx"
    _hosts_workbook(workbook)
    browser.get(f"{base}/console/participants")
    browser.find_element(By.ID, "import-file").send_keys(str(workbook))
    browser.find_element(By.ID, "import-submit").click()
    wait.until(EC.presence_of_element_located((By.ID, "import-report")))
    assert browser.find_element(By.ID, "import-kept").text == "97"
    assert browser.find_element(By.ID, "import-bad").text == "3"
    reported = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
                for tr in browser.find_elements(By.CSS_SELECTOR, "#import-errors tbody tr")]
    # the column is named in Chinese, as on the template (县市代码 -> 县市, name -> 名称, accounts -> 平台账号)
    assert [(int(row), field) for row, field, _ in reported] == [(n + 1, FIELD_NAMES[BAD_ROWS[n][0]])
                                                                  for n in sorted(BAD_ROWS)]

    # a webhook source; its secret is shown once
    browser.get(f"{base}/console/sources")
    _fill(browser, "source-name", "douyin-shop")
    _fill(browser, "source-description", "抖店消息推送")
    browser.find_element(By.ID, "source-create").click()
    secret = wait.until(EC.presence_of_element_located((By.ID, "new-secret"))).text.strip()
    assert secret.startswith("whsec_")
    browser.get(f"{base}/console/sources")
    assert secret not in browser.page_source

    # a platform posts signed events; the writer and the ranking job run
    sender = WebhookSender(base, "douyin-shop", secret)
    events = [order_event(campaign="qcqh-browser", host=f"dy-{n:03d}", enterprise="E1", amount_fen=10000 * n)
              for n in (5, 9, 17, 23, 50)]  # H017 was a bad row: its sale stays unattributed
    assert all(sender.post(e).status_code == 202 for e in events)
    org.stack.drain(len(events))
    publish_all(org.sessions, org.stack.store)

    browser.get(f"{base}/boards/qcqh-browser")
    wait.until(EC.text_to_be_present_in_element((By.ID, "board-hosts"), "主播050"))
    names = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "#board-hosts tbody tr")]
    assert [re.search(r"主播\d{3}", n).group(0) for n in names] == ["主播050", "主播023", "主播009", "主播005"]
    assert "主播017" not in " ".join(names)

    # the console shows the same board, the ingestion health and the audit log
    browser.get(f"{base}/console/campaigns/qcqh-browser")
    assert browser.find_element(By.ID, "board-link").get_attribute("href").endswith("/boards/qcqh-browser")
    assert "主播050" in browser.find_element(By.ID, "top-hosts").text
    browser.get(f"{base}/console/")
    assert browser.find_element(By.ID, "h-accepted").text == "5"
    # no enterprise was imported, so every sale is unattributed on the enterprise board (H017's on both)
    assert browser.find_element(By.ID, "h-unattributed").text == "10,400.00"
    browser.get(f"{base}/console/unattributed")
    table = browser.find_element(By.ID, "unattributed").text
    assert "dy-017" in table and "达人未登记；企业未登记" in table and "企业未登记" in table
    # the audit log speaks Chinese: object names, not table names; changed fields, not JSON
    browser.get(f"{base}/console/audit?target_type=webhook_secrets")
    audit_text = browser.find_element(By.ID, "audit").text
    assert "admin-user" in audit_text and "数据来源密钥" in audit_text and "（已更改，内容不显示）" in audit_text
    browser.get(f"{base}/console/audit?target_type=hosts&target_id=H100")
    assert "主播 H100 主播100" in browser.find_element(By.ID, "audit").text
    browser.get(f"{base}/console/audit?target_type=campaigns")
    audit_text = browser.find_element(By.ID, "audit").text
    assert audit_text.count("活动 qcqh-browser") == 2 and "状态 草稿 → 进行中" in audit_text
    assert secret not in browser.page_source
