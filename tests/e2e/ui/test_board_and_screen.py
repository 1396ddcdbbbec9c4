"""The public board page and its big-screen mode in chromium, at the sizes they are shown on: the
big screen fits 1280×720 to 3840×2160 with nothing cut or scrolled, the page keeps everything above
the fold from 1920×1080 and keeps names on one line on a 390 px phone, the 今日 tab switches the
totals and the chart with the tables, rows that move animate, unknown campaigns get a Chinese page."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from domain.periods import SHANGHAI
from scheduler.ranking_job import publish_all
from tests.e2e.ui.conftest import SLUG
from tests.support import order_event

pytestmark = pytest.mark.e2e
SCREEN_SIZES = [(1280, 720), (1366, 768), (1920, 1080), (2560, 1440), (3840, 2160)]
THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})*(\.\d{2})?$")
# Every text ECharts drew: none may overlap another or leave the chart.
CHART_TEXTS_JS = r"""
const el = document.getElementById('chart');
const chart = echarts.getInstanceByDom(el);
const texts = chart.getZr().storage.getDisplayList().filter(t => t.type === 'text' && !t.ignore && !t.invisible && t.style && t.style.text);
return {width: el.clientWidth, height: el.clientHeight, texts: texts.map(t => {
  const r = t.getBoundingRect().clone(); r.applyTransform(t.getComputedTransform());
  return {text: String(t.style.text), x: r.x, y: r.y, w: r.width, h: r.height};
})};
"""


def chart_problems(driver) -> list[str]:
    drawn = driver.execute_script(CHART_TEXTS_JS)
    texts, problems = drawn["texts"], []
    for t in texts:
        if t["x"] < -1 or t["y"] < -1 or t["x"] + t["w"] > drawn["width"] + 1 or t["y"] + t["h"] > drawn["height"] + 1:
            problems.append(f"chart text “{t['text']}” is cut at the chart's edge")
    for i, a in enumerate(texts):
        for b in texts[i + 1:]:
            if a["x"] < b["x"] + b["w"] - 1 and b["x"] < a["x"] + a["w"] - 1 and \
                    a["y"] < b["y"] + b["h"] - 1 and b["y"] < a["y"] + a["h"] - 1:
                problems.append(f"chart texts “{a['text']}” and “{b['text']}” overlap")
    return problems


def text(driver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text.strip()


def test_the_big_screen_fits_every_display(ui):
    problems = {}
    for width, height in SCREEN_SIZES:
        ui.size(width, height)
        ui.open(f"/boards/{SLUG}?screen=1", board=True)
        found = ui.problems(fit_height=True) + chart_problems(ui.driver)
        scale = float(ui.driver.find_element(By.ID, "stage").get_attribute("data-scale"))
        if abs(scale - min(width / 1920, height / 1080)) > 0.001:
            found.append(f"scaled by {scale}, not to fit")
        stage = ui.driver.execute_script("return document.getElementById('stage').getBoundingClientRect().toJSON()")
        letterbox = ((width - 1920 * scale) / 2, (height - 1080 * scale) / 2)
        if abs(stage["width"] - 1920 * scale) > 2 or abs(stage["x"] - letterbox[0]) > 1 or abs(stage["y"] - letterbox[1]) > 1:
            found.append(f"the stage is at {stage}, not centred at {letterbox} scaled by {scale}")
        rows = ui.driver.find_elements(By.CSS_SELECTOR, "#board-hosts .s-row.entry")
        if len(rows) != 10:
            found.append(f"{len(rows)} host rows shown")
        if found:
            problems[f"{width}×{height}"] = found
        ui.shot(f"screen-{width}x{height}")
    assert not problems, "\n".join(f"{size}:\n  " + "\n  ".join(found) for size, found in problems.items())

    # what the screen says: 万元 with units, separators, people on the board, Beijing time, the organizer
    driver = ui.driver
    assert THOUSANDS.match(text(driver, "t-gmv")) and "万元" in driver.find_element(By.CSS_SELECTOR, ".kpi.main").text
    assert THOUSANDS.match(text(driver, "t-orders")) and "," in text(driver, "t-orders")
    assert text(driver, "t-hosts") == "10" and "101 人有成交" not in text(driver, "t-hosts-all")
    assert re.match(r"共 \d+ 人有成交", text(driver, "t-hosts-all"))
    assert "主办：湘西土家族苗族自治州商务局" in driver.find_element(By.CSS_SELECTOR, ".s-sub").text
    shown = datetime.strptime(text(driver, "clock")[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
    assert abs((shown - datetime.now(SHANGHAI)).total_seconds()) < 120, "the clock shows Beijing time"


def test_the_board_page_at_desk_wall_and_phone_sizes(ui):
    problems = {}
    for width, height, above_the_fold in ((1920, 1080, True), (3840, 2160, True), (1280, 720, False),
                                          (1366, 768, False)):
        ui.size(width, height)
        ui.open(f"/boards/{SLUG}", board=True)
        found = ui.problems(fit_height=above_the_fold) + chart_problems(ui.driver)
        if found:
            problems[f"{width}×{height}"] = found
        ui.shot(f"board-{width}x{height}", full=not above_the_fold)
    assert not problems, "\n".join(f"{size}:\n  " + "\n  ".join(found) for size, found in problems.items())
    driver = ui.driver
    assert text(driver, "t-hosts") == str(len(driver.find_elements(By.CSS_SELECTOR, "#board-hosts tr.entry"))) == "10"
    assert THOUSANDS.match(text(driver, "t-gmv")) and THOUSANDS.match(text(driver, "t-orders"))
    amounts = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "#board-hosts td.num")]
    assert amounts and all(THOUSANDS.match(a) for a in amounts)


def test_the_board_page_on_a_phone(ui):
    ui.size(390, 844)
    ui.open(f"/boards/{SLUG}", board=True)
    found = ui.problems() + chart_problems(ui.driver)
    ui.shot("board-390x844", full=True)
    assert not found, "\n".join(found)
    # names stay on one line (cut with an ellipsis when they must be)
    names = ui.driver.execute_script("""
        return Array.from(document.querySelectorAll('td.name')).map(td => {
          const s = getComputedStyle(td);
          return [td.innerText, td.getClientRects().length, td.clientHeight, parseFloat(s.lineHeight) || 20, s.whiteSpace, s.textOverflow];
        });""")
    assert len(names) == 20
    for name, _rects, height, line, white_space, overflow in names:
        assert white_space == "nowrap" and overflow == "ellipsis", name
        assert height < 2 * line + 16, f"{name} takes {height}px: more than one line"
    assert "万元" in text(ui.driver, "board-hosts")  # amounts in 万元 so the names keep their room


def test_the_campaign_list(ui):
    for width, height in ((1920, 1080), (390, 844)):
        ui.size(width, height)
        ui.open("/")
        assert ui.driver.find_elements(By.CSS_SELECTOR, f"#campaigns a[href='/boards/{SLUG}?screen=1']")
        found = ui.problems()
        ui.shot(f"index-{width}x{height}", full=True)
        assert not found, "\n".join(found)


def test_today_switches_the_totals_and_the_chart_with_the_tables(ui):
    ui.size(1920, 1080)
    ui.open(f"/boards/{SLUG}?screen=1", board=True)
    driver, wait = ui.driver, WebDriverWait(ui.driver, 20)
    api = f"{ui.base_url}/v1/campaigns/{SLUG}"
    campaign_gmv, campaign_orders = text(driver, "t-gmv"), text(driver, "t-orders")
    driver.find_element(By.CSS_SELECTOR, ".tabs button[data-period=today]").click()
    day = requests.get(f"{api}/breakdown?period=day&dimension=county", timeout=30).json()
    hundredths = (day["net_gmv_fen"] + 5_000) // 10_000
    expected = f"{hundredths // 100:,}.{hundredths % 100:02d}"
    wait.until(lambda d: text(d, "t-gmv") == expected)
    assert text(driver, "t-gmv") != campaign_gmv
    assert text(driver, "t-orders") == f"{sum(r['order_count'] for r in day['rows']):,}" != campaign_orders
    assert all(el.text == "今日" for el in driver.find_elements(By.CSS_SELECTOR, "[data-scope]"))
    plotted = driver.execute_script(
        "return echarts.getInstanceByDom(document.getElementById('chart')).getOption().series[0].data")
    assert sum(plotted) == day["net_gmv_fen"]
    today = requests.get(f"{api}/boards?period=today", timeout=30).json()
    shown = [el.text for el in driver.find_elements(By.CSS_SELECTOR, "#board-hosts .s-row.entry .c-name")]
    assert shown == [e["name"] for e in today["hosts"]]
    assert text(driver, "t-hosts") == str(len(today["hosts"]))
    ui.shot("screen-today-1920x1080")
    driver.find_element(By.CSS_SELECTOR, ".tabs button[data-period=campaign]").click()
    wait.until(lambda d: text(d, "t-gmv") == campaign_gmv)


def test_rows_that_move_slide_and_new_entries_glow(ui):
    ui.size(1920, 1080)
    ui.open(f"/boards/{SLUG}?screen=1", board=True)
    driver = ui.driver
    driver.execute_script("""
        window.__moves = [];
        new MutationObserver(records => records.forEach(r => {
          const row = r.target;
          if (r.attributeName === 'style' && (r.oldValue || '').includes('translateY'))
            window.__moves.push(['slid', row.getAttribute('data-id'), r.oldValue]);
          for (const kind of ['fresh', 'rose', 'fell']) if (row.classList && row.classList.contains(kind))
            window.__moves.push([kind, row.getAttribute('data-id'), '']);
        })).observe(document.getElementById('board-hosts'), {subtree: true, childList: true, attributes: true,
                                                             attributeOldValue: true, attributeFilter: ['class', 'style']});""")
    shown = [el.get_attribute("data-id") for el in driver.find_elements(By.CSS_SELECTOR, "#board-hosts .s-row.entry")]
    stack = ui.stack
    from configstore import snapshots

    board = snapshots.latest(stack.sessions, SLUG, "hosts", "campaign", SLUG).entries
    newcomer = next(e for e in board if e["id"] not in shown)  # someone below the top ten
    climber = next(e for e in board if e["id"] == shown[-1])  # the tenth climbs to second place
    now = datetime.now(SHANGHAI) - timedelta(minutes=5)
    accounts = {h["id"]: h["accounts"][0].split(":", 1) for h in
                __import__("configstore.registry", fromlist=["x"]).list_participants(stack.sessions, "hosts")}
    events = []
    for entry, amount in ((newcomer, board[0]["net_gmv_fen"] + 1_000_00), (climber, board[1]["net_gmv_fen"] - climber["net_gmv_fen"] + 500_00)):
        platform, account = accounts[entry["id"]]
        events.append(order_event(campaign=SLUG, host=account, platform=platform, enterprise="E001",
                                  amount_fen=amount, occurred_at=now))
    stored = stack.stored_events()
    assert stack.sender.post({"events": events}).status_code == 202
    stack.drain(stored + len(events))
    publish_all(stack.sessions, stack.store)
    WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#board-hosts .s-row.entry")[0]
                                    .get_attribute("data-id") == newcomer["id"])
    # the page records each animation as it starts; wait for the four kinds rather than for a time
    WebDriverWait(driver, 10).until(lambda d: {m[0] for m in d.execute_script("return window.__moves") or []}
                                    >= {"fresh", "rose", "fell", "slid"})
    moves = driver.execute_script("return window.__moves")
    kinds = {(kind, row) for kind, row, _ in moves}
    assert ("fresh", newcomer["id"]) in kinds, moves
    assert ("rose", climber["id"]) in kinds, moves
    assert any(kind == "fell" for kind, _ in kinds), moves
    assert ("slid", climber["id"]) in kinds, moves  # from where it was, not a jump
    ui.shot("screen-after-movement")
    assert not ui.problems(fit_height=True)


def test_unknown_campaigns_get_a_chinese_page_and_the_api_keeps_json(ui):
    ui.size(1366, 768)
    ui.open("/boards/no-such-campaign")
    assert ui.driver.find_element(By.CSS_SELECTOR, "#error-page h2").text == "活动不存在"
    assert "no-such-campaign" in text(ui.driver, "message")
    assert not ui.problems(expected_status=404)
    ui.shot("board-404")
    ui.open("/no/such/page")
    assert ui.driver.find_element(By.CSS_SELECTOR, "#error-page h2").text == "页面不存在"
    as_json = requests.get(f"{ui.base_url}/v1/campaigns/no-such/summary", headers={"Accept": "text/html"}, timeout=30)
    assert as_json.status_code == 404 and as_json.json()["error"]["code"] == "campaign_not_found"
    plain = requests.get(f"{ui.base_url}/console/no-such-page", timeout=30)  # a script asking for anything
    assert plain.status_code == 404 and plain.json()["error"]["code"] == "not_found"
