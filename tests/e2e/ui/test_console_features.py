"""What organizers do in the console, in chromium: forms that read what people type and name
refused fields in Chinese next to the field, confirmations before irreversible actions, imports
with templates and warnings, binding codes per host (with the mini-program code), targets upload,
and the audit log's filters and pages."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import requests
from openpyxl import Workbook, load_workbook
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from configstore import registry
from tests.e2e.organizer.conftest import csrf_token
from tests.e2e.ui.conftest import SLUG

pytestmark = pytest.mark.e2e
SIZE = (1440, 900)
CODE = re.compile(r"^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$")
BEIJING = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")


def workbook(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(ui, input_id: str, content: bytes, tmp_path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    ui.driver.find_element(By.ID, input_id).send_keys(str(path))


def set_value(driver, element_id: str, value: str) -> None:
    """Date pickers take their value as the form will send it (typed keys follow the OS locale)."""
    driver.execute_script("arguments[0].value = arguments[1]", driver.find_element(By.ID, element_id), value)


def shown(driver, element_id: str):
    """The element once the page that has it is there (a submit navigates)."""
    return WebDriverWait(driver, 20).until(EC.presence_of_element_located((By.ID, element_id)))


def test_a_refused_form_marks_its_fields_in_chinese(ui):
    ui.login()
    ui.size(*SIZE)
    ui.open("/console/campaigns/new")
    driver = ui.driver
    driver.find_element(By.ID, "slug").send_keys("Qcqh 2027")
    driver.find_element(By.ID, "campaign-save").click()
    shown(driver, "err-first_day")
    errors = {e.get_attribute("id"): e.text for e in driver.find_elements(By.CSS_SELECTOR, ".field-error")}
    assert set(errors) == {"err-name", "err-first_day", "err-last_day"}, errors
    assert errors["err-first_day"] == "缺少必填字段"  # (the ⚠ is drawn by CSS)
    flash = driver.find_element(By.CSS_SELECTOR, ".flash.error").text
    assert "名称" in flash and "开始日期" in flash and "结束日期" in flash
    assert driver.find_element(By.ID, "first_day").get_attribute("aria-invalid") == "true"
    assert driver.find_element(By.ID, "first_day").get_attribute("type") == "date"
    assert not ui.problems(expected_status=400)  # the refused form comes back with 400
    ui.shot("form-errors")
    # the store's own refusals land on their fields too
    driver.find_element(By.ID, "name").send_keys("千村千红·湘西香伴 2027")
    set_value(driver, "first_day", "2027-06-01")
    set_value(driver, "last_day", "2027-06-30")
    driver.find_element(By.ID, "campaign-save").click()
    assert "活动代码只能包含小写字母" in shown(driver, "err-slug").text
    driver.find_element(By.ID, "slug").clear()
    driver.find_element(By.ID, "slug").send_keys("qcqh-2027")
    set_value(driver, "first_day", "2027-06-30")
    set_value(driver, "last_day", "2027-06-01")
    driver.find_element(By.ID, "campaign-save").click()
    assert "结束日期不能早于开始日期" in shown(driver, "err-last_day").text


def test_forms_read_dates_counties_and_platforms_as_people_write_them(ui):
    http = ui.org.console("operator-user")
    base = ui.base_url
    page = http.get(f"{base}/console/campaigns/new", timeout=30).text
    made = http.post(f"{base}/console/campaigns/new", data={
        "csrf_token": csrf_token(page), "slug": "tolerant-2027", "name": "湘西州（永顺）猕猴桃开园节",
        "first_day": "2027/8/28", "last_day": "2027年9月10日", "freeze_at": "2027/09/10 20:00", "boards": "hosts"},
        allow_redirects=False, timeout=30)
    assert made.status_code == 302, made.text
    campaign = registry.get_campaign(ui.stack.sessions, "tolerant-2027")
    assert (campaign.first_day.isoformat(), campaign.last_day.isoformat()) == ("2027-08-28", "2027-09-10")
    assert campaign.freeze_at.isoformat() == "2027-09-10T12:00:00+00:00"  # 20:00 Beijing time
    page = http.get(f"{base}/console/unattributed", timeout=30).text
    done = http.post(f"{base}/console/unattributed/reattribute", data={
        "csrf_token": csrf_token(page), "board": "hosts", "platform": "抖音", "account": "dy-new-001",
        "participant_id": "H001"}, allow_redirects=False, timeout=30)
    assert done.status_code == 302
    hosts = {h["id"]: h for h in registry.list_participants(ui.stack.sessions, "hosts")}
    assert "douyin:dy-new-001" in hosts["H001"]["accounts"]
    page = http.get(f"{base}/console/places", timeout=30).text
    added = http.post(f"{base}/console/places", data={"csrf_token": csrf_token(page), "kind": "county_centre",
                                                       "region_code": "吉首市", "name": "吉首市电商运营中心"},
                      allow_redirects=False, timeout=30)
    assert added.status_code == 302
    assert "吉首市电商运营中心（433101）" not in added.text  # redirected; the list shows it
    assert "吉首市电商运营中心" in http.get(f"{base}/console/places", timeout=30).text


def test_import_with_a_template_reads_names_and_warns_about_other_counties(ui, tmp_path):
    ui.login()
    ui.size(*SIZE)
    template = requests.Session()
    template.cookies.update({c["name"]: c["value"] for c in ui.driver.get_cookies()})
    got = template.get(f"{ui.base_url}/console/participants/template.xlsx", timeout=30)
    assert got.status_code == 200 and "attachment" in got.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(got.content)).worksheets[0]
    header, *examples = [[c.value for c in row] for row in sheet.iter_rows()]
    assert header[:5] == ["类型", "编号", "名称", "县市代码", "平台账号"] and len(examples) == 2
    rows = [header,
            ["主播", "H801", "向秀英", "吉首市", "抖音：dy-801；快手:ks-801", None, None, None],
            ["主播", "H802", "长沙的达人", "430100", "抖音:dy-802", None, None, None],
            ["企业", "E801", "湘西吕洞山黄金茶业有限公司", "保靖", None, "12345", "是", None],
            ["主播", "H803", "龙秋菊", "凤凰县", "抖音:", None, None, None]]
    ui.open("/console/participants")
    upload(ui, "import-file", workbook(rows), tmp_path, "名单.xlsx")
    ui.driver.find_element(By.ID, "import-submit").click()
    report = WebDriverWait(ui.driver, 30).until(EC.presence_of_element_located((By.ID, "import-report")))
    assert ui.driver.find_element(By.ID, "import-kept").text == "2"
    errors = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
              for tr in ui.driver.find_elements(By.CSS_SELECTOR, "#import-errors tbody tr")]
    assert [(row, column) for row, column, _ in errors] == [("4", "统一社会信用代码"), ("5", "平台账号")]
    warnings = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
                for tr in ui.driver.find_elements(By.CSS_SELECTOR, "#import-warnings tbody tr")]
    assert warnings == [["3", "县市", "县市代码 430100 不在湘西州（433100）辖区内，已照常登记，请核对"]]
    assert "credit_code" not in report.text and "accounts" not in report.text
    assert not ui.problems()
    ui.shot("import-report", full=True)
    hosts = {h["id"]: h for h in registry.list_participants(ui.stack.sessions, "hosts")}
    assert hosts["H801"]["county"] == "433101" and hosts["H801"]["accounts"] == ["douyin:dy-801", "kuaishou:ks-801"]


def test_lists_search_and_page(ui):
    ui.login()
    ui.size(*SIZE)
    ui.open("/console/participants?q=吉首")
    counties = {tr.find_elements(By.TAG_NAME, "td")[2].text for tr in
                ui.driver.find_elements(By.CSS_SELECTOR, "#participants tbody tr")}
    assert counties == {"吉首市"}
    ui.open("/console/participants")
    assert ui.driver.find_element(By.CSS_SELECTOR, ".pager").text.startswith("共 10")  # 100 + hosts
    ui.driver.find_element(By.CSS_SELECTOR, ".pager a[rel=next]").click()
    WebDriverWait(ui.driver, 20).until(lambda d: "page=2" in d.current_url)
    assert ui.driver.find_element(By.CSS_SELECTOR, "#participants tbody tr td").text == "H021"
    ui.open("/console/audit")
    assert len(ui.driver.find_elements(By.CSS_SELECTOR, "#audit tbody tr")) == 30
    ui.driver.find_element(By.CSS_SELECTOR, ".pager a[rel=next]").click()
    WebDriverWait(ui.driver, 20).until(lambda d: "page=2" in d.current_url)


def test_irreversible_actions_ask_first(ui):
    ui.login()
    ui.size(*SIZE)
    ui.open(f"/console/campaigns/{SLUG}")
    driver = ui.driver
    for button in ("to-frozen", "to-closed", "dq-submit"):
        form = driver.find_element(By.ID, button).find_element(By.XPATH, "./ancestor::form")
        assert form.get_attribute("data-confirm"), f"{button} acts without asking"
    driver.execute_script("window.confirm = function (q) { window.__asked = q; return false; };")
    driver.find_element(By.ID, "to-closed").click()
    assert "不能再修改" in driver.execute_script("return window.__asked")  # asked, declined: no navigation
    assert registry.get_campaign(ui.stack.sessions, SLUG).status == "active"  # declined: nothing happened
    driver.find_element(By.ID, "dq-id").send_keys("H002")
    driver.find_element(By.ID, "dq-reason").send_keys("同一买家短时间内集中下单，经核实取消资格")
    driver.execute_script("window.confirm = function () { return true; };")
    driver.find_element(By.ID, "dq-submit").click()
    WebDriverWait(driver, 20).until(EC.text_to_be_present_in_element((By.ID, "disqualifications"), "H002"))
    assert not ui.problems()


def test_binding_codes_per_host_with_the_mini_program_code_and_an_export(ui):
    ui.login()
    ui.size(*SIZE)
    ui.open("/console/bindings?q=H005")
    driver = ui.driver
    driver.find_element(By.ID, "issue-H005").click()
    code = shown(driver, "bind-code").text
    assert CODE.match(code), code
    assert BEIJING.match(driver.find_element(By.ID, "bind-expires").text)
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "wxacode").get_attribute("data-drawn") == "1")
    assert driver.find_element(By.ID, "wxacode-download").is_displayed()
    assert not ui.problems()
    ui.shot("binding-code")
    ui.open("/console/bindings?q=H005")
    assert "已发码，待绑定" in driver.find_element(By.ID, "bindings").text
    # every unbound host at once, as a spreadsheet to hand out
    http = requests.Session()
    http.cookies.update({c["name"]: c["value"] for c in driver.get_cookies()})
    page = http.get(f"{ui.base_url}/console/bindings", timeout=30).text
    unbound = sum(1 for h in registry.list_participants(ui.stack.sessions, "hosts"))
    export = http.post(f"{ui.base_url}/console/bindings/export", data={"csrf_token": csrf_token(page), "scope": "unbound"},
                       timeout=60)
    assert export.status_code == 200 and export.headers["Content-Type"].startswith("application/vnd.openxml")
    rows = list(load_workbook(io.BytesIO(export.content)).worksheets[0].iter_rows(values_only=True))
    assert rows[0] == ("主播编号", "主播", "县市", "绑定码", "有效期至（北京时间）")
    assert len(rows) - 1 == unbound and all(CODE.match(r[3]) and BEIJING.match(r[4]) for r in rows[1:])


def test_targets_upload_with_chinese_levels(ui, tmp_path):
    ui.login()
    ui.size(*SIZE)
    ui.open("/console/targets/import")
    rows = [["区划代码", "区划名称", "年度目标(元)"], ["泸溪县", None, "1,200万"], ["433130", "龙山县", "8,000,000"],
            ["999999", None, "100"]]
    upload(ui, "t-file", workbook(rows), tmp_path, "目标.xlsx")
    ui.driver.find_element(By.ID, "targets-submit").click()
    WebDriverWait(ui.driver, 30).until(EC.presence_of_element_located((By.ID, "targets-report")))
    assert ui.driver.find_element(By.ID, "targets-kept").text == "2"
    assert "区划代码 999999 不存在" in ui.driver.find_element(By.ID, "targets-errors").text
    table = ui.driver.find_element(By.ID, "targets").text
    assert "泸溪县（433122） 县市区 12,000,000.00" in table and "湘西土家族苗族自治州（433100） 市州" in table
    assert "county" not in table and "city" not in table
    assert not ui.problems()
    ui.shot("targets-import", full=True)


def test_the_audit_log_filters_by_who_what_and_when(ui):
    ui.login()
    ui.size(*SIZE)
    since = (ui.today - timedelta(days=1)).isoformat()
    ui.open(f"/console/audit?actor=operator-user&target_type=campaigns&since={since}")
    rows = ui.driver.find_elements(By.CSS_SELECTOR, "#audit tbody tr")
    assert rows and all("operator-user" in r.text and "活动" in r.text for r in rows)
    assert "开始日期 2027-08-28" in rows[0].text and "结束日期 2027-09-10" in rows[0].text
    ui.open(f"/console/audit?target_type=campaigns&since={(ui.today + timedelta(days=1)).isoformat()}")
    assert "没有符合条件的记录" in ui.driver.find_element(By.ID, "audit").text
    ui.open("/console/audit?since=2026/13/45")
    assert ui.driver.find_element(By.ID, "err-since").text
    assert not ui.problems()
