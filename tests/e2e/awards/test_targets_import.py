"""Issue 6 item 5: annual regional targets imported from a spreadsheet (CLI and admin upload), with a
row-by-row error report; good rows are kept and show up in the target progress."""
from __future__ import annotations

import io
import subprocess
import sys

import pytest
from openpyxl import Workbook

from configstore import awards as award_store
from configstore import places

pytestmark = pytest.mark.e2e


def _xlsx(rows) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_target_import_by_upload_reports_bad_rows_and_keeps_good_ones(org):
    places.add_region(org.sessions, code="433101001", name="乾州街道", parent_code="433101")
    content = _xlsx([
        ["区划代码", "年度目标(元)"],
        ["433100", 100_000_000],        # row 2: the prefecture, a number cell
        [433101, "12,000,000.50"],      # row 3: a numeric code cell, thousands separators, fen
        ["433101001", "500000"],        # row 4: a township
        ["999999", "100"],              # row 5: unknown region
        ["433122", "一百万"],            # row 6: not a number
        ["433123", "-5"],               # row 7: negative
        ["433124", "1.234"],            # row 8: more than two decimals
        ["", "100"],                    # row 9: no code
        [None, None],                   # row 10: blank, skipped
    ])
    upload = org.api("POST", "/targets/import?year=2026", role="operator",
                     files={"file": ("目标.xlsx", content)})
    assert upload.status_code == 200, upload.text
    report = upload.json()
    assert (report["year"], report["kept"], report["bad_rows"]) == (2026, 3, 5)
    assert report["errors"] == [
        {"row": 5, "field": "region_code", "message": "区划代码 999999 不存在"},
        {"row": 6, "field": "target_yuan", "message": "年度目标（元）“一百万”不是数字"},
        {"row": 7, "field": "target_yuan", "message": "年度目标不能为负数"},
        {"row": 8, "field": "target_yuan", "message": "年度目标（元）“1.234”应为数字，最多两位小数"},
        {"row": 9, "field": "region_code", "message": "缺少区划代码"},
    ]
    assert award_store.targets(org.sessions, 2026) == {"433100": 10_000_000_000, "433101": 1_200_000_050,
                                                       "433101001": 50_000_000}
    progress = {r["code"]: r for r in org.api("GET", "/targets/progress?year=2026").json()["regions"]}
    assert progress["433101"]["annual_target_fen"] == 1_200_000_050

    # target_fen in a CSV replaces an existing target; guards
    csv = "region_code,target_fen\n433101,300\n433126,abc\n".encode()
    report = org.api("POST", "/targets/import", role="operator", data={"year": "2026"},
                     files={"file": ("t.csv", csv)}).json()
    assert report["kept"] == 1 and report["errors"] == [
        {"row": 3, "field": "target_fen", "message": "年度目标（分）“abc”不是整数"}]
    assert award_store.targets(org.sessions, 2026)["433101"] == 300
    assert org.api("POST", "/targets/import?year=2026", role="viewer", files={"file": ("t.csv", csv)}).status_code == 403
    assert org.api("POST", "/targets/import", role="operator", files={"file": ("t.csv", csv)}).json()["error"][
        "code"] == "invalid_year"
    assert org.api("POST", "/targets/import?year=2026", role="operator").json()["error"]["code"] == "file_required"
    assert org.api("POST", "/targets/import?year=2026", role="operator",
                   files={"file": ("t.txt", b"x")}).json()["error"]["code"] == "unsupported_file"


def test_target_import_cli(org, tmp_path):
    stack = org.stack
    good = tmp_path / "targets.csv"
    good.write_text("区划代码,年度目标(元)\n433126,40000000\n433130,2500000.5\n", encoding="utf-8")
    assert "已导入 2026 年度目标 2 个区划；有问题的行 0 行" in stack.cli("import", "targets", str(good), "--year", "2026")
    assert award_store.targets(stack.sessions, 2026) == {"433126": 4_000_000_000, "433130": 250_000_050}

    bad = tmp_path / "bad.csv"
    bad.write_text("区划代码,年度目标(元)\n433101,1000\n12345,10\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "liveboard.cli", "import", "targets", str(bad), "--year", "2027"],
                         env=stack.env(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert "第 3 行 [region_code]：区划代码 12345 不存在" in out.stderr
    assert "已导入 2027 年度目标 1 个区划；有问题的行 1 行" in out.stdout
    assert award_store.targets(stack.sessions, 2027) == {"433101": 100_000}
