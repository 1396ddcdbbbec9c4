"""One seeded stack and one chromium for the UI tests: the demo's 100 hosts and 128 enterprises,
a campaign two weeks in with ~1,500 orders (the launch evening included), a draft, an award list,
targets, a station, a disqualification, WeChat on a fake server; users of every role.

Screenshots go to $LIVEBOARD_UI_ARTIFACTS or tests/artifacts/ui/ (git-ignored); the path is
printed at the end of the run."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from configstore import awards as award_store
from configstore import places, registry
from connectors import service as connector_service
from domain.periods import SHANGHAI
from liveboard.demo_data import participants, participants_rows, sales_stream
from scheduler.ranking_job import publish_all
from services import awards as award_compute
from tests.conftest import CHROMEDRIVER, CHROMIUM
from tests.e2e.conftest import build_stack
from tests.e2e.mp_helpers import wechat_overrides
from tests.e2e.organizer.conftest import PASSWORD, make_org
from tests.e2e.ui import pagecheck
from tests.fakes.fake_wechat import FakeWeChat

SLUG, DRAFT = "qcqh-ui", "draft-ui"
CONNECTION = "douyin-guzhang-tea"
ORDERS = 1500
ARTIFACTS = Path(os.environ.get("LIVEBOARD_UI_ARTIFACTS") or Path(__file__).resolve().parents[2] / "artifacts" / "ui")
_shots: list[Path] = []


@dataclass
class Ui:
    org: object
    driver: webdriver.Chrome
    today: object

    @property
    def base_url(self) -> str:
        return self.org.base_url

    @property
    def stack(self):
        return self.org.stack

    def size(self, width: int, height: int) -> None:
        """The viewport in CSS pixels, exactly (window sizes include the browser's own chrome)."""
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})

    def open(self, path: str, *, board: bool = False) -> None:
        self.driver.get_log("browser")  # start each page with an empty log
        self.driver.get(self.base_url + path)
        wait = WebDriverWait(self.driver, 30)
        wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
        if board:
            wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded") == "1")
            time.sleep(0.3)  # the chart's first frame

    def shot(self, name: str, *, full: bool = False) -> Path:
        """A screenshot of the viewport, or of the whole page (the viewport stretched to its height)."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / (re.sub(r"[^\w.-]+", "_", name) + ".png")
        metrics = self.driver.execute_script("return [innerWidth, innerHeight, document.documentElement.scrollHeight]")
        if full and metrics[2] > metrics[1]:
            self.size(metrics[0], min(metrics[2], 8000))
            self.driver.save_screenshot(str(path))
            self.size(metrics[0], metrics[1])
        else:
            self.driver.save_screenshot(str(path))
        _shots.append(path)
        return path

    def problems(self, *, fit_height: bool = False, scroll_ok: bool = False, times: bool = True,
                 expected_status: int | None = None) -> list[str]:
        """Everything pagecheck finds wrong with the page now."""
        found = pagecheck.overflow_problems(self.driver, fit_height=fit_height, scroll_ok=scroll_ok)
        found += [f"browser log: {m}" for m in pagecheck.script_errors(self.driver, expected_status=expected_status)]
        if times:
            found += pagecheck.time_problems(pagecheck.visible_text(self.driver))
        found += pagecheck.message_problems(self.driver)
        return found

    def login(self, username: str = "admin-user") -> None:
        self.driver.delete_all_cookies()
        self.open("/console/login")
        self.driver.find_element(By.ID, "username").send_keys(username)
        self.driver.find_element(By.ID, "password").send_keys(PASSWORD)
        self.driver.find_element(By.ID, "login-submit").click()
        WebDriverWait(self.driver, 30).until(lambda d: "/console/login" not in d.current_url)


def _chromium() -> tuple[webdriver.Chrome, str]:
    profile = tempfile.mkdtemp(prefix="liveboard-ui-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 f"--user-data-dir={profile}", "--window-size=1440,1000", "--lang=zh-CN"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    return driver, profile


def seed(stack) -> None:
    sessions = stack.sessions
    today = datetime.now(SHANGHAI).date()
    first_day = today - timedelta(days=13)
    registry.upsert_campaign(sessions, slug=SLUG, name="千村千红·湘西香伴 湘西州本土网货直播带货工程",
                             first_day=first_day, last_day=today + timedelta(days=16), status="active")
    registry.create_campaign(sessions, slug=DRAFT, name="百名网红湘西桃直播活动", first_day=today + timedelta(days=20),
                             last_day=today + timedelta(days=40))
    hosts, enterprises = participants()
    rows = participants_rows(hosts, enterprises)
    rows.append({"kind": "host", "id": "H901", "name": "长沙来的主播", "county": "430100", "accounts": "douyin:cs-901"})
    from configstore.participants_import import import_participants

    assert import_participants(sessions, rows).bad_rows == 0
    events = sales_stream(hosts, enterprises, campaign=SLUG, first_day=first_day, last_day=today, orders=ORDERS)
    for start in range(0, len(events), 400):
        response = stack.sender.post({"events": events[start:start + 400]})
        assert response.status_code == 202, response.text
    stack.drain(len(events), timeout_s=120)
    publish_all(sessions, stack.store)
    registry.disqualify(sessions, SLUG, "hosts", hosts[-1].id, "直播间存在虚假宣传，经核实取消本次评选资格")
    places.add_station(sessions, kind="county_centre", region_code="433126", name="古丈县电子商务公共服务中心")
    for code, yuan in (("433100", 9_000_000), ("433126", 1_500_000), ("433125", 1_200_000)):
        award_store.set_target(sessions, code, today.year, yuan * 100)
    award_compute.compute_and_store(sessions, stack.store, kind="top_influencers", scope="campaign", scope_key=SLUG)
    # A platform connection, so the 平台对接 pages are opened with one (its API is never reached here).
    connector_service.create(sessions, stack.runtime.secrets, platform="douyin_shop", name=CONNECTION,
                             shop_id="4460001", enterprise_id=enterprises[0].id, campaigns=[SLUG], county="433126",
                             credentials={"app_key": "7065000000000000001", "app_secret": "ui-secret"},
                             api_base_url="http://127.0.0.1:9")


@pytest.fixture(scope="package")
def ui(request, tmp_path_factory) -> Iterator[Ui]:
    started = time.monotonic()
    with FakeWeChat() as fake:
        stack = build_stack("embedded", tmp_path_factory.mktemp("ui"), request, **wechat_overrides(fake))
        org = make_org(stack)
        seed(stack)
        driver, profile = _chromium()
        print(f"\n[ui] stack seeded and chromium up in {time.monotonic() - started:.1f} s")
        try:
            yield Ui(org, driver, datetime.now(SHANGHAI).date())
        finally:
            driver.quit()
            shutil.rmtree(profile, ignore_errors=True)
            stack.close()


def pytest_terminal_summary(terminalreporter) -> None:
    if _shots:
        terminalreporter.write_line(f"[ui] {len(_shots)} screenshots in {ARTIFACTS}")
