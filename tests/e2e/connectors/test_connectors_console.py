"""平台对接 in Debian's chromium: an admin creates a 抖店 connection through the form, reads the
push URL, runs the self-test against the fake platform, and sees a push arrive in the status;
a viewer sees the page but no form. Screenshots go to LIVEBOARD_SCREENSHOT_DIR when set."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from connectors.worker import ConnectorWorker
from tests.e2e.conftest import build_stack
from tests.e2e.connectors.helpers import CAMPAIGN, HOST_ACCOUNT, connector_topics, register
from tests.e2e.organizer.conftest import PASSWORD, make_org
from tests.fakes.platforms.base import SeedItem, SeedOrder
from tests.fakes.platforms.douyin_shop import FakeDouyinShop

pytestmark = pytest.mark.e2e


def _fill(driver, element_id: str, value: str) -> None:
    field = driver.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(value)


def _shot(driver, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("LIVEBOARD_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(folder / f"{name}.png"))


def _log_in(browser, wait, base: str, username: str) -> None:
    browser.get(f"{base}/console/login")
    wait.until(EC.presence_of_element_located((By.ID, "login-form")))
    _fill(browser, "username", username)
    _fill(browser, "password", PASSWORD)
    browser.find_element(By.ID, "login-submit").click()
    wait.until(EC.presence_of_element_located((By.ID, "health")))


def test_connectors_page_in_chromium(browser, tmp_path, request):
    stack = build_stack("embedded", tmp_path, request, **connector_topics())
    make_org(stack)
    register(stack, "douyin")
    wait = WebDriverWait(browser, 30)
    with FakeDouyinShop() as fake:
        try:
            base = stack.base_url
            _log_in(browser, wait, base, "admin-user")
            browser.find_element(By.LINK_TEXT, "平台对接").click()
            wait.until(EC.presence_of_element_located((By.ID, "connector-form")))
            _fill(browser, "c-name", "dy-guzhang")
            _fill(browser, "c-shop", fake.shop_id)
            _fill(browser, "c-enterprise", "E1")
            _fill(browser, "c-base", fake.url)
            browser.find_element(By.CSS_SELECTOR, "#c-county option[value='433126']").click()
            browser.find_element(By.CSS_SELECTOR, f"input[name='campaigns'][value='{CAMPAIGN}']").click()
            _fill(browser, "cred-app_key", fake.app_key)
            _fill(browser, "cred-app_secret", fake.app_secret)
            browser.find_element(By.ID, "connector-create").click()

            push_url = wait.until(EC.presence_of_element_located((By.ID, "push-url"))).text
            assert push_url == f"{base}/v1/connectors/dy-guzhang/push"
            assert "平台连接 dy-guzhang 已创建" in browser.page_source
            assert fake.app_secret not in browser.page_source  # shown never again, not even to the admin

            browser.find_element(By.ID, "self-test").click()
            result = wait.until(EC.presence_of_element_located((By.ID, "self-test-result"))).text
            assert "自检结果：通过" in result and "平台接口令牌" in result and "推送验证" in result
            _shot(browser, tmp_path, "connector-self-test")

            # a push arrives: the status shows it, the worker takes it in
            fake.add_order(SeedOrder("6921000000000000001", [SeedItem("6921000000000000002", "3001", "古丈毛尖 250g",
                                                                      1, 9900, host_id=HOST_ACCOUNT)],
                                     paid_at=int(time.time()) - 60, updated_at=int(time.time())))
            assert fake.push_paid(push_url, "6921000000000000001").status == 200
            worker = ConnectorWorker(stack.runtime)
            worker.run_until_idle()
            worker.close()
            browser.get(f"{base}/console/connectors")
            table = wait.until(EC.presence_of_element_located((By.ID, "connections"))).text
            assert "dy-guzhang" in table and "抖店" in table and "4463798 → E1" in table
            _shot(browser, tmp_path, "connectors-list")
            browser.get(f"{base}/console/connectors/dy-guzhang")
            messages = wait.until(EC.presence_of_element_located((By.ID, "messages"))).text
            assert "6921000000000000001" in messages and "完成" in messages
            assert browser.find_element(By.ID, "pending").text == "0"
            _shot(browser, tmp_path, "connector-detail")

            # a viewer reads the page; creating and testing are not offered
            browser.delete_all_cookies()
            _log_in(browser, wait, base, "viewer-user")
            browser.get(f"{base}/console/connectors")
            wait.until(EC.presence_of_element_located((By.ID, "connections")))
            assert not browser.find_elements(By.ID, "connector-form")
            browser.get(f"{base}/console/connectors/dy-guzhang")
            wait.until(EC.presence_of_element_located((By.ID, "push-url")))
            assert not browser.find_elements(By.ID, "self-test")
        finally:
            stack.close()
