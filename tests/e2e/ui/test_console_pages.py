"""Every console page in chromium, as an administrator: nothing spills out of its box or the
viewport, no script error, no UTC or ISO time on screen, no English field key in a message; the
navigation marks where you are. Pages are found in the app's url_map, so a new page is covered
the day it is added. A screenshot of each goes to the artifacts."""
from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By

from configstore import applications, registry
from configstore import awards as award_store
from tests.e2e.ui.conftest import CONNECTION, SLUG

pytestmark = pytest.mark.e2e
DOWNLOADS = (".xlsx", ".pdf")
DOWNLOAD_ENDPOINTS = ("awards_console.application_file",)  # evidence files, as attachments
# Query variants worth a look of their own (tabs, filters, second pages).
VARIANTS = ["/console/participants?board=enterprises", "/console/participants?q=古丈", "/console/bindings?state=none",
            "/console/audit?page=2", "/console/audit?target_type=campaigns&since={today}",
            "/console/awards/boards?period=day", "/console/places?q=433126"]
DESKTOP, LAPTOP, PHONE = (1440, 900), (1366, 768), (390, 844)


def _application(ui) -> dict:
    """An application (with an evidence file) for the pages that show one; made once."""
    sessions = ui.stack.sessions
    existing = applications.list_applications(sessions)
    if existing:
        return applications.get(sessions, existing[-1]["id"])
    enterprise = registry.list_participants(sessions, "enterprises")[0]["id"]
    created = applications.create(sessions, reward_code="demo_enterprise_provincial", year=ui.today.year,
                                  recipient_id=enterprise, summary="获评湖南省电子商务示范企业")
    applications.add_file(sessions, created["id"], "认定文件.pdf", b"%PDF-1.4\n%%EOF\n")
    return applications.get(sessions, created["id"])


def console_pages(ui) -> list[str]:
    application = _application(ui)
    values = {"slug": SLUG, "connection": CONNECTION, "list_id": str(award_store.list_lists(ui.stack.sessions)[0]["id"]),
              "application_id": str(application["id"]), "enterprise_id": application["recipient_id"]}
    pages = []
    for rule in ui.stack.app.url_map.iter_rules():
        if not rule.rule.startswith("/console") or "GET" not in rule.methods or rule.rule.endswith(DOWNLOADS):
            continue
        if rule.endpoint in DOWNLOAD_ENDPOINTS:
            continue
        if rule.endpoint == "console.login":
            continue
        missing = [arg for arg in rule.arguments if arg not in values]
        assert not missing, f"{rule.rule}: no value to open it with for {missing}"
        pages.append(re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], rule.rule))
    return pages + [v.format(today=ui.today.isoformat()) for v in VARIANTS]


def test_every_console_page_on_a_desktop_and_a_laptop(ui):
    ui.login()
    problems = {}
    pages = console_pages(ui)
    for width, height in (DESKTOP, LAPTOP):
        ui.size(width, height)
        for path in pages:
            ui.open(path)
            found = ui.problems()
            if found:
                problems[f"{path} @ {width}×{height}"] = found
            if (width, height) == DESKTOP:
                ui.shot(f"console{path.replace('/console', '') or '-overview'}-{width}", full=True)
    assert len(pages) >= 20
    assert not problems, "\n".join(f"{page}:\n  " + "\n  ".join(found) for page, found in problems.items())


def test_the_navigation_groups_pages_and_marks_the_current_one(ui):
    ui.login()
    ui.size(*DESKTOP)
    ui.open("/console/bindings")
    groups = [g.text.strip() for g in ui.driver.find_elements(By.CSS_SELECTOR, "nav.side .group-title")]
    assert groups == ["活动", "参与者", "奖项与目标", "数据接入", "系统管理"]
    current = ui.driver.find_elements(By.CSS_SELECTOR, "nav.side a[aria-current=page]")
    assert [a.text for a in current] == ["微信绑定码"]
    ui.open(f"/console/campaigns/{SLUG}")  # a campaign's page sits under 活动列表
    assert [a.text for a in ui.driver.find_elements(By.CSS_SELECTOR, "nav.side a.current")] == ["活动列表"]
    ui.open("/console/awards/targets")  # the awards pages are in the 奖项与目标 group
    assert [a.text for a in ui.driver.find_elements(By.CSS_SELECTOR, "nav.side a.current")] == ["年度目标"]


def test_a_viewer_sees_only_what_a_viewer_may_use(ui):
    ui.login("viewer-user")
    ui.size(*LAPTOP)
    ui.open("/console/")
    links = [a.text for a in ui.driver.find_elements(By.CSS_SELECTOR, "nav.side a")]
    assert "用户" not in links and "新建活动" not in links and "审计日志" in links
    assert not ui.problems()
    ui.login()


def test_the_console_on_a_phone(ui):
    """Narrow screens stack the navigation above the page; wide tables scroll inside their card."""
    ui.login()
    ui.size(*PHONE)
    problems = {}
    for path in ("/console/", "/console/participants", f"/console/campaigns/{SLUG}", "/console/audit",
                 "/console/bindings"):
        ui.open(path)
        found = ui.problems(scroll_ok=True)
        if found:
            problems[path] = found
        ui.shot(f"console-phone{path.replace('/', '-')}", full=True)
    assert not problems, "\n".join(f"{page}:\n  " + "\n  ".join(found) for page, found in problems.items())


def test_unknown_console_pages_and_campaigns_answer_a_chinese_page(ui):
    ui.login()
    ui.size(*LAPTOP)
    ui.open("/console/no-such-page")
    assert ui.driver.find_element(By.CSS_SELECTOR, "#error-page h1").text == "页面不存在"
    assert ui.driver.find_elements(By.CSS_SELECTOR, "nav.side a"), "the console's navigation stays"
    assert not ui.problems(expected_status=404)
    ui.shot("console-404")
    ui.open("/console/campaigns/no-such-campaign")
    assert "活动 no-such-campaign 不存在" in ui.driver.find_element(By.ID, "message").text
