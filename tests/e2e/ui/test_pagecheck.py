"""The page checks themselves: shown a page with each fault, each check reports it (so a passing UI
test means something)."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.e2e.ui import pagecheck

pytestmark = pytest.mark.e2e
FAULTY = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><body style="margin:0">
<div class="card" style="width:300px"><p style="width:500px">太宽的内容</p></div>
<div style="width:200px;overflow:hidden;white-space:nowrap">一行很长很长很长很长很长很长很长很长的文字被截断</div>
<p class="flash error">first_day：日期格式应为 YYYY-MM-DD</p>
<p>更新于 2026-12-01T11:36:53+00:00（UTC）</p>
<div style="position:absolute;left:1500px;top:10px">跑出屏幕</div>
<script>console.error("boom"); undefinedFunction();</script>
</body></html>"""


def test_each_check_reports_its_fault(ui):
    ui.size(1280, 720)
    ui.driver.get_log("browser")
    ui.driver.get("data:text/html;charset=utf-8," + quote(FAULTY))
    overflow = "\n".join(pagecheck.overflow_problems(ui.driver))
    assert "spills out of its 300px box" in overflow  # the wide paragraph
    assert "cut off on the right" in overflow  # clipped without an ellipsis
    assert "outside the 1280×720 viewport" in overflow and "the page is" in overflow
    assert "sticks out of div.card" in overflow
    text = pagecheck.visible_text(ui.driver)
    assert len(pagecheck.time_problems(text)) == 2  # the ISO time and the word UTC
    assert pagecheck.message_problems(ui.driver) == ["“first_day：日期格式应为 YYYY-MM-DD” names first_day"]
    assert any("undefinedFunction" in e for e in pagecheck.script_errors(ui.driver))
